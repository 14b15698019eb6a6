/**
 * Which format a file is, from its first bytes: HL7 v2 (ER7, also MLLP-framed or batched), CDA (an XML
 * document whose root is ClinicalDocument) or other XML. Never throws; undefined when it is none of them.
 */
export type DetectedFormat = 'hl7v2' | 'cda' | 'xml';

const HEAD_BYTES = 64 * 1024;

/** The first characters as text: UTF-16 (with BOM, or the `<\0` pattern) or an 8-bit encoding (enough to read ASCII names). */
export function headText(raw: Buffer): string {
  const head = raw.subarray(0, HEAD_BYTES);
  if (head[0] === 0xff && head[1] === 0xfe) return new TextDecoder('utf-16le').decode(head.subarray(2));
  if (head[0] === 0xfe && head[1] === 0xff) return new TextDecoder('utf-16be').decode(head.subarray(2));
  if (head[0] === 0x3c && head[1] === 0x00) return new TextDecoder('utf-16le').decode(head);
  if (head[0] === 0x00 && head[1] === 0x3c) return new TextDecoder('utf-16be').decode(head);
  const start = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
  return head.subarray(start).toString('latin1');
}

/** Local name of the first element, skipping the XML declaration, comments, processing instructions and DOCTYPE. */
export function rootElementName(text: string): string | undefined {
  let i = 0;
  for (let guard = 0; guard < 10_000; guard++) {
    const lt = text.indexOf('<', i);
    if (lt < 0) return undefined;
    if (text.startsWith('<?', lt)) i = text.indexOf('?>', lt + 2) + 2;
    else if (text.startsWith('<!--', lt)) i = text.indexOf('-->', lt + 4) + 3;
    else if (text.startsWith('<!', lt)) {
      const subset = text.indexOf('[', lt);
      const close = text.indexOf('>', lt);
      i = subset >= 0 && subset < close ? text.indexOf('>', text.indexOf(']', subset)) + 1 : close + 1;
    } else {
      const match = /^<([A-Za-z_][\w.:-]*)/.exec(text.slice(lt, lt + 300));
      if (!match) return undefined;
      const qname = match[1]!;
      return qname.includes(':') ? qname.slice(qname.indexOf(':') + 1) : qname;
    }
    if (i <= 0) return undefined;
  }
  return undefined;
}

export function detectFormat(raw: Buffer): DetectedFormat | undefined {
  const text = headText(raw).replace(/^[\s\x0b]+/, '');
  if (/^(MSH|FHS|BHS)./.test(text)) return 'hl7v2';
  if (!text.startsWith('<')) return undefined;
  const root = rootElementName(text);
  if (!root) return undefined;
  return root === 'ClinicalDocument' ? 'cda' : 'xml';
}

/** Files that are never messages (expected outputs, notes, pictures...), skipped without reading. */
export const NOT_MESSAGES = /\.(json|md|txt\.md|csv|png|jpe?g|gif|pdf|zip|gz|js|ts|py|java|cs|sh|yml|yaml|html?|css|license|ini|xsd|xslt?|sch|wsdl)$/i;

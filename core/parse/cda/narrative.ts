import { decodeXmlEntities, tokenizeXml, type XmlElementEvent } from '../xml/index.ts';

/**
 * CDA narrative block (section/text, kept raw by the parser) → FHIR Narrative XHTML
 * (`<div xmlns="http://www.w3.org/1999/xhtml">…</div>`), following the HL7 CDA → FHIR guidance:
 * content → span, paragraph → p, list → ul/ol, item → li, linkHtml → a, table elements as they are,
 * br/sub/sup as they are, caption outside a table → span, footnote → span, footnoteRef → sup,
 * renderMultiMedia dropped (FHIR narrative cannot embed it). Unknown elements keep only their text.
 * Attributes: ID → id, language → lang, styleCode → style (Bold/Italics/Underline) and class (the
 * other codes); only the attributes HTML allows on the target element are kept. Text is re-escaped,
 * so the result is well-formed XML whatever entities the source used.
 */
export const XHTML_NAMESPACE = 'http://www.w3.org/1999/xhtml';

const TAGS: Record<string, string> = {
  content: 'span', paragraph: 'p', item: 'li', linkHtml: 'a', footnote: 'span', footnoteRef: 'sup', br: 'br', sub: 'sub', sup: 'sup',
  table: 'table', thead: 'thead', tbody: 'tbody', tfoot: 'tfoot', tr: 'tr', th: 'th', td: 'td', col: 'col', colgroup: 'colgroup',
};

const ALLOWED_ATTRIBUTES: Record<string, ReadonlySet<string>> = {
  a: new Set(['href', 'name', 'title']),
  table: new Set(['summary', 'width', 'border', 'frame', 'rules', 'cellspacing', 'cellpadding']),
  th: new Set(['abbr', 'axis', 'headers', 'scope', 'rowspan', 'colspan', 'align', 'char', 'charoff', 'valign']),
  td: new Set(['abbr', 'axis', 'headers', 'scope', 'rowspan', 'colspan', 'align', 'char', 'charoff', 'valign']),
  tr: new Set(['align', 'char', 'charoff', 'valign']),
  thead: new Set(['align', 'char', 'charoff', 'valign']),
  tbody: new Set(['align', 'char', 'charoff', 'valign']),
  tfoot: new Set(['align', 'char', 'charoff', 'valign']),
  col: new Set(['span', 'width', 'align', 'char', 'charoff', 'valign']),
  colgroup: new Set(['span', 'width', 'align', 'char', 'charoff', 'valign']),
};

const STYLES: Record<string, string> = { Bold: 'font-weight: bold', Italics: 'font-style: italic', Underline: 'text-decoration: underline' };

const VOID = new Set(['br', 'col']);
/** Elements whose content model has no text: white space between their children is layout only. */
const STRUCTURAL = new Set(['table', 'thead', 'tbody', 'tfoot', 'tr', 'ul', 'ol', 'colgroup']);

function escapeText(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function escapeAttribute(value: string): string {
  return escapeText(value).replace(/"/g, '&quot;');
}

function targetTag(name: string, attributes: Map<string, string>, parent: string | undefined): string | undefined {
  if (name === 'list') return attributes.get('listType') === 'ordered' ? 'ol' : 'ul';
  if (name === 'caption') return parent === 'table' ? 'caption' : 'span';
  return TAGS[name];
}

function renderAttributes(tag: string, attributes: Map<string, string>): string {
  let out = '';
  const classes: string[] = [];
  const styles: string[] = [];
  for (const [name, value] of attributes) {
    if (name === 'ID') out += ` id="${escapeAttribute(value)}"`;
    else if (name === 'language') out += ` lang="${escapeAttribute(value)}"`;
    else if (name === 'styleCode') {
      for (const code of value.split(/\s+/).filter(Boolean)) {
        const style = STYLES[code];
        if (style) styles.push(style);
        else classes.push(code);
      }
    } else if (ALLOWED_ATTRIBUTES[tag]?.has(name)) out += ` ${name}="${escapeAttribute(value)}"`;
  }
  if (classes.length > 0) out += ` class="${escapeAttribute(classes.join(' '))}"`;
  if (styles.length > 0) out += ` style="${escapeAttribute(styles.join('; '))}"`;
  return out;
}

/** Converts raw CDA narrative markup; undefined when it holds no text (FHIR requires some). Throws on malformed markup. */
export function cdaNarrativeToXhtml(raw: string): string | undefined {
  const wrapped = `<n>${raw}</n>`;
  const parts: string[] = [];
  const open: Array<{ tag: string | undefined; name: string }> = [];
  let skipDepth = 0;
  let hasText = false;
  tokenizeXml(wrapped, { maxDepth: 256 }, {
    wantAttributes: true,
    onOpen(event: XmlElementEvent, attributes: string[] | undefined) {
      if (event.depth === 1) return;
      if (skipDepth > 0 || event.name === 'renderMultiMedia') {
        skipDepth++;
        return;
      }
      const map = new Map<string, string>();
      for (let a = 0; a < (attributes?.length ?? 0); a += 2) {
        const qname = attributes![a]!;
        if (qname.startsWith('xmlns')) continue;
        const colon = qname.indexOf(':');
        map.set(colon < 0 ? qname : qname.slice(colon + 1), decodeXmlEntities(attributes![a + 1]!));
      }
      const parent = open.length > 0 ? open[open.length - 1]!.name : undefined;
      const tag = targetTag(event.name, map, parent);
      open.push({ tag, name: event.name });
      if (tag) parts.push(`<${tag}${renderAttributes(tag, map)}${VOID.has(tag) ? '/' : ''}>`);
    },
    onClose(event: XmlElementEvent) {
      if (event.depth === 1) return;
      if (skipDepth > 0) {
        skipDepth--;
        return;
      }
      const element = open.pop();
      if (element?.tag && !VOID.has(element.tag)) parts.push(`</${element.tag}>`);
    },
    onText(start: number, end: number) {
      if (skipDepth > 0) return;
      // HTML renders runs of white space as one space; source indentation is not content.
      const value = decodeXmlEntities(wrapped.slice(start, end)).replace(/\s+/g, ' ');
      if (value === ' ') {
        const parent = open.length > 0 ? open[open.length - 1]!.tag : undefined;
        if (open.length === 0 ? parts.length === 0 : parent !== undefined && STRUCTURAL.has(parent)) return;
      } else if (!hasText) hasText = true;
      parts.push(escapeText(value));
    },
    onCdata(start: number, end: number) {
      if (skipDepth > 0) return;
      const value = wrapped.slice(start, end);
      if (!hasText && value.trim()) hasText = true;
      parts.push(escapeText(value));
    },
  });
  if (!hasText) return undefined;
  return `<div xmlns="${XHTML_NAMESPACE}">${parts.join('').trim()}</div>`;
}

/** The plain text of a narrative (tags removed, white space collapsed), e.g. for Observation.note. */
export function cdaNarrativeToText(raw: string): string | undefined {
  const parts: string[] = [];
  const blocks = new Set(['paragraph', 'item', 'tr', 'br', 'caption', 'list', 'table']);
  const wrapped = `<n>${raw}</n>`;
  tokenizeXml(wrapped, { maxDepth: 256 }, {
    onOpen(event) {
      if (blocks.has(event.name)) parts.push('\n');
      else if (event.name === 'td' || event.name === 'th') parts.push(' ');
    },
    onText(start, end) {
      parts.push(decodeXmlEntities(wrapped.slice(start, end)));
    },
    onCdata(start, end) {
      parts.push(wrapped.slice(start, end));
    },
  });
  const text = parts
    .join('')
    .split('\n')
    .map((line) => line.replace(/\s+/g, ' ').trim())
    .filter(Boolean)
    .join('\n');
  return text || undefined;
}

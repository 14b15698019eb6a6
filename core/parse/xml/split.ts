import { ParseError } from '../../common/errors.ts';
import { decodeXmlBytes } from './decode.ts';
import { DEFAULT_XML_MAX_DEPTH } from './read.ts';
import { tokenizeXml } from './tokenizer.ts';

/**
 * Batch exports (`parser.xml.recordPath`, e.g. "TriageExport.Accesso"): the record elements, each as
 * its own standalone document, found by one tokenizer pass without building any tree.
 * Each record is returned as UTF-8 (transcoded when the batch declared another encoding: the
 * record has no XML declaration of its own), with the namespace declarations of the batch root
 * copied onto its start tag so prefixed names stay declared.
 * A document whose root is already the record element is returned as is; a batch with no records
 * gives an empty list.
 */
export function splitXmlRecords(raw: Buffer, recordPath: string, maxDepth = DEFAULT_XML_MAX_DEPTH): Buffer[] {
  const segments = recordPath.split('.').map((s) => s.trim()).filter(Boolean);
  if (segments.length < 2) {
    throw new ParseError(`parser.xml.recordPath "${recordPath}" must name the batch root and the record element, e.g. "Export.Record"`, {
      code: 'PARSE_XML_RECORD_PATH',
    });
  }
  const { text } = decodeXmlBytes(raw);
  const path: string[] = [];
  const ranges: Array<{ start: number; contentStart: number; end: number }> = [];
  let pathMatches = 0;
  const info = tokenizeXml(text, { maxDepth }, {
    onOpen(event) {
      path.push(event.name);
      // pathMatches = how many leading segments of recordPath the current path still follows.
      if (path.length === pathMatches + 1 && path.length <= segments.length && segments[path.length - 1] === event.name) pathMatches = path.length;
    },
    onClose(event, _closeStart, end) {
      if (path.length === segments.length && pathMatches === segments.length) {
        ranges.push({ start: event.start, contentStart: event.contentStart, end });
      }
      if (pathMatches === path.length) pathMatches--;
      path.pop();
    },
  });
  const recordName = segments[segments.length - 1]!;
  if (info.rootName === recordName && info.rootName !== segments[0]) return [raw];
  if (info.rootName !== segments[0]) {
    throw new ParseError(`the root element is <${info.rootQName}>, not <${segments[0]}> as parser.xml.recordPath "${recordPath}" expects`, {
      code: 'PARSE_XML_RECORD_PATH',
    });
  }
  const declarations = Object.entries(info.rootNamespaces);
  return ranges.map(({ start, contentStart, end }) => {
    let record = text.slice(start, end);
    if (declarations.length > 0) {
      const startTag = text.slice(start, contentStart);
      const missing = declarations
        .filter(([prefix]) => !new RegExp(`\\sxmlns${prefix ? `:${prefix.replace(/[.-]/g, '\\$&')}` : ''}\\s*=`).test(startTag))
        .map(([prefix, uri]) => ` xmlns${prefix ? `:${prefix}` : ''}="${uri.replace(/&/g, '&amp;').replace(/"/g, '&quot;')}"`)
        .join('');
      if (missing) {
        const nameEnd = start + 1 + (/^[^\s/>]+/.exec(startTag.slice(1))?.[0].length ?? 0);
        record = text.slice(start, nameEnd) + missing + text.slice(nameEnd, end);
      }
    }
    return Buffer.from(record, 'utf8');
  });
}

import type { Format, FormatParser } from './types.ts';
import { hl7v2Format } from './hl7v2-format.ts';
import { cdaFormat } from './cda/index.ts';
import { xmlFormat } from './xml/index.ts';

export type { Envelope, Format, FormatParser, ParsedDocument } from './types.ts';
export * from './hl7v2/index.ts';

const parsers = new Map<Format, FormatParser>([['hl7v2', hl7v2Format], ['cda', cdaFormat], ['xml', xmlFormat]]);

export function registerFormatParser(parser: FormatParser): void {
  parsers.set(parser.format, parser);
}

export function formatParser(format: Format): FormatParser {
  const parser = parsers.get(format);
  if (!parser) throw new Error(`no parser for format ${format}`);
  return parser;
}
export { parseCda, cdaFormat, cdaSourceMessageId, readCdaHeaderFacts, type CdaDocumentFacts } from './cda/index.ts';
export { xmlFormat, readXmlDocument, splitXmlRecords, parseXmlTree, tokenizeXml, decodeXmlBytes, type XmlTree, type XmlTreeOptions } from './xml/index.ts';

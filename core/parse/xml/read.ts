import { ParseError } from '../../common/errors.ts';
import { decodeXmlBytes } from './decode.ts';
import { parseXmlTree, type XmlTree, type XmlTreeOptions } from './tree.ts';

/** Documents above this size are refused before decoding (ingest has its own, larger, body limit). */
export const DEFAULT_XML_MAX_BYTES = 16 * 1024 * 1024;
/** CDA nests sections, entries and entryRelationships; 128 levels is far beyond any real document. */
export const DEFAULT_XML_MAX_DEPTH = 128;

export interface ReadXmlOptions extends Omit<XmlTreeOptions, 'maxDepth'> {
  maxDepth?: number;
  maxBytes?: number;
}

/** Raw bytes → decoded text → tree, with the size, encoding, structure and depth checks. */
export function readXmlDocument(raw: Buffer, options: ReadXmlOptions = {}): XmlTree & { encoding: string } {
  const maxBytes = options.maxBytes ?? DEFAULT_XML_MAX_BYTES;
  if (raw.length > maxBytes) {
    throw new ParseError(`the document is ${raw.length} bytes, over the XML parser's limit of ${maxBytes}`, {
      code: 'PARSE_XML_TOO_LARGE',
      details: { bytes: raw.length, limit: maxBytes },
    });
  }
  const { text, encoding } = decodeXmlBytes(raw);
  return { ...parseXmlTree(text, { ...options, maxDepth: options.maxDepth ?? DEFAULT_XML_MAX_DEPTH }), encoding };
}

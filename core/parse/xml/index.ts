/**
 * The engine's XML layer: bounded, non-expanding tokenizer, tree builder, batch splitter and the
 * generic XML format parser. CDA (core/parse/cda) builds on it.
 */
export { decodeXmlBytes, decodeXmlHead, declaredEncoding, type DecodedXml } from './decode.ts';
export { tokenizeXml, localName, rootNamespace, xmlError, type XmlLimits, type XmlHandler, type XmlElementEvent, type XmlDocumentInfo } from './tokenizer.ts';
export { parseXmlTree, decodeXmlEntities, type XmlTree, type XmlTreeOptions } from './tree.ts';
export { readXmlDocument, DEFAULT_XML_MAX_BYTES, DEFAULT_XML_MAX_DEPTH, type ReadXmlOptions } from './read.ts';
export { splitXmlRecords } from './split.ts';
export { xmlFormat, firstElementName, checkRootNamespace } from './xml-format.ts';

export { parseHl7v2, parseHl7v2Text, splitSegments, unescapeHl7, DEFAULT_HL7_VERSIONS, type Hl7ParseOptions } from './parser.ts';
export { readHl7Envelope, type Hl7Envelope } from './envelope.ts';
export { decodeHl7Bytes, readMsh18, type CharacterEncodingOption } from './charset.ts';
export type * from './types.ts';
export { splitHl7Batch } from './batch.ts';

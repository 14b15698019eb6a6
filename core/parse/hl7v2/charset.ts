import iconv from 'iconv-lite';
import { ParseError } from '../../common/errors.ts';
import { firstInvalidUtf8Offset } from '../utf8.ts';

/** MSH-18 values (HL7 table 0211) and the decoders that read them. */
const MSH18_ENCODINGS: Record<string, string> = {
  ASCII: 'ascii',
  '8859/1': 'latin1',
  '8859/2': 'iso-8859-2',
  '8859/3': 'iso-8859-3',
  '8859/4': 'iso-8859-4',
  '8859/5': 'iso-8859-5',
  '8859/6': 'iso-8859-6',
  '8859/7': 'iso-8859-7',
  '8859/8': 'iso-8859-8',
  '8859/9': 'iso-8859-9',
  '8859/15': 'iso-8859-15',
  'UNICODE UTF-8': 'utf-8',
  'UNICODE': 'utf-8',
  'UTF-8': 'utf-8',
  'UNICODE UTF-16': 'utf-16le',
  'WINDOWS-1252': 'windows-1252',
  CP1252: 'windows-1252',
};

export type CharacterEncodingOption = 'auto' | 'utf-8' | 'latin1' | 'iso-8859-15' | 'windows-1252' | 'ascii';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Reads MSH-18 from the first line without decoding the whole message (the line is ASCII by spec). */
export function readMsh18(raw: Buffer): string | undefined {
  const start = raw.indexOf('MSH');
  if (start < 0) return undefined;
  let end = start;
  while (end < raw.length && end - start < 4096 && raw[end] !== 0x0d && raw[end] !== 0x0a) end++;
  const line = raw.toString('latin1', start, end);
  const separator = line[3];
  if (!separator) return undefined;
  const value = line.split(separator)[17];
  return value ? value.split(line[4] ?? '^')[0]?.trim().toUpperCase() : undefined;
}

/**
 * Decodes message bytes: a plugin may fix the encoding; 'auto' follows MSH-18 and defaults to UTF-8.
 * Invalid UTF-8 is an error that says where and what to do, never silently replaced.
 */
export function decodeHl7Bytes(raw: Buffer, option: CharacterEncodingOption = 'auto'): { text: string; encoding: string } {
  let encoding: string = option;
  if (option === 'auto') {
    const msh18 = readMsh18(raw);
    encoding = msh18 ? (MSH18_ENCODINGS[msh18] ?? '') : 'utf-8';
    if (!encoding) {
      throw new ParseError(`MSH-18 declares the character set "${msh18}", which the engine cannot decode`, { code: 'PARSE_UNSUPPORTED_CHARSET' });
    }
  }
  if (encoding === 'utf-8') {
    try {
      return { text: utf8.decode(raw), encoding };
    } catch {
      const offset = firstInvalidUtf8Offset(raw);
      throw new ParseError(
        `the message is not valid UTF-8 (byte 0x${raw[offset]?.toString(16).padStart(2, '0')} at offset ${offset}); ` +
          'if the source sends Latin-1, set the plugin\'s parser encoding to "latin1" or have it send MSH-18 = 8859/1',
        { code: 'PARSE_INVALID_ENCODING', details: { offset } },
      );
    }
  }
  return { text: iconv.decode(raw, encoding), encoding };
}


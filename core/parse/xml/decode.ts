import iconv from 'iconv-lite';
import { ParseError } from '../../common/errors.ts';
import { firstInvalidUtf8Offset } from '../utf8.ts';

/**
 * XML bytes → text. The encoding comes from the byte-order mark, else from the XML declaration
 * (`<?xml version="1.0" encoding="ISO-8859-1"?>`), else UTF-8 (XML 1.0 §4.3.3). Invalid UTF-8 is an
 * error naming the byte offset: silently replacing characters would corrupt names and codes.
 */
export interface DecodedXml {
  text: string;
  encoding: string;
}

const DECLARED_ENCODINGS: Record<string, string> = {
  'utf-8': 'utf-8',
  utf8: 'utf-8',
  'us-ascii': 'utf-8',
  ascii: 'utf-8',
  'iso-8859-1': 'latin1',
  'iso8859-1': 'latin1',
  latin1: 'latin1',
  'latin-1': 'latin1',
  'iso-8859-15': 'iso-8859-15',
  'windows-1252': 'windows-1252',
  cp1252: 'windows-1252',
  'utf-16': 'utf-16',
  'utf-16le': 'utf-16le',
  'utf-16be': 'utf-16be',
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** What the first bytes say: BOM, or UTF-16 without BOM recognised by `<?` / `<` patterns. */
function sniffEncoding(raw: Buffer): { encoding: string; skip: number } | undefined {
  if (raw[0] === 0xef && raw[1] === 0xbb && raw[2] === 0xbf) return { encoding: 'utf-8', skip: 3 };
  if (raw[0] === 0xff && raw[1] === 0xfe) return { encoding: 'utf-16le', skip: 2 };
  if (raw[0] === 0xfe && raw[1] === 0xff) return { encoding: 'utf-16be', skip: 2 };
  if (raw[0] === 0x3c && raw[1] === 0x00 && raw[2] !== 0x00) return { encoding: 'utf-16le', skip: 0 };
  if (raw[0] === 0x00 && raw[1] === 0x3c) return { encoding: 'utf-16be', skip: 0 };
  return undefined;
}

/** The encoding named by the XML declaration, if any (the declaration is ASCII by spec). */
export function declaredEncoding(raw: Buffer): string | undefined {
  const head = raw.toString('latin1', 0, Math.min(raw.length, 256));
  const match = /^\s*<\?xml\s[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']/.exec(head);
  return match?.[1]?.toLowerCase();
}

export function decodeXmlBytes(raw: Buffer): DecodedXml {
  const sniffed = sniffEncoding(raw);
  let encoding: string;
  let body = raw;
  if (sniffed) {
    encoding = sniffed.encoding;
    body = sniffed.skip > 0 ? raw.subarray(sniffed.skip) : raw;
  } else {
    const declared = declaredEncoding(raw);
    if (declared === undefined) encoding = 'utf-8';
    else {
      const known = DECLARED_ENCODINGS[declared];
      if (!known) {
        throw new ParseError(`the XML declaration names the encoding "${declared}", which the engine cannot decode`, {
          code: 'PARSE_XML_ENCODING',
          details: { encoding: declared },
        });
      }
      // "utf-16" declared but no BOM and no UTF-16 pattern: the bytes are not UTF-16 at all.
      if (known.startsWith('utf-16')) {
        throw new ParseError(`the XML declaration says ${declared} but the document has no UTF-16 byte-order mark`, { code: 'PARSE_XML_ENCODING' });
      }
      encoding = known;
    }
  }
  if (encoding === 'utf-8') {
    try {
      return { text: utf8.decode(body), encoding };
    } catch {
      const offset = firstInvalidUtf8Offset(body) + (raw.length - body.length);
      throw new ParseError(
        `the document is not valid UTF-8 (byte 0x${raw[offset]?.toString(16).padStart(2, '0')} at offset ${offset}); ` +
          'a document in another encoding must say so in its XML declaration (e.g. encoding="ISO-8859-1")',
        { code: 'PARSE_XML_ENCODING', details: { offset } },
      );
    }
  }
  const text = iconv.decode(body, encoding === 'utf-16' ? 'utf-16le' : encoding);
  return { text: text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, encoding };
}

/** Like decodeXmlBytes on the first maxBytes, but never throws (bad bytes become U+FFFD): for envelopes. */
export function decodeXmlHead(raw: Buffer, maxBytes: number): string {
  const head = raw.length > maxBytes ? raw.subarray(0, maxBytes) : raw;
  const sniffed = sniffEncoding(head);
  const declared = sniffed ? undefined : DECLARED_ENCODINGS[declaredEncoding(head) ?? 'utf-8'];
  const encoding = sniffed?.encoding ?? declared ?? 'utf-8';
  const body = sniffed ? head.subarray(sniffed.skip) : head;
  if (encoding === 'utf-8' || encoding === 'utf-16') return body.toString('utf8');
  try {
    return iconv.decode(body, encoding);
  } catch {
    return body.toString('latin1');
  }
}


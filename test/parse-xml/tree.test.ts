import { describe, expect, it } from '@jest/globals';
import iconv from 'iconv-lite';
import { ParseError } from '../../core/common/errors.ts';
import { parseXmlTree, readXmlDocument, type XmlTreeOptions } from '../../core/parse/xml/index.ts';

const opts = (more: Partial<XmlTreeOptions> = {}): XmlTreeOptions => ({ maxDepth: 64, ...more });
const tree = (xml: string, more: Partial<XmlTreeOptions> = {}) => parseXmlTree(xml, opts(more)).tree;

/** The ParseError a call throws (fails the test when it does not throw one). */
function parseErrorOf(run: () => unknown): ParseError {
  try {
    run();
  } catch (error) {
    if (error instanceof ParseError) return error;
    throw error;
  }
  throw new Error('expected a ParseError');
}

describe('XML tree contract (docs/parsed-trees.md)', () => {
  it('keeps attributes as plain keys and text-only elements as strings; values are never converted', () => {
    expect(tree('<a x="01"><b>007</b><c y="1.50"/></a>')).toEqual({ a: { x: '01', b: '007', c: { y: '1.50' } } });
  });

  it('keeps the text of an element with attributes under "_"', () => {
    expect(tree('<a><family qualifier="BR">Rossi</family></a>')).toEqual({ a: { family: { qualifier: 'BR', _: 'Rossi' } } });
  });

  it('moves an attribute to "@name" when a child element has the same name', () => {
    expect(tree('<a value="attr"><value>child</value></a>')).toEqual({ a: { '@value': 'attr', value: 'child' } });
  });

  it('removes namespace prefixes and drops namespace declarations', () => {
    const xml = '<v3:doc xmlns:v3="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:sdtc="urn:hl7-org:sdtc"><v3:value xsi:type="PQ" value="1"/><sdtc:raceCode code="x"/></v3:doc>';
    expect(tree(xml)).toEqual({ doc: { value: { type: 'PQ', value: '1' }, raceCode: { code: 'x' } } });
  });

  it('makes repeated elements arrays, and listed elements arrays even when single', () => {
    expect(tree('<a><b>1</b><b>2</b><c>3</c><d>4</d></a>', { arrays: new Set(['d']) })).toEqual({ a: { b: ['1', '2'], c: '3', d: ['4'] } });
  });

  it('makes an element an array only under the listed parents when asked', () => {
    const options = { arraysUnder: new Map([['effectiveTime', new Set(['substanceAdministration'])]]) };
    expect(tree('<r><substanceAdministration><effectiveTime value="1"/></substanceAdministration><act><effectiveTime value="2"/></act></r>', options)).toEqual({
      r: { substanceAdministration: { effectiveTime: [{ value: '1' }] }, act: { effectiveTime: { value: '2' } } },
    });
  });

  it('keeps raw elements as written (entities and markup untouched), with their attributes', () => {
    const options = { rawUnder: new Map([['text', new Set(['section'])]]) };
    const xml = '<s><section><text mediaType="text/x-hl7-text+xml"><paragraph>a &amp; <content ID="x">b</content></paragraph></text><entry><text>plain</text></entry></section></s>';
    expect(tree(xml, options)).toEqual({
      s: { section: { text: { mediaType: 'text/x-hl7-text+xml', _: '<paragraph>a &amp; <content ID="x">b</content></paragraph>' }, entry: { text: 'plain' } } },
    });
  });

  it('decodes the XML entities and character references, leaves unknown references as written', () => {
    expect(tree('<a t="&lt;&#233;&#x41;">&amp;&lt;&gt;&quot;&apos; &#232; &#x1F600; &nbsp; &#0;</a>')).toEqual({ a: { t: '<éA', _: '&<>"\' è 😀 &nbsp; &#0;' } });
  });

  it('joins mixed content keeping the spaces between the pieces, and trims values', () => {
    expect(tree('<a><o>  Dolore <r value="#1"/> toracico </o><t>  x  </t><n x=" y "/></a>')).toEqual({
      a: { o: { r: { value: '#1' }, _: 'Dolore  toracico' }, t: 'x', n: { x: 'y' } },
    });
  });

  it('reads CDATA as text, normalises line ends, ignores comments and processing instructions', () => {
    expect(tree('<?xml version="1.0"?><?xml-stylesheet href="x"?><!-- c --><a><!-- inner --><b><![CDATA[<i> & </i>]]></b><c>1\r\n2\r3</c><?pi x?></a>')).toEqual({
      a: { b: '<i> & </i>', c: '1\n2\n3' },
    });
  });

  it('gives an empty string for an empty element without attributes', () => {
    expect(tree('<a><b/><c></c></a>')).toEqual({ a: { b: '', c: '' } });
  });
});

describe('XML well-formedness and limits', () => {
  it.each([
    ['<a><b></a>', 'PARSE_XML_MALFORMED'],
    ['<a><b>', 'PARSE_XML_TRUNCATED'],
    ['<a><b x="1', 'PARSE_XML_TRUNCATED'],
    ['<a><!-- open', 'PARSE_XML_TRUNCATED'],
    ['<a/><b/>', 'PARSE_XML_MALFORMED'],
    ['text <a/>', 'PARSE_XML_MALFORMED'],
    ['<a/> trailing', 'PARSE_XML_MALFORMED'],
    ['<a x=1/>', 'PARSE_XML_MALFORMED'],
    ['<a x="1"y="2"/>', 'PARSE_XML_MALFORMED'],
    ['<a x="<"/>', 'PARSE_XML_MALFORMED'],
    ['</a>', 'PARSE_XML_MALFORMED'],
    ['', 'PARSE_XML_NO_ROOT'],
    ['   ', 'PARSE_XML_NO_ROOT'],
    ['<a><__proto__ x="1"/></a>', 'PARSE_XML_MALFORMED'],
  ])('%j is refused with %s', (xml, code) => {
    const error = parseErrorOf(() => tree(xml));
    expect(error.code).toBe(code);
    expect(error.stage).toBe('parse');
    expect(error.kind).toBe('permanent');
  });

  it('bounds the nesting depth', () => {
    const deep = `${'<a>'.repeat(65)}${'</a>'.repeat(65)}`;
    expect(parseErrorOf(() => tree(deep)).code).toBe('PARSE_XML_TOO_DEEP');
    expect(() => tree(`${'<a>'.repeat(64)}${'</a>'.repeat(64)}`)).not.toThrow();
  });

  it('does not prototype-pollute through attribute names', () => {
    const result = tree('<a constructor="x" prototype="y"/>') as { a: Record<string, unknown> };
    expect(result.a.constructor).toBe('x');
    expect(({} as Record<string, unknown>).prototype).toBeUndefined();
  });
});

describe('XML bytes: size and character encodings', () => {
  it('refuses documents over the size limit before decoding', () => {
    const error = parseErrorOf(() => readXmlDocument(Buffer.from('<a>0123456789</a>'), { maxBytes: 10 }));
    expect(error.code).toBe('PARSE_XML_TOO_LARGE');
  });

  it('decodes the encoding declared in the XML declaration', () => {
    const raw = iconv.encode('<?xml version="1.0" encoding="ISO-8859-1"?><a>perché già</a>', 'latin1');
    expect(readXmlDocument(raw).tree).toEqual({ a: 'perché già' });
  });

  it('decodes UTF-16 with a byte-order mark, and UTF-8 with a BOM', () => {
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('<?xml version="1.0" encoding="UTF-16"?><a>è</a>', 'utf16le')]);
    expect(readXmlDocument(utf16).tree).toEqual({ a: 'è' });
    const utf8Bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('<a>è</a>', 'utf8')]);
    expect(readXmlDocument(utf8Bom).tree).toEqual({ a: 'è' });
  });

  it('refuses invalid UTF-8 naming the byte offset, and unknown encodings', () => {
    const invalid = Buffer.concat([Buffer.from('<a>ok '), Buffer.from([0xe8]), Buffer.from('</a>')]);
    const error = parseErrorOf(() => readXmlDocument(invalid));
    expect(error.code).toBe('PARSE_XML_ENCODING');
    expect(error.details).toEqual({ offset: 6 });
    expect(parseErrorOf(() => readXmlDocument(Buffer.from('<?xml version="1.0" encoding="EBCDIC-XYZ"?><a/>'))).code).toBe('PARSE_XML_ENCODING');
  });
});

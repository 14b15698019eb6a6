import iconv from 'iconv-lite';
import { parseHl7v2, readHl7Envelope, splitHl7Batch, type Hl7Segment } from '../../core/parse/index.ts';
import { ParseError } from '../../core/common/errors.ts';

const MSH = 'MSH|^~\\&|APP|FAC|CDR|RL|20240311095000||ADT^A01^ADT_A01|CTL1|P|2.5';

function parse(text: string, options = {}) {
  return parseHl7v2(Buffer.from(text, 'utf8'), options);
}
const seg = (tree: ReturnType<typeof parse>, name: string, i = 0) => (tree[name] as Hl7Segment[])[i]!;

describe('HL7 v2 parser', () => {
  test('segments, repetitions, components and subcomponents, HL7 field numbering', () => {
    const tree = parse(`${MSH}\rPID|1||ID1^^^H&2.16.840.1.113883.2.9.4.3.2&ISO^PI~CF2^^^MEF^NNITA||ROSSI^MARIO||19800101|M\r`);
    expect(seg(tree, 'MSH').F9).toEqual([{ C1: 'ADT', C2: 'A01', C3: 'ADT_A01' }]);
    expect(seg(tree, 'MSH').F1).toEqual([{ C1: '|' }]);
    expect(seg(tree, 'MSH').F2).toEqual([{ C1: '^~\\&' }]);
    const pid = seg(tree, 'PID');
    expect(pid.F3).toEqual([
      { C1: 'ID1', C4: { S1: 'H', S2: '2.16.840.1.113883.2.9.4.3.2', S3: 'ISO' }, C5: 'PI' },
      { C1: 'CF2', C4: 'MEF', C5: 'NNITA' },
    ]);
    expect(pid.F2).toBeUndefined();
    expect(pid._i).toBe(1);
    expect(tree._segments.map((s) => s._name)).toEqual(['MSH', 'PID']);
    expect(tree._meta).toMatchObject({ messageType: 'ADT^A01', triggerEvent: 'A01', controlId: 'CTL1', version: '2.5', sendingApplication: 'APP' });
  });

  test('escape sequences are resolved and the HL7 null "" is absent', () => {
    const tree = parse(`${MSH}\rNTE|1||a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f\\X0D0A\\g\\.br\\h\\H\\bold\\N\\|""\r`);
    expect(seg(tree, 'NTE').F3).toEqual([{ C1: 'a|b^c&d~e\\f\r\ng\nhbold' }]);
    expect(seg(tree, 'NTE').F4).toBeUndefined();
  });

  test('Z-segments and repeated segments keep their order', () => {
    const tree = parse(`${MSH}\rOBX|1|NM|A\rZPD|1|private\rOBX|2|NM|B\r`);
    expect((tree.OBX as Hl7Segment[]).map((s) => [s._i, s.F3![0]!.C1])).toEqual([[1, 'A'], [3, 'B']]);
    expect(seg(tree, 'ZPD').F2).toEqual([{ C1: 'private' }]);
  });

  test.each([
    ['CR', '\r'],
    ['LF', '\n'],
    ['CRLF', '\r\n'],
  ])('%s segment endings', (_name, eol) => {
    const tree = parse(`${MSH}${eol}PID|1||X${eol}`);
    expect(tree._meta.segmentCount).toBe(2);
    expect(seg(tree, 'PID').F3).toEqual([{ C1: 'X' }]);
  });

  test('a UTF-8 BOM and MLLP framing bytes are stripped', () => {
    const tree = parseHl7v2(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`${MSH}\rPID|1||Y\r`)]));
    expect(seg(tree, 'PID').F3).toEqual([{ C1: 'Y' }]);
    expect(parse(`\x0b${MSH}\rPID|1||Z\r\x1c\r`)._meta.segmentCount).toBe(2);
  });

  test('versions 2.3 to 2.8 are accepted; a plugin can narrow them', () => {
    for (const v of ['2.3', '2.3.1', '2.4', '2.5', '2.5.1', '2.6', '2.7', '2.8']) {
      expect(parse(MSH.replace('|P|2.5', `|P|${v}`))._meta.version).toBe(v);
    }
    expect(() => parse(MSH, { acceptedVersions: ['2.3'] })).toThrow(/HL7 version 2.5 \(MSH-12\) is not accepted/);
  });

  test('Latin-1 through MSH-18 = 8859/1 or the plugin setting; invalid UTF-8 is an error naming the offset', () => {
    const text = `${MSH}||||||8859/1\rPID|1||X||NICCOLÒ^MARÌA\r`;
    const latin1 = iconv.encode(text, 'latin1');
    expect(seg(parseHl7v2(latin1), 'PID').F5).toEqual([{ C1: 'NICCOLÒ', C2: 'MARÌA' }]);
    const withoutMsh18 = iconv.encode(text.replace('||||||8859/1', ''), 'latin1');
    expect(() => parseHl7v2(withoutMsh18)).toThrow(/not valid UTF-8 \(byte 0xd2 at offset/);
    expect(seg(parseHl7v2(withoutMsh18, { encoding: 'latin1' }), 'PID').F5).toEqual([{ C1: 'NICCOLÒ', C2: 'MARÌA' }]);
  });

  test('malformed input gives permanent parse errors with stable codes', () => {
    const code = (text: string | Buffer) => {
      try {
        parseHl7v2(typeof text === 'string' ? Buffer.from(text) : text);
      } catch (error) {
        expect(error).toBeInstanceOf(ParseError);
        expect((error as ParseError).transient).toBe(false);
        return (error as ParseError).code;
      }
      return 'no error';
    };
    expect(code('PID|1||X')).toBe('PARSE_NO_MSH');
    expect(code('MSH|^~\\&|APP')).toBe('PARSE_NO_MESSAGE_TYPE');
    expect(code('MSH|^^\\&|APP|FAC|||||ADT^A01')).toBe('PARSE_BAD_DELIMITERS');
    expect(code(`${MSH}\rpid|1`)).toBe('PARSE_BAD_SEGMENT');
    expect(code(Buffer.from([0x4d, 0x53, 0x48, 0x00, 0x01]))).toBe('PARSE_BINARY');
    expect(code('   ')).toBe('PARSE_EMPTY');
  });

  test('the envelope is read from MSH alone and never throws', () => {
    expect(readHl7Envelope(Buffer.from(`${MSH}\rgarbage`))).toMatchObject({ messageType: 'ADT^A01', controlId: 'CTL1', messageDateTime: '20240311095000' });
    expect(readHl7Envelope(Buffer.from('not hl7'))).toBeUndefined();
  });

  test('batch files are split into messages, envelope segments dropped, bytes kept', () => {
    const one = `${MSH}\rPID|1||A\r`;
    const two = `${MSH.replace('CTL1', 'CTL2')}\rPID|1||B\r`;
    const batch = Buffer.from(`FHS|^~\\&|APP\rBHS|^~\\&|APP\r${one}${two}BTS|2\rFTS|1\r`);
    const parts = splitHl7Batch(batch);
    expect(parts.map((p) => p.toString())).toEqual([one, two]);
    expect(splitHl7Batch(Buffer.from(one)).map((p) => p.toString())).toEqual([one]);
  });
});

import { firstInvalidUtf8Offset } from '../../core/parse/utf8.ts';

describe('firstInvalidUtf8Offset (where a strict UTF-8 decode failed, for the error message)', () => {
  const offset = (bytes: number[]) => firstInvalidUtf8Offset(Buffer.from(bytes));

  test('well-formed text has no bad byte: the offset is the length', () => {
    expect(offset([0x41, 0x42])).toBe(2);
    expect(offset([0xe2, 0x82, 0xac])).toBe(3); // €
    expect(offset([0xf0, 0x9f, 0x98, 0x80])).toBe(4);
  });

  test('points at the sequence that breaks: bad lead byte, missing continuation, truncated end', () => {
    expect(offset([0x41, 0xff])).toBe(1);
    expect(offset([0xc3, 0xa8, 0xc3, 0x41])).toBe(2);
    expect(offset([0x41, 0xe2, 0x82])).toBe(1);
    expect(offset([0xe8, 0x20])).toBe(0); // Latin-1 "è" followed by a space
  });

  test('overlong forms, surrogates and code points above U+10FFFF are breaks too', () => {
    expect(offset([0xe0, 0x80, 0x80])).toBe(0);
    expect(offset([0x41, 0xed, 0xa0, 0x80])).toBe(1);
    expect(offset([0xf0, 0x80, 0x80, 0x80])).toBe(0);
    expect(offset([0xf4, 0x90, 0x80, 0x80])).toBe(0);
  });

  test('agrees with the decoder: wherever it reports a break, a fatal TextDecoder refuses the bytes up to it plus one', () => {
    const decoder = new TextDecoder('utf-8', { fatal: true });
    for (const bytes of [[0x41, 0xed, 0xa0, 0x80], [0xc3, 0xa8, 0xff], [0xe0, 0x80, 0x80]]) {
      const at = offset(bytes);
      expect(() => decoder.decode(Buffer.from(bytes.slice(0, at)))).not.toThrow();
      expect(() => decoder.decode(Buffer.from(bytes))).toThrow();
    }
  });
});

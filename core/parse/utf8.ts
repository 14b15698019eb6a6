/**
 * Offset of the first byte that breaks UTF-8 (for the error message of a failed strict decode):
 * a bad lead byte, a missing continuation, an overlong form or a surrogate. The buffer's length
 * when the whole buffer is well-formed.
 */
export function firstInvalidUtf8Offset(raw: Buffer): number {
  let i = 0;
  while (i < raw.length) {
    const b = raw[i]!;
    const length = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (length === 0) return i;
    // The second byte's range is narrower after E0 (overlong), ED (surrogates), F0 (overlong) and F4 (> U+10FFFF).
    const [low, high] = b === 0xe0 ? [0xa0, 0xbf] : b === 0xed ? [0x80, 0x9f] : b === 0xf0 ? [0x90, 0xbf] : b === 0xf4 ? [0x80, 0x8f] : [0x80, 0xbf];
    for (let k = 1; k < length; k++) {
      const c = raw[i + k];
      if (c === undefined || (k === 1 ? c < low || c > high : (c & 0xc0) !== 0x80)) return i;
    }
    i += length;
  }
  return i;
}

/**
 * HL7 v2 batch files (FHS/BHS ... MSH ... BTS/FTS) and plain multi-message files: the exact bytes of
 * each message, found by the segment starts at line beginnings. Batch envelope segments are dropped.
 */
const ENVELOPE = new Set(['FHS', 'BHS', 'BTS', 'FTS']);

function isLineStart(raw: Buffer, index: number): boolean {
  if (index === 0) return true;
  const previous = raw[index - 1];
  return previous === 0x0d || previous === 0x0a || (index === 3 && raw[0] === 0xef); // after a UTF-8 BOM
}

function segmentAt(raw: Buffer, index: number): string {
  return raw.toString('latin1', index, index + 3);
}

export function splitHl7Batch(raw: Buffer): Buffer[] {
  const starts: Array<{ index: number; name: string }> = [];
  for (let i = 0; i <= raw.length - 3; i++) {
    if (!isLineStart(raw, i)) continue;
    const name = segmentAt(raw, i);
    if (name === 'MSH' || ENVELOPE.has(name)) starts.push({ index: i, name });
  }
  const messages: Buffer[] = [];
  for (let k = 0; k < starts.length; k++) {
    const start = starts[k]!;
    if (start.name !== 'MSH') continue;
    const end = starts[k + 1]?.index ?? raw.length;
    const part = raw.subarray(start.index, end);
    if (part.toString('latin1').trim().length > 0) messages.push(Buffer.from(part));
  }
  return messages.length > 0 ? messages : [raw];
}

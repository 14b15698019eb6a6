/**
 * MLLP framing: <VT> message <FS><CR>. Bytes outside a frame are ignored (line noise, keep-alive
 * newlines); a frame longer than the limit is reported once and the connection should be closed.
 */
export const VT = 0x0b;
export const FS = 0x1c;
export const CR = 0x0d;

export type FrameEvent = { kind: 'frame'; payload: Buffer } | { kind: 'oversized'; bytes: number };

export class MllpFramer {
  private chunks: Buffer[] = [];
  private size = 0;
  private inFrame = false;
  private pendingFs = false;

  constructor(private readonly maxFrameBytes: number) {}

  /** Feeds received bytes; returns the complete frames (and oversize events) they finish. */
  push(data: Buffer): FrameEvent[] {
    const events: FrameEvent[] = [];
    let offset = 0;
    while (offset < data.length) {
      if (!this.inFrame) {
        const start = data.indexOf(VT, offset);
        if (start < 0) return events;
        this.inFrame = true;
        this.chunks = [];
        this.size = 0;
        this.pendingFs = false;
        offset = start + 1;
        continue;
      }
      if (this.pendingFs) {
        // FS seen at the end of the previous chunk: the frame ends if CR follows.
        this.pendingFs = false;
        if (data[offset] === CR) {
          events.push(this.finish());
          offset += 1;
          continue;
        }
        this.append(Buffer.from([FS]), events);
      }
      const fs = data.indexOf(FS, offset);
      if (fs < 0) {
        this.append(data.subarray(offset), events);
        return events;
      }
      this.append(data.subarray(offset, fs), events);
      if (fs + 1 >= data.length) {
        this.pendingFs = true;
        return events;
      }
      if (data[fs + 1] === CR) {
        events.push(this.finish());
        offset = fs + 2;
      } else {
        // FS without CR: tolerated as the end of frame (some senders omit the CR).
        events.push(this.finish());
        offset = fs + 1;
      }
    }
    return events;
  }

  private append(part: Buffer, events: FrameEvent[]): void {
    if (part.length === 0 || !this.inFrame) return;
    this.size += part.length;
    if (this.size > this.maxFrameBytes) {
      events.push({ kind: 'oversized', bytes: this.size });
      this.inFrame = false;
      this.chunks = [];
      this.size = 0;
      return;
    }
    this.chunks.push(Buffer.from(part));
  }

  private finish(): FrameEvent {
    const payload = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.size);
    this.inFrame = false;
    this.chunks = [];
    this.size = 0;
    return { kind: 'frame', payload };
  }
}

export function frame(payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  return Buffer.concat([Buffer.from([VT]), body, Buffer.from([FS, CR])]);
}

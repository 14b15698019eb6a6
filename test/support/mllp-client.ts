import net from 'node:net';
import { frame, MllpFramer } from '../../core/ingest/mllp/framer.ts';

/** A raw MLLP connection for tests: send frames (or arbitrary bytes), read the acknowledgments. */
export class RawMllpClient {
  private readonly socket: net.Socket;
  private readonly framer = new MllpFramer(64 * 1024 * 1024);
  private readonly acks: string[] = [];
  private waiters: Array<() => void> = [];

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (data: Buffer) => {
      for (const event of this.framer.push(data)) if (event.kind === 'frame') this.acks.push(event.payload.toString('utf8'));
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w();
    });
    socket.on('error', () => undefined);
  }

  static async connect(port: number): Promise<RawMllpClient> {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', () => resolve()).once('error', reject));
    return new RawMllpClient(socket);
  }

  writeRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  async send(payload: Buffer | string, timeoutMs = 10_000): Promise<string> {
    const expected = this.acks.length + 1;
    this.socket.write(frame(payload));
    return this.nextAck(expected, timeoutMs);
  }

  async nextAck(count: number, timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (this.acks.length < count) {
      if (Date.now() > deadline) throw new Error('no MLLP acknowledgment within the timeout');
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
    return this.acks[count - 1]!;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** MSA-1 and MSA-2 of an ACK. */
export function msa(ack: string): { code: string; controlId: string; text: string } {
  const line = ack.split('\r').find((l) => l.startsWith('MSA')) ?? '';
  const fields = line.split('|');
  return { code: fields[1] ?? '', controlId: fields[2] ?? '', text: fields[3] ?? '' };
}

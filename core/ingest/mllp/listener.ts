import net from 'node:net';
import { CdrError, ParseError, ReceiveError, RouteError, errorMessage } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import { readHl7Envelope, type Hl7Envelope } from '../../parse/hl7v2/envelope.ts';
import type { PluginRegistry } from '../../plugins/registry.ts';
import type { IngestService } from '../ingest-service.ts';
import { buildAck, isEnhancedMode, type AckCode, type AckError } from './ack.ts';
import { frame, MllpFramer } from './framer.ts';

export interface MllpListenerOptions {
  ingest: IngestService;
  plugins: PluginRegistry;
  logger: Logger;
  port: number;
  host?: string;
  maxFrameBytes: number;
  /** A connection silent for this long is closed (half-open clients must not hold resources forever). */
  idleTimeoutMs?: number;
  onFrame?: (outcome: { code: AckCode; pluginId?: string | undefined }) => void;
}

/**
 * The MLLP listener: frames from many concurrent connections, each message routed to a plugin by
 * MSH-3/MSH-4 and acknowledged only once its bytes are committed to the inbox (AA, or CA in enhanced
 * mode). Messages no plugin can take are kept as dead letters and answered AR/CR with an ERR segment;
 * when storage is down nothing is accepted and the answer is AE/CE, so the sender resends.
 */
export class MllpListener {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly options: MllpListenerOptions) {}

  async start(): Promise<number> {
    this.server = net.createServer((socket) => this.onConnection(socket));
    this.server.on('error', (error) => this.options.logger.error({ err: errorMessage(error) }, 'MLLP listener error'));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.options.port, this.options.host ?? '0.0.0.0', () => resolve());
    });
    const port = (this.server.address() as net.AddressInfo).port;
    this.options.logger.info({ port }, `MLLP listening on port ${port}`);
    return port;
  }

  private onConnection(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.setKeepAlive(true, 30_000);
    socket.setTimeout(this.options.idleTimeoutMs ?? 300_000, () => socket.destroy());
    socket.on('error', () => undefined);
    socket.on('close', () => this.sockets.delete(socket));
    const framer = new MllpFramer(this.options.maxFrameBytes);
    // MLLP is request/response per connection: frames of one connection are handled in order.
    let chain = Promise.resolve();
    socket.on('data', (data: Buffer) => {
      for (const event of framer.push(data)) {
        if (event.kind === 'oversized') {
          const ack = buildAck(undefined, 'AR', { hl7Code: '207', text: `message larger than the limit of ${this.options.maxFrameBytes} bytes` });
          socket.end(frame(ack));
          this.options.logger.warn({ bytes: event.bytes }, 'MLLP frame over the size limit: connection closed');
          return;
        }
        chain = chain.then(() => this.track(this.handleFrame(socket, event.payload)));
      }
    });
  }

  private track(work: Promise<void>): Promise<void> {
    this.inFlight.add(work);
    return work.finally(() => this.inFlight.delete(work));
  }

  private async handleFrame(socket: net.Socket, payload: Buffer): Promise<void> {
    const envelope = payload.length > 0 ? readHl7Envelope(payload) : undefined;
    const enhanced = isEnhancedMode(envelope);
    const reply = (code: 'accept' | 'error' | 'reject', error?: AckError, pluginId?: string) => {
      const ackCode: AckCode = code === 'accept' ? (enhanced ? 'CA' : 'AA') : code === 'error' ? (enhanced ? 'CE' : 'AE') : enhanced ? 'CR' : 'AR';
      this.options.onFrame?.({ code: ackCode, pluginId });
      // Enhanced mode with MSH-15 = NE asks for no accept acknowledgment at all.
      if (enhanced && envelope?.acceptAckType === 'NE' && code === 'accept') return;
      if (!socket.destroyed) socket.write(frame(buildAck(envelope, ackCode, error)));
    };

    let problem: CdrError | undefined;
    if (payload.toString('latin1').trim() === '') {
      problem = new ReceiveError('empty MLLP frame: no message between the start and end bytes', { code: 'RECEIVE_EMPTY_FRAME' });
    } else if (!envelope) {
      problem = new ParseError('the MLLP frame does not contain an MSH segment: it is not an HL7 v2 message', { code: 'PARSE_NO_MSH' });
    }
    const plugin = envelope ? this.options.plugins.findBySource(envelope.sendingApplication, envelope.sendingFacility) : undefined;
    if (!problem && !plugin) {
      problem = new RouteError(
        `no plugin accepts messages from sending application "${envelope?.sendingApplication ?? ''}" facility "${envelope?.sendingFacility ?? ''}" (MSH-3/MSH-4)`,
        { code: 'ROUTE_NO_PLUGIN' },
      );
    }
    try {
      if (problem || !plugin) {
        await this.options.ingest.acceptUnroutable(payload, 'mllp', problem!);
        reply('reject', { hl7Code: problem instanceof ParseError ? '100' : '207', text: problem!.message });
        return;
      }
      try {
        await this.options.ingest.acceptAll({ pluginId: plugin.id, raw: payload, channel: 'mllp', contentType: 'application/hl7-v2' });
        reply('accept', undefined, plugin.id);
      } catch (error) {
        if (error instanceof CdrError && !error.transient) {
          await this.options.ingest.acceptUnroutable(payload, 'mllp', error);
          reply('reject', { hl7Code: '207', text: error.message }, plugin.id);
          return;
        }
        throw error;
      }
    } catch (error) {
      // Nothing was accepted (storage or queue down): the sender must resend.
      this.options.logger.warn({ err: errorMessage(error) }, 'MLLP message not accepted: storage unavailable');
      reply('error', { hl7Code: '207', text: `temporarily unable to accept the message, resend later: ${errorMessage(error)}` }, plugin?.id);
    }
  }

  /** Stops accepting connections, lets frames in flight finish, then closes the connections. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    const closed = server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
    await Promise.allSettled([...this.inFlight]);
    for (const socket of this.sockets) socket.end();
    setTimeout(() => {
      for (const socket of this.sockets) socket.destroy();
    }, 1000).unref();
    await closed;
  }
}

export type { Hl7Envelope };

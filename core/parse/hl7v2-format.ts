import { ParseError } from '../common/errors.ts';
import type { PluginManifest } from '../plugins/manifest.ts';
import { parseHl7v2, readHl7Envelope, splitHl7Batch } from './hl7v2/index.ts';
import type { Envelope, FormatParser, ParsedDocument } from './types.ts';

export const hl7v2Format: FormatParser = {
  format: 'hl7v2',
  envelope(raw: Buffer): Envelope {
    const env = readHl7Envelope(raw);
    return {
      routeKey: env?.messageType ?? null,
      sourceMessageId: env?.controlId ?? null,
      sourceTime: env?.messageDateTime ?? null,
      sendingApplication: env?.sendingApplication ?? null,
      sendingFacility: env?.sendingFacility ?? null,
    };
  },
  parse(raw: Buffer, manifest: PluginManifest): ParsedDocument {
    const options = manifest.parser.hl7v2;
    const tree = parseHl7v2(raw, {
      encoding: options?.encoding ?? 'auto',
      ...(options?.versions ? { acceptedVersions: options.versions } : {}),
    });
    const meta = tree._meta;
    if (!meta.messageType) throw new ParseError('MSH-9 (message type) is missing', { code: 'PARSE_NO_MESSAGE_TYPE' });
    return { tree, routeKey: meta.messageType, sourceMessageId: meta.controlId, sourceTime: meta.messageDateTime };
  },
  split(raw: Buffer): Buffer[] {
    return splitHl7Batch(raw);
  },
};

import { CdrError } from '../common/errors.ts';
import type { MessageProcessor } from '../pipeline/processor.ts';
import type { PluginRegistry } from '../plugins/registry.ts';
import type { ProcessQueue } from '../queue/process-queue.ts';
import { writeAudit } from '../storage/audit.ts';
import type { Db } from '../storage/db.ts';
import type { InboxRepository } from '../storage/inbox-repository.ts';
import { contentHash } from '../storage/resource-store.ts';
import type { FhirResource, InboxMessage } from '../storage/types.ts';
import { jsonDiff, type JsonChange } from './json-diff.ts';

export class ReprocessError extends CdrError {
  constructor(message: string, code: 'MESSAGE_NOT_FOUND' | 'MESSAGE_NOT_STORED' | 'PLUGIN_CHANGED') {
    super(message, { stage: 'receive', kind: 'permanent', code });
  }
}

export interface ResourcePreview {
  resourceType: string;
  id: string;
  /** What a re-process would do to the current version. */
  change: 'created' | 'updated' | 'unchanged' | 'out-of-order';
  currentVersionId: string | null;
  diff: JsonChange[];
}

export interface ReprocessPreview {
  messageId: string;
  ente: string;
  pluginId: string;
  /** The plugin version the preview ran with; pass it to apply to be sure nothing changed in between. */
  producerHash: string | null;
  ok: boolean;
  error?: { stage: string; code: string; message: string };
  resources: ResourcePreview[];
  /** Resources the message wrote before that the current mapping no longer produces (re-processing keeps them). */
  notProducedAnymore: Array<{ resourceType: string; id: string }>;
}

/** Fields the store stamps on every version: never part of a content change. */
function comparable(resource: FhirResource): FhirResource {
  const { meta, ...rest } = resource;
  if (!meta) return rest as FhirResource;
  const { versionId: _v, lastUpdated: _l, source: _s, ...keptMeta } = meta;
  return (Object.keys(keptMeta).length > 0 ? { ...rest, meta: keptMeta } : rest) as FhirResource;
}

export interface ReprocessDeps {
  db: Db;
  inbox: InboxRepository;
  queue: ProcessQueue | undefined;
  processor: MessageProcessor;
  plugins: PluginRegistry;
}

/**
 * Re-process preview for a stored message: the FHIR diff between what is stored and what the current
 * plugin and mapping would write, computed without writing. Apply puts the message back in the queue.
 */
export class ReprocessService {
  constructor(private readonly deps: ReprocessDeps) {}

  async load(messageId: string): Promise<InboxMessage> {
    const message = await this.deps.inbox.get(messageId);
    if (!message) throw new ReprocessError(`no message ${messageId}`, 'MESSAGE_NOT_FOUND');
    return message;
  }

  async preview(message: InboxMessage): Promise<ReprocessPreview> {
    if (message.state !== 'stored') throw new ReprocessError(`message ${message.messageId} is ${message.state}: only stored messages are re-processed (dead letters are replayed)`, 'MESSAGE_NOT_STORED');
    const result = await this.deps.processor.process({
      messageId: message.messageId, ente: message.ente, pluginId: message.pluginId, raw: message.raw, receivedAt: message.receivedAt,
    });
    const base = { messageId: message.messageId, ente: message.ente, pluginId: message.pluginId, producerHash: result.plugin?.producerHash ?? null };
    const before = (message.resources ?? []).map((r) => ({ resourceType: r.resourceType, id: r.id }));
    if (!result.ok) {
      return { ...base, ok: false, error: { stage: result.error.stage, code: result.error.code, message: result.error.message }, resources: [], notProducedAnymore: [] };
    }
    const produced = result.resources.filter((r) => r.id);
    const current = await this.deps.db.query<{ resource_type: string; id: string; version_id: number; source_time: Date | null; content_hash: string; resource: FhirResource }>(
      `SELECT r.resource_type, r.id, r.version_id, r.source_time, r.content_hash, r.resource FROM resource r
       JOIN unnest($2::text[], $3::text[]) AS k(resource_type, id) ON r.resource_type = k.resource_type AND r.id = k.id
       WHERE r.ente = $1`,
      [message.ente, produced.map((r) => r.resourceType), produced.map((r) => r.id!)],
    );
    const byKey = new Map(current.rows.map((r) => [`${r.resource_type}/${r.id}`, r]));
    const resources: ResourcePreview[] = produced.map((resource) => {
      const stored = byKey.get(`${resource.resourceType}/${resource.id}`);
      if (!stored) return { resourceType: resource.resourceType, id: resource.id!, change: 'created', currentVersionId: null, diff: jsonDiff({}, comparable(resource)) };
      const diff = jsonDiff(comparable(stored.resource), comparable(resource));
      const same = stored.content_hash === contentHash(resource);
      const older = result.sourceTime && stored.source_time && result.sourceTime.getTime() < stored.source_time.getTime();
      return {
        resourceType: resource.resourceType, id: resource.id!, currentVersionId: String(stored.version_id), diff: same ? [] : diff,
        change: same ? 'unchanged' : older ? 'out-of-order' : 'updated',
      };
    });
    const producedKeys = new Set(produced.map((r) => `${r.resourceType}/${r.id}`));
    return { ...base, ok: true, resources, notProducedAnymore: before.filter((r) => !producedKeys.has(`${r.resourceType}/${r.id}`)) };
  }

  /** Re-runs a stored message through the current plugin (the worker stores new versions); audited. */
  async apply(message: InboxMessage, actor: string, expectedProducerHash?: string): Promise<{ messageId: string; enqueued: boolean }> {
    if (message.state !== 'stored') throw new ReprocessError(`message ${message.messageId} is ${message.state}, not stored`, 'MESSAGE_NOT_STORED');
    if (expectedProducerHash) {
      const current = this.deps.plugins.get(message.pluginId)?.producerHash;
      if (current !== expectedProducerHash) throw new ReprocessError(`plugin ${message.pluginId} changed since the preview (now ${current ?? 'unavailable'}): preview again`, 'PLUGIN_CHANGED');
    }
    await this.deps.db.transaction(async (tx) => {
      await this.deps.inbox.resetForReplay(tx, message.ente, message.messageId, { stage: 'reprocess-requested', at: new Date().toISOString(), ok: true, info: { by: actor } });
      await writeAudit(tx, { actor, action: 'message.reprocess', target: message.messageId, ente: message.ente, details: { producerHash: expectedProducerHash ?? null } });
    });
    const enqueued = this.deps.queue
      ? await this.deps.queue.ensureEnqueued({ ente: message.ente, messageId: message.messageId, pluginId: message.pluginId }).catch(() => false)
      : false;
    return { messageId: message.messageId, enqueued };
  }
}

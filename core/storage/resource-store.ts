import { sha256Hex } from '../common/hash.ts';
import { StoreError } from '../common/errors.ts';
import type { Db, Row, SqlExecutor } from './db.ts';
import { indexMessagePatients } from './message-patient.ts';
import { assertReferencesInEnte } from './reference-guard.ts';
import { writeSearchIndex } from './search-index.ts';
import type { FhirResource, StoreRequest, StoreResult, StoredResource, TrailEntry, WrittenResource } from './types.ts';

interface CurrentRow {
  versionId: number;
  versionSeq: number;
  sourceTime: Date | null;
  contentHash: string;
}

interface PendingCurrent extends CurrentRow {
  ente: string;
  resourceType: string;
  id: string;
  json: string;
  messageId: string;
  producerHash: string;
  lastUpdated: string;
  /** true when the row in the database (if any) must be replaced. */
  dirty: boolean;
  /** true when the version that was current in the database has been superseded in this batch. */
  dbCurrentSuperseded: boolean;
  existedInDb: boolean;
}

interface HistoryRow {
  ente: string;
  resource_type: string;
  id: string;
  version_id: number;
  last_updated: string;
  source_time: string | null;
  message_id: string;
  producer_hash: string;
  content_hash: string;
  out_of_order: boolean;
  json: string;
}

const key = (ente: string, type: string, id: string) => `${ente}\u0000${type}\u0000${id}`;

/**
 * The hash that decides whether a new version is a real change: the resource without the
 * server-managed meta fields, so a redelivered or replayed message writes no new version.
 */
export function contentHash(resource: FhirResource): string {
  const { meta, ...rest } = resource;
  const kept = meta ? { profile: meta.profile, tag: meta.tag, security: meta.security } : undefined;
  return sha256Hex(JSON.stringify(kept ? { ...rest, meta: kept } : rest));
}

/** Builds a JSON array text from rows whose `json` field is already-serialised JSON (no second stringify). */
function rowsToJson<T extends { json: string }>(rows: T[], jsonField: string): string {
  const parts = rows.map((row) => {
    const { json, ...rest } = row;
    const head = JSON.stringify(rest);
    return `${head.slice(0, -1)}${head.length > 2 ? ',' : ''}"${jsonField}":${json}}`;
  });
  return `[${parts.join(',')}]`;
}

/**
 * Writes the resources of many messages in one transaction: current versions are upserted into the
 * Ente's partition of `resource`, superseded versions go to `resource_history`, and each message's
 * inbox row becomes 'stored' with its trail and the list of resources written.
 */
export class ResourceStore {
  constructor(private readonly db: Db) {}

  async storeBatch(requests: StoreRequest[]): Promise<StoreResult[]> {
    if (requests.length === 0) return [];
    return this.db.transaction((tx) => this.storeInTransaction(tx, requests));
  }

  /**
   * The stored rows of the batch's keys, locked for the rest of the transaction. Rows the batch will
   * write are locked FOR UPDATE; rows it only reads (unchanged content, conditional creates of
   * resources that exist — the ward, the hospital every message names) FOR SHARE, so concurrent
   * batches naming the same shared resource do not queue behind one another. Which is which comes
   * from an unlocked read first; a row that changed between that read and its lock is upgraded.
   */
  private async lockCurrentRows(
    tx: SqlExecutor, requests: StoreRequest[], hashes: string[][], keys: Map<string, { ente: string; type: string; id: string }>,
  ): Promise<Map<string, CurrentRow>> {
    if (keys.size === 0) return new Map();
    const snapshot = await readCurrentRows(tx, [...keys.values()], 'none');
    const writes = new Set<string>();
    requests.forEach((request, r) => {
      request.resources.forEach((resource, position) => {
        const k = key(request.ente, resource.resourceType, resource.id as string);
        const stored = snapshot.get(k);
        if (!stored) writes.add(k);
        else if (!request.createIfAbsent?.[position] && stored.contentHash !== hashes[r]![position]) writes.add(k);
      });
    });
    const subset = (wanted: (k: string) => boolean) => [...keys.entries()].filter(([k]) => wanted(k)).map(([, v]) => v);
    const current = await readCurrentRows(tx, subset((k) => writes.has(k)), 'update');
    const shared = await readCurrentRows(tx, subset((k) => !writes.has(k)), 'share');
    const upgrade: Array<{ ente: string; type: string; id: string }> = [];
    for (const [k, row] of shared) {
      current.set(k, row);
      if (row.contentHash !== snapshot.get(k)?.contentHash) upgrade.push(keys.get(k)!);
    }
    // Rare: changed by another transaction since the unlocked read; take the write lock now.
    if (upgrade.length > 0) for (const [k, row] of await readCurrentRows(tx, upgrade, 'update')) current.set(k, row);
    return current;
  }

  private async storeInTransaction(tx: SqlExecutor, requests: StoreRequest[]): Promise<StoreResult[]> {
    await assertReferencesInEnte(tx, requests);
    const now = new Date().toISOString();
    const keys = new Map<string, { ente: string; type: string; id: string }>();
    for (const request of requests) {
      for (const resource of request.resources) {
        if (!resource.id) throw new StoreError(`a ${resource.resourceType} has no id`, { code: 'STORE_MISSING_ID', kind: 'permanent' });
        keys.set(key(request.ente, resource.resourceType, resource.id), { ente: request.ente, type: resource.resourceType, id: resource.id });
      }
    }
    const hashes = requests.map((request) => request.resources.map((resource) => contentHash(resource)));
    const current = await this.lockCurrentRows(tx, requests, hashes, keys);
    const pending = new Map<string, PendingCurrent>();
    const history: HistoryRow[] = [];
    const results: StoreResult[] = [];

    for (const [r, request] of requests.entries()) {
      const written: WrittenResource[] = [];
      for (const [position, resource] of request.resources.entries()) {
        const id = resource.id as string;
        const k = key(request.ente, resource.resourceType, id);
        const hash = hashes[r]![position]!;
        let state = pending.get(k);
        if (!state) {
          const db = current.get(k);
          state = {
            ente: request.ente, resourceType: resource.resourceType, id,
            versionId: db?.versionId ?? 0, versionSeq: db?.versionSeq ?? 0, sourceTime: db?.sourceTime ?? null,
            contentHash: db?.contentHash ?? '', json: '', messageId: '', producerHash: '', lastUpdated: '',
            dirty: false, dbCurrentSuperseded: false, existedInDb: db !== undefined,
          };
          pending.set(k, state);
        }
        const exists = state.versionId > 0;
        if (exists && request.createIfAbsent?.[position]) {
          // Conditional create: another source owns this resource's content.
          written.push({ resourceType: resource.resourceType, id, versionId: String(state.versionId), outcome: 'kept' });
          continue;
        }
        if (exists && state.contentHash === hash) {
          written.push({ resourceType: resource.resourceType, id, versionId: String(state.versionId), outcome: 'unchanged' });
          continue;
        }
        const version = state.versionSeq + 1;
        const stamped = this.stamp(resource, version, now, request.messageId);
        const json = JSON.stringify(stamped);
        if (exists && request.sourceTime && state.sourceTime && request.sourceTime.getTime() < state.sourceTime.getTime()) {
          // Older than what we hold: keep it as history, never overwrite newer data.
          history.push({
            ente: request.ente, resource_type: resource.resourceType, id, version_id: version, last_updated: now,
            source_time: request.sourceTime.toISOString(), message_id: request.messageId, producer_hash: request.producerHash,
            content_hash: hash, out_of_order: true, json,
          });
          state.versionSeq = version;
          state.dirty = true;
          written.push({ resourceType: resource.resourceType, id, versionId: String(version), outcome: 'out-of-order' });
          continue;
        }
        if (exists) {
          if (state.json) {
            // Superseded within this batch: its row never reached the table, so write it to history directly.
            history.push({
              ente: state.ente, resource_type: state.resourceType, id, version_id: state.versionId, last_updated: state.lastUpdated,
              source_time: state.sourceTime ? state.sourceTime.toISOString() : null, message_id: state.messageId,
              producer_hash: state.producerHash, content_hash: state.contentHash, out_of_order: false, json: state.json,
            });
          } else if (state.existedInDb) {
            state.dbCurrentSuperseded = true;
          }
        }
        Object.assign(state, {
          versionId: version, versionSeq: version, sourceTime: request.sourceTime, contentHash: hash, json,
          messageId: request.messageId, producerHash: request.producerHash, lastUpdated: now, dirty: true,
        });
        written.push({ resourceType: resource.resourceType, id, versionId: String(version), outcome: exists ? 'updated' : 'created' });
      }
      results.push({ messageId: request.messageId, resources: written });
    }

    const superseded = [...pending.values()].filter((p) => p.dbCurrentSuperseded);
    if (superseded.length > 0) {
      await tx.query(
        `INSERT INTO resource_history (ente, resource_type, id, version_id, last_updated, source_time, message_id, producer_hash, content_hash, resource)
         SELECT r.ente, r.resource_type, r.id, r.version_id, r.last_updated, r.source_time, r.message_id, r.producer_hash, r.content_hash, r.resource
         FROM resource r JOIN unnest($1::text[], $2::text[], $3::text[]) AS k(ente, resource_type, id)
           ON r.ente = k.ente AND r.resource_type = k.resource_type AND r.id = k.id
         -- the same keys as = ANY() lists steer the planner to the primary key index (see readCurrentRows)
         WHERE r.ente = ANY($1::text[]) AND r.resource_type = ANY($2::text[]) AND r.id = ANY($3::text[])`,
        [superseded.map((p) => p.ente), superseded.map((p) => p.resourceType), superseded.map((p) => p.id)],
      );
    }
    if (history.length > 0) {
      await tx.query(
        `INSERT INTO resource_history (ente, resource_type, id, version_id, last_updated, source_time, message_id, producer_hash, content_hash, out_of_order, resource)
         SELECT ente, resource_type, id, version_id, last_updated, source_time, message_id, producer_hash, content_hash, out_of_order, resource
         FROM json_to_recordset($1::json) AS x(ente text, resource_type text, id text, version_id int, last_updated timestamptz,
           source_time timestamptz, message_id uuid, producer_hash text, content_hash text, out_of_order boolean, resource jsonb)`,
        [rowsToJson(history, 'resource')],
      );
    }
    const upserts = [...pending.values()].filter((p) => p.dirty && p.json);
    if (upserts.length > 0) {
      const rows = (list: PendingCurrent[]) => rowsToJson(list.map((p) => ({
        ente: p.ente, resource_type: p.resourceType, id: p.id, version_id: p.versionId, version_seq: p.versionSeq,
        last_updated: p.lastUpdated, source_time: p.sourceTime ? p.sourceTime.toISOString() : null, message_id: p.messageId,
        producer_hash: p.producerHash, content_hash: p.contentHash, json: p.json,
      })), 'resource');
      // No ON CONFLICT ... DO UPDATE: it needs a unique index on the parent table, which a foreign-table
      // (postgres_fdw) partition forbids (migration 010). Rows locked above are updated; new rows are
      // inserted, and one that a concurrent transaction created first makes this batch retry.
      const existing = upserts.filter((p) => p.existedInDb);
      const created = upserts.filter((p) => !p.existedInDb);
      if (existing.length > 0) {
        await tx.query(
          `UPDATE resource r SET
             version_id = x.version_id, version_seq = x.version_seq, last_updated = x.last_updated, source_time = x.source_time,
             message_id = x.message_id, producer_hash = x.producer_hash, content_hash = x.content_hash, resource = x.resource
           FROM json_to_recordset($1::json) AS x(ente text, resource_type text, id text, version_id int, version_seq int, last_updated timestamptz,
             source_time timestamptz, message_id uuid, producer_hash text, content_hash text, resource jsonb)
           WHERE r.ente = x.ente AND r.resource_type = x.resource_type AND r.id = x.id`,
          [rows(existing)],
        );
      }
      if (created.length > 0) {
        const inserted = await tx.query(
          `INSERT INTO resource (ente, resource_type, id, version_id, version_seq, last_updated, source_time, message_id, producer_hash, content_hash, resource)
           SELECT ente, resource_type, id, version_id, version_seq, last_updated, source_time, message_id, producer_hash, content_hash, resource
           FROM json_to_recordset($1::json) AS x(ente text, resource_type text, id text, version_id int, version_seq int, last_updated timestamptz,
             source_time timestamptz, message_id uuid, producer_hash text, content_hash text, resource jsonb)
           ON CONFLICT DO NOTHING
           RETURNING id`,
          [rows(created)],
        );
        if (inserted.rows.length !== created.length) {
          throw new StoreError('another transaction created one of these resources at the same time; retrying', { code: 'STORE_CONFLICT', kind: 'transient' });
        }
      }
      await writeSearchIndex(tx, upserts.map((p) => ({
        ente: p.ente, resourceType: p.resourceType, id: p.id, resource: JSON.parse(p.json) as FhirResource, existed: p.existedInDb,
      })));
    }
    // Out-of-order arrivals only advance the version counter of the current row.
    const seqOnly = [...pending.values()].filter((p) => p.dirty && !p.json);
    if (seqOnly.length > 0) {
      await tx.query(
        `UPDATE resource r SET version_seq = k.seq
         FROM unnest($1::text[], $2::text[], $3::text[], $4::int[]) AS k(ente, resource_type, id, seq)
         WHERE r.ente = k.ente AND r.resource_type = k.resource_type AND r.id = k.id`,
        [seqOnly.map((p) => p.ente), seqOnly.map((p) => p.resourceType), seqOnly.map((p) => p.id), seqOnly.map((p) => p.versionSeq)],
      );
    }

    const inboxRows = requests.map((request, i) => {
      const resources = results[i]!.resources;
      const outOfOrder = resources.filter((r) => r.outcome === 'out-of-order');
      const entry: TrailEntry = {
        stage: 'stored', at: now, ok: true,
        info: { created: resources.filter((r) => r.outcome === 'created').length, updated: resources.filter((r) => r.outcome === 'updated').length,
          unchanged: resources.filter((r) => r.outcome === 'unchanged').length, outOfOrder: outOfOrder.length },
        ...(outOfOrder.length > 0
          ? { warnings: outOfOrder.map((r) => `${r.resourceType}/${r.id}: the message is older than the stored version, kept in history as version ${r.versionId}`) }
          : {}),
      };
      return { ente: request.ente, message_id: request.messageId, attempts: request.attempts, trail: [...request.trail, entry], resources };
    });
    await tx.query(
      `UPDATE inbox i SET state = 'stored', trail = i.trail || x.trail, resources = x.resources, attempts = x.attempts, updated_at = now()
       FROM json_to_recordset($1::json) AS x(ente text, message_id uuid, attempts int, trail jsonb, resources jsonb)
       WHERE i.ente = x.ente AND i.message_id = x.message_id`,
      [JSON.stringify(inboxRows)],
    );
    await indexMessagePatients(tx, requests);
    return results;
  }

  private stamp(resource: FhirResource, version: number, lastUpdated: string, messageId: string): FhirResource {
    return { ...resource, meta: { ...(resource.meta ?? {}), versionId: String(version), lastUpdated, source: `urn:uuid:${messageId}` } };
  }

  async read(ente: string, resourceType: string, id: string): Promise<StoredResource | undefined> {
    const result = await this.db.query(
      `SELECT ente, resource_type, id, version_id, last_updated, message_id, producer_hash, resource FROM resource
       WHERE ente = $1 AND resource_type = $2 AND id = $3`,
      [ente, resourceType, id],
    );
    const row = result.rows[0];
    return row ? toStored(row) : undefined;
  }

  async history(ente: string, resourceType: string, id: string): Promise<StoredResource[]> {
    const result = await this.db.query(
      `SELECT ente, resource_type, id, version_id, last_updated, message_id, producer_hash, resource FROM resource_history
       WHERE ente = $1 AND resource_type = $2 AND id = $3 ORDER BY version_id DESC`,
      [ente, resourceType, id],
    );
    return result.rows.map(toStored);
  }
}

function toStored(row: Row): StoredResource {
  return {
    ente: row.ente as string,
    resourceType: row.resource_type as string,
    id: row.id as string,
    versionId: Number(row.version_id),
    lastUpdated: row.last_updated as Date,
    messageId: (row.message_id as string | null) ?? null,
    producerHash: (row.producer_hash as string | null) ?? null,
    resource: row.resource as FhirResource,
  };
}

/** Current rows of these keys, in the order given, optionally locked. */
async function readCurrentRows(
  tx: SqlExecutor, keys: Array<{ ente: string; type: string; id: string }>, lock: 'none' | 'share' | 'update',
): Promise<Map<string, CurrentRow>> {
  const rows = new Map<string, CurrentRow>();
  if (keys.length === 0) return rows;
  // Three = ANY() lists rather than a join on unnest(): the planner then always takes the primary key
  // index, even before the partition has statistics (a join once chose the type index and scanned
  // every row of the type). The ORDER BY fixes the order locks are taken in, the same in every batch.
  // The lists can match a few combinations the batch did not ask for; those rows are dropped below.
  const result = await tx.query(
    `SELECT r.ente, r.resource_type, r.id, r.version_id, r.version_seq, r.source_time, r.content_hash
     FROM resource r
     WHERE r.ente = ANY($1::text[]) AND r.resource_type = ANY($2::text[]) AND r.id = ANY($3::text[])
     ORDER BY r.ente, r.resource_type, r.id${lock === 'update' ? ' FOR UPDATE OF r' : lock === 'share' ? ' FOR SHARE OF r' : ''}`,
    [[...new Set(keys.map((k) => k.ente))], [...new Set(keys.map((k) => k.type))], [...new Set(keys.map((k) => k.id))]],
  );
  const wanted = new Set(keys.map((k) => key(k.ente, k.type, k.id)));
  for (const row of result.rows as Row[]) {
    const k = key(row.ente as string, row.resource_type as string, row.id as string);
    if (!wanted.has(k)) continue;
    rows.set(k, {
      versionId: Number(row.version_id),
      versionSeq: Number(row.version_seq),
      sourceTime: (row.source_time as Date | null) ?? null,
      contentHash: row.content_hash as string,
    });
  }
  return rows;
}

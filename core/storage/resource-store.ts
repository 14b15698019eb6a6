import { sha256Hex } from '../common/hash.ts';
import { StoreError } from '../common/errors.ts';
import { prepared, type Db, type Row, type SqlExecutor } from './db.ts';
import { messagePatientRows } from './message-patient.ts';
import { finishReferenceCheck, planReferenceCheck, type ReferenceTarget } from './reference-guard.ts';
import { searchIndexInserts, searchIndexRows, type IndexedResource } from './search-index.ts';
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
  /** The resource whose JSON is `json` (the search index reads it). */
  resource: FhirResource | undefined;
  messageId: string;
  producerHash: string;
  lastUpdated: string;
  /** The stored row's version counter when it was read: the write is guarded by it. */
  expectedSeq: number;
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

interface BatchKey {
  ente: string;
  type: string;
  id: string;
}

const key = (ente: string, type: string, id: string) => `${ente}\u0000${type}\u0000${id}`;
const distinct = (values: string[]) => [...new Set(values)];
const compareKeys = (a: { ente: string; resourceType: string; id: string }, b: { ente: string; resourceType: string; id: string }) =>
  a.ente < b.ente ? -1 : a.ente > b.ente ? 1 : a.resourceType < b.resourceType ? -1 : a.resourceType > b.resourceType ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
/** Reads and writes of a batch that met a concurrent writer, before the conflict goes to the queue's retry. */
const CONFLICT_RETRIES = 8;

function toCurrentRow(row: Row): CurrentRow {
  return {
    versionId: Number(row.version_id),
    versionSeq: Number(row.version_seq),
    sourceTime: (row.source_time as Date | null) ?? null,
    contentHash: row.content_hash as string,
  };
}

const CURRENT_COLUMNS = 'r.ente, r.resource_type, r.id, r.version_id, r.version_seq, r.source_time, r.content_hash';

/*
 * Keys are joined from unnest() arrays: one primary-key probe per key, with the row count known to
 * the planner (custom plans, see PostgresDb). Three = ANY() lists were tried and scan badly: the
 * index is descended once per combination of the lists (1 Ente × 5 types × 850 ids for a batch of
 * ORU), so the planner fell back to sequential scans of the partition. `r.ente = ANY(Enti)` prunes
 * partitions. $1-$3: every key to read (the batch's and its reference targets') · $4: the Enti.
 */
const READ_BATCH_ROWS = prepared('cdr_store_read', `
  SELECT ${CURRENT_COLUMNS}
  FROM unnest($1::text[], $2::text[], $3::text[]) AS k(ente, resource_type, id)
  JOIN resource r ON r.ente = k.ente AND r.resource_type = k.resource_type AND r.id = k.id
  WHERE r.ente = ANY($4::text[])`);

const RESOURCE_RECORD = `ente text, resource_type text, id text, version_id int, version_seq int, last_updated timestamptz,
      source_time timestamptz, message_id uuid, producer_hash text, content_hash text, resource jsonb, expected_seq int`;
const SEARCH_INSERTS = searchIndexInserts(12, 13, 14);
const searchDelete = (table: string) => `DELETE FROM ${table} t USING unnest($9::text[], $10::text[], $11::text[]) AS k(ente, resource_type, id)
    WHERE t.ente = ANY($1::text[]) AND t.ente = k.ente AND t.resource_type = k.resource_type AND t.id = k.id
    RETURNING 1`;

/*
 * All of a batch's writes. Data-modifying CTEs all run, to completion, on one snapshot: the copy of
 * superseded rows to history reads them as they were before the update in the same statement, and
 * the search-index deletes do not see the rows inserted beside them. No two CTEs touch the same row.
 * Where order matters the later CTE reads the earlier one's count, which runs the earlier one first:
 * a postgres_fdw partition has no shared snapshot (its remote statements see each other's writes).
 * $1: the batch's Enti (partition pruning) · $2-$4: keys whose stored row is superseded · $5: history
 * rows · $6: rows to update · $7: rows to insert · $8: version counters to advance · $9-$11: keys whose
 * index rows are replaced · $12-$14: index rows · $15: inbox rows · $16: message–patient rows ·
 * $17-$19: the keys of the rows to update · $20: the batch's message ids · $21-$23: the rows the batch
 * must insert, update and re-sequence · $24-$26: the keys of the rows to re-sequence. Updates carry the
 * version counter read before (expected_seq): the statement is its own transaction, and these guards
 * replace row locks (see storeBatch).
 * Stored rows are reached through unnest() keys: a generic plan estimates 10 of them, and key lookups
 * win; json_to_recordset's fixed estimate of 100 rows made a hash join over a sequential scan of the
 * partition look cheaper. The plan is reused (planning this statement cost as much as running it).
 */
const WRITE_BATCH = prepared('cdr_store_write', `
  WITH superseded AS (
    INSERT INTO resource_history (ente, resource_type, id, version_id, last_updated, source_time, message_id, producer_hash, content_hash, resource)
    SELECT r.ente, r.resource_type, r.id, r.version_id, r.last_updated, r.source_time, r.message_id, r.producer_hash, r.content_hash, r.resource
    FROM unnest($2::text[], $3::text[], $4::text[]) AS k(ente, resource_type, id)
    JOIN resource r ON r.ente = k.ente AND r.resource_type = k.resource_type AND r.id = k.id
    WHERE r.ente = ANY($1::text[])
    -- A row already there means another writer superseded the same version first: its update guard
    -- below then fails the whole statement. The same for the history rows the batch brings.
    ON CONFLICT DO NOTHING
    RETURNING 1
  ), history AS (
    INSERT INTO resource_history (ente, resource_type, id, version_id, last_updated, source_time, message_id, producer_hash, content_hash, out_of_order, resource)
    SELECT ente, resource_type, id, version_id, last_updated, source_time, message_id, producer_hash, content_hash, out_of_order, resource
    FROM jsonb_to_recordset($5::jsonb) AS x(ente text, resource_type text, id text, version_id int, last_updated timestamptz,
      source_time timestamptz, message_id uuid, producer_hash text, content_hash text, out_of_order boolean, resource jsonb)
    ON CONFLICT DO NOTHING
  ), updated AS (
    UPDATE resource r SET
      version_id = x.version_id, version_seq = x.version_seq, last_updated = x.last_updated, source_time = x.source_time,
      message_id = x.message_id, producer_hash = x.producer_hash, content_hash = x.content_hash, resource = x.resource
    FROM unnest($17::text[], $18::text[], $19::text[]) AS k(ente, resource_type, id)
    JOIN jsonb_to_recordset($6::jsonb) AS x(${RESOURCE_RECORD}) ON x.ente = k.ente AND x.resource_type = k.resource_type AND x.id = k.id
    WHERE r.ente = ANY($1::text[]) AND r.ente = k.ente AND r.resource_type = k.resource_type AND r.id = k.id
      AND r.version_seq = x.expected_seq
      AND (SELECT count(*) FROM superseded) >= 0
    RETURNING 1
  ), inserted AS (
    INSERT INTO resource (ente, resource_type, id, version_id, version_seq, last_updated, source_time, message_id, producer_hash, content_hash, resource)
    SELECT ente, resource_type, id, version_id, version_seq, last_updated, source_time, message_id, producer_hash, content_hash, resource
    FROM jsonb_to_recordset($7::jsonb) AS x(${RESOURCE_RECORD})
    -- No ON CONFLICT: its arbiter check descended the primary key a second time for every new row
    -- (~5 % of PostgreSQL's CPU in an ORU run, perf). A row another writer created first raises
    -- unique_violation, which fails the whole statement like the guards below (STORE_CONFLICT).
    RETURNING 1
  ), sequenced AS (
    UPDATE resource r SET version_seq = x.seq
    FROM unnest($24::text[], $25::text[], $26::text[]) AS k(ente, resource_type, id)
    JOIN json_to_recordset($8::json) AS x(ente text, resource_type text, id text, seq int, expected_seq int)
      ON x.ente = k.ente AND x.resource_type = k.resource_type AND x.id = k.id
    WHERE r.ente = ANY($1::text[]) AND r.ente = k.ente AND r.resource_type = k.resource_type AND r.id = k.id
      AND r.version_seq = x.expected_seq
    RETURNING 1
  ),
  token_deleted AS (${searchDelete('search_token')}),
  reference_deleted AS (${searchDelete('search_reference')}),
  date_deleted AS (${searchDelete('search_date')}),
  token_inserted AS (${SEARCH_INSERTS.token} WHERE (SELECT count(*) FROM token_deleted) >= 0),
  reference_inserted AS (${SEARCH_INSERTS.reference} WHERE (SELECT count(*) FROM reference_deleted) >= 0),
  date_inserted AS (${SEARCH_INSERTS.date} WHERE (SELECT count(*) FROM date_deleted) >= 0),
  inbox_stored AS (
    UPDATE inbox i SET state = 'stored', trail = i.trail || x.trail, resources = x.resources, attempts = x.attempts, updated_at = now()
    FROM jsonb_to_recordset($15::jsonb) AS x(ente text, message_id uuid, attempts int, trail jsonb, resources jsonb)
    WHERE i.ente = ANY($1::text[]) AND i.message_id = ANY($20::uuid[]) AND i.ente = x.ente AND i.message_id = x.message_id
  ), patients AS (
    INSERT INTO message_patient (system, value, ente, message_id)
    SELECT system, value, ente, message_id FROM json_to_recordset($16::json) AS x(system text, value text, ente text, message_id uuid)
    ON CONFLICT DO NOTHING
  )
  -- A row changed or created by another writer since the read: fail the whole statement (division by
  -- zero, SQLSTATE 22012), so nothing of it is written, and the batch is read and written again.
  SELECT 1 / (CASE WHEN (SELECT count(*) FROM inserted) = $21 AND (SELECT count(*) FROM updated) = $22
                     AND (SELECT count(*) FROM sequenced) = $23 THEN 1 ELSE 0 END) AS ok`);

/** A resource serialised once: its JSON without `meta`, and the hash of its content. */
interface Serialised {
  body: string;
  hash: string;
}

/** `{...}` + `,"name":value` before the closing brace (the object text is never empty: it has resourceType). */
const appendMember = (objectJson: string, name: string, valueJson: string) =>
  `${objectJson.slice(0, -1)}${objectJson.length > 2 ? ',' : ''}"${name}":${valueJson}}`;

/**
 * The one JSON.stringify a resource gets on its way to the table: the hash input and the stored
 * JSON both start from the resource without `meta`. The hash covers the content plus the meta a
 * mapping sets (profile, tag, security), so a redelivered or replayed message writes no new version.
 */
function serialise(resource: FhirResource): Serialised {
  const { meta, ...rest } = resource;
  const body = JSON.stringify(rest);
  // Same text as JSON.stringify({ ...rest, meta: kept }): hashes of stored rows stay valid.
  const input = meta ? appendMember(body, 'meta', JSON.stringify({ profile: meta.profile, tag: meta.tag, security: meta.security })) : body;
  return { body, hash: sha256Hex(input) };
}

/**
 * The hash that decides whether a new version is a real change: the resource without the
 * server-managed meta fields, so a redelivered or replayed message writes no new version.
 */
export function contentHash(resource: FhirResource): string {
  return serialise(resource).hash;
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

  /**
   * Optimistic: one snapshot read, then one write statement that is its own transaction and fails as
   * a whole if a row it replaces changed, or a row it creates appeared, since the read (version guards,
   * see WRITE_BATCH). Rows the batch only reads (unchanged content, conditional creates of resources
   * that exist — the ward, the hospital every message names) take no lock at all: such a batch writes
   * nothing there, as if it had run before any concurrent change. No BEGIN/COMMIT round trips, and no
   * batch ever waits on another's locks. A conflict is read and written again, a few times, here.
   */
  async storeBatch(requests: StoreRequest[]): Promise<StoreResult[]> {
    if (requests.length === 0) return [];
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.storeOnce(this.db, requests);
      } catch (error) {
        if (!(error instanceof StoreError && error.code === 'STORE_CONFLICT') || attempt >= CONFLICT_RETRIES) throw error;
        // A short random pause, growing with each attempt, so that the writers that lost do not meet again.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 2 * attempt));
      }
    }
  }

  /** The stored rows of the batch's keys and of the reference targets it must check, in one round trip. */
  private async readBatchRows(
    db: SqlExecutor, keys: Map<string, BatchKey>, targets: ReferenceTarget[],
  ): Promise<{ current: Map<string, CurrentRow>; stored: Set<string> }> {
    const read = [...keys.values(), ...targets.map((t) => ({ ente: t.ente, type: t.type, id: t.id }))];
    const result = await db.query(READ_BATCH_ROWS, [
      read.map((k) => k.ente), read.map((k) => k.type), read.map((k) => k.id), distinct(read.map((k) => k.ente)),
    ]);
    const current = new Map<string, CurrentRow>();
    const stored = new Set<string>();
    for (const row of result.rows) {
      const k = key(row.ente as string, row.resource_type as string, row.id as string);
      stored.add(k);
      if (keys.has(k)) current.set(k, toCurrentRow(row));
    }
    return { current, stored };
  }

  private async storeOnce(tx: SqlExecutor, requests: StoreRequest[]): Promise<StoreResult[]> {
    const now = new Date().toISOString();
    const keys = new Map<string, BatchKey>();
    for (const request of requests) {
      for (const resource of request.resources) {
        if (!resource.id) throw new StoreError(`a ${resource.resourceType} has no id`, { code: 'STORE_MISSING_ID', kind: 'permanent' });
        keys.set(key(request.ente, resource.resourceType, resource.id), { ente: request.ente, type: resource.resourceType, id: resource.id });
      }
    }
    const serialised = requests.map((request) => request.resources.map(serialise));
    const references = planReferenceCheck(requests);
    const { current, stored } = await this.readBatchRows(tx, keys, references.targets);
    await finishReferenceCheck(tx, references, (t) => stored.has(key(t.ente, t.type, t.id)));
    const pending = new Map<string, PendingCurrent>();
    const history: HistoryRow[] = [];
    const results: StoreResult[] = [];

    for (const [r, request] of requests.entries()) {
      const written: WrittenResource[] = [];
      for (const [position, resource] of request.resources.entries()) {
        const id = resource.id as string;
        const k = key(request.ente, resource.resourceType, id);
        const { body, hash } = serialised[r]![position]!;
        let state = pending.get(k);
        if (!state) {
          const db = current.get(k);
          state = {
            ente: request.ente, resourceType: resource.resourceType, id,
            versionId: db?.versionId ?? 0, versionSeq: db?.versionSeq ?? 0, sourceTime: db?.sourceTime ?? null,
            contentHash: db?.contentHash ?? '', json: '', resource: undefined, messageId: '', producerHash: '', lastUpdated: '',
            expectedSeq: db?.versionSeq ?? 0, dirty: false, dbCurrentSuperseded: false, existedInDb: db !== undefined,
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
        const json = appendMember(body, 'meta', JSON.stringify({
          ...(resource.meta ?? {}), versionId: String(version), lastUpdated: now, source: `urn:uuid:${request.messageId}`,
        }));
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
          versionId: version, versionSeq: version, sourceTime: request.sourceTime, contentHash: hash, json, resource,
          messageId: request.messageId, producerHash: request.producerHash, lastUpdated: now, dirty: true,
        });
        written.push({ resourceType: resource.resourceType, id, versionId: String(version), outcome: exists ? 'updated' : 'created' });
      }
      results.push({ messageId: request.messageId, resources: written });
    }

    await this.writeBatch(tx, requests, results, [...pending.values()], history, now);
    return results;
  }

  /**
   * Every write of the batch in one statement (data-modifying CTEs, all reading the same snapshot):
   * superseded versions to history, current rows updated or inserted, the search index replaced, the
   * inbox rows marked stored, the message–patient index. One round trip instead of a dozen.
   */
  private async writeBatch(
    tx: SqlExecutor, requests: StoreRequest[], results: StoreResult[], pending: PendingCurrent[], history: HistoryRow[], now: string,
  ): Promise<void> {
    const superseded = pending.filter((p) => p.dbCurrentSuperseded);
    const upserts = pending.filter((p) => p.dirty && p.json);
    const rows = (list: PendingCurrent[]) => rowsToJson(list.map((p) => ({
      ente: p.ente, resource_type: p.resourceType, id: p.id, version_id: p.versionId, version_seq: p.versionSeq,
      last_updated: p.lastUpdated, source_time: p.sourceTime ? p.sourceTime.toISOString() : null, message_id: p.messageId,
      producer_hash: p.producerHash, content_hash: p.contentHash, expected_seq: p.expectedSeq, json: p.json,
    })), 'resource');
    // No ON CONFLICT ... DO UPDATE: it needs a unique index on the parent table, which a foreign-table
    // (postgres_fdw) partition forbids (migration 010). Rows read above are updated (guarded by their
    // version counter); new rows are inserted, and one that another writer created first fails the write.
    // In key order: concurrent batches then take their row locks in the same order (no deadlock).
    const existing = upserts.filter((p) => p.existedInDb).sort((a, b) => compareKeys(a, b));
    const created = upserts.filter((p) => !p.existedInDb);
    // Out-of-order arrivals only advance the version counter of the current row.
    const sequenced = pending.filter((p) => p.dirty && !p.json);
    const indexed: IndexedResource[] = upserts.map((p) => ({ ente: p.ente, resourceType: p.resourceType, id: p.id, resource: p.resource!, existed: p.existedInDb }));
    const search = searchIndexRows(indexed);
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
    await tx.query(WRITE_BATCH, [
      distinct(requests.map((r) => r.ente)),
      superseded.map((p) => p.ente), superseded.map((p) => p.resourceType), superseded.map((p) => p.id),
      rowsToJson(history, 'resource'),
      existing.length > 0 ? rows(existing) : '[]',
      created.length > 0 ? rows(created) : '[]',
      JSON.stringify(sequenced.map((p) => ({ ente: p.ente, resource_type: p.resourceType, id: p.id, seq: p.versionSeq, expected_seq: p.expectedSeq }))),
      ...(() => {
        const replaced = indexed.filter((r) => r.existed);
        return [replaced.map((r) => r.ente), replaced.map((r) => r.resourceType), replaced.map((r) => r.id)];
      })(),
      search.tokens, search.references, search.dates,
      JSON.stringify(inboxRows),
      JSON.stringify(messagePatientRows(requests)),
      existing.map((p) => p.ente), existing.map((p) => p.resourceType), existing.map((p) => p.id),
      requests.map((r) => r.messageId),
      created.length, existing.length, sequenced.length,
      sequenced.map((p) => p.ente), sequenced.map((p) => p.resourceType), sequenced.map((p) => p.id),
    ]).catch((error: unknown) => {
      // 22012: a version guard failed; 23505: a new row's key was taken (search and history rows have no unique key).
      const sqlState = error instanceof StoreError ? (error.cause as { code?: string } | undefined)?.code : undefined;
      if (sqlState === '22012' || sqlState === '23505') {
        throw new StoreError('another writer changed or created one of these resources since they were read; retrying', { code: 'STORE_CONFLICT', kind: 'transient', cause: error });
      }
      throw error;
    });
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

import { sha256Hex } from '../common/hash.ts';
import { prepared, toBuffer, type Db, type PreparedSql, type Row, type SqlExecutor } from './db.ts';
import type { Channel, InboxAcceptResult, InboxMessage, MessageState, NewInboxMessage, TrailEntry, WrittenResource } from './types.ts';

const INBOX_COLUMNS = `ente, message_id, plugin_id, channel, received_at, raw, raw_sha256, content_type, dedup_key,
  message_type, control_id, source_time, state, trail, resources, attempts`;

function rowToMessage(row: Row): InboxMessage {
  return {
    ente: row.ente as string,
    messageId: row.message_id as string,
    pluginId: row.plugin_id as string,
    channel: row.channel as Channel,
    receivedAt: row.received_at as Date,
    raw: toBuffer(row.raw),
    rawSha256: row.raw_sha256 as string,
    contentType: (row.content_type as string | null) ?? null,
    dedupKey: (row.dedup_key as string | null) ?? null,
    messageType: (row.message_type as string | null) ?? null,
    controlId: (row.control_id as string | null) ?? null,
    sourceTime: (row.source_time as Date | null) ?? null,
    state: row.state as MessageState,
    trail: (row.trail as TrailEntry[] | null) ?? [],
    resources: (row.resources as WrittenResource[] | null) ?? null,
    attempts: Number(row.attempts ?? 0),
  };
}

// = ANY() lists, not a join on unnest(): the plan is cached, and must use the index at any table size.
const GET_MANY = prepared('cdr_inbox_get_many', `SELECT ${INBOX_COLUMNS} FROM inbox
       WHERE ente = ANY($1::text[]) AND message_id = ANY($2::uuid[])`);

// The insert of n messages, prepared once per size and connection: under load the same few batch
// sizes recur, and the statement is then not parsed again each time.
const acceptStatements = new Map<number, PreparedSql>();
function acceptStatement(n: number, tuples: string[]): PreparedSql {
  let statement = acceptStatements.get(n);
  if (!statement) {
    statement = prepared(`cdr_inbox_accept_${n}`, `INSERT INTO inbox (ente, message_id, plugin_id, channel, raw, raw_sha256, content_type, dedup_key, message_type, control_id, source_time, trail)
       VALUES ${tuples.join(', ')}
       ON CONFLICT (ente, plugin_id, dedup_key) DO NOTHING
       RETURNING message_id`);
    acceptStatements.set(n, statement);
  }
  return statement;
}

/** The durable inbox: raw bytes in, state and trail out. */
export class InboxRepository {
  constructor(private readonly db: Db) {}

  /**
   * Inserts a batch of received messages in one statement (one commit for the whole batch).
   * A message whose dedup key is already present is not inserted again: the existing id is returned.
   */
  async acceptBatch(messages: NewInboxMessage[], executor: SqlExecutor = this.db): Promise<InboxAcceptResult[]> {
    if (messages.length === 0) return [];
    const params: unknown[] = [];
    const tuples: string[] = [];
    for (const m of messages) {
      const base = params.length;
      const trail: TrailEntry[] = [{ stage: 'received', at: new Date().toISOString(), ok: true, info: { channel: m.channel, bytes: m.raw.length } }];
      params.push(
        m.ente, m.messageId, m.pluginId, m.channel, m.raw, m.rawSha256 ?? sha256Hex(m.raw), m.contentType ?? null,
        m.dedupKey ?? null, m.messageType ?? null, m.controlId ?? null, m.sourceTime ?? null, JSON.stringify(trail),
      );
      const p = (i: number) => `$${base + i}`;
      tuples.push(`(${p(1)}, ${p(2)}::uuid, ${p(3)}, ${p(4)}, ${p(5)}, ${p(6)}, ${p(7)}, ${p(8)}, ${p(9)}, ${p(10)}, ${p(11)}::timestamptz, ${p(12)}::jsonb)`);
    }
    const inserted = await executor.query<{ message_id: string }>(acceptStatement(messages.length, tuples), params as never);
    const insertedIds = new Set(inserted.rows.map((r) => r.message_id));
    const missing = messages.filter((m) => !insertedIds.has(m.messageId));
    const existing = new Map<string, string>();
    if (missing.length > 0) {
      const found = await executor.query<{ ente: string; plugin_id: string; dedup_key: string; message_id: string }>(
        `SELECT ente, plugin_id, dedup_key, message_id FROM inbox
         WHERE (ente, plugin_id, dedup_key) IN (SELECT * FROM unnest($1::text[], $2::text[], $3::text[]))`,
        [missing.map((m) => m.ente), missing.map((m) => m.pluginId), missing.map((m) => m.dedupKey ?? '')],
      );
      for (const row of found.rows) existing.set(`${row.ente}\u0000${row.plugin_id}\u0000${row.dedup_key}`, row.message_id);
    }
    return messages.map((m) => {
      if (insertedIds.has(m.messageId)) return { messageId: m.messageId, duplicate: false };
      const original = existing.get(`${m.ente}\u0000${m.pluginId}\u0000${m.dedupKey ?? ''}`);
      if (!original) throw new Error(`inbox insert of ${m.messageId} neither inserted nor matched an existing message`);
      return { messageId: original, duplicate: true };
    });
  }

  async get(messageId: string): Promise<InboxMessage | undefined> {
    const result = await this.db.query(`SELECT ${INBOX_COLUMNS} FROM inbox WHERE message_id = $1::uuid`, [messageId]);
    return result.rows[0] ? rowToMessage(result.rows[0]) : undefined;
  }

  /** Loads several messages in one round trip (the worker batches its loads). */
  async getMany(keys: Array<{ ente: string; messageId: string }>): Promise<InboxMessage[]> {
    if (keys.length === 0) return [];
    const result = await this.db.query(
      GET_MANY,
      [[...new Set(keys.map((k) => k.ente))], keys.map((k) => k.messageId)],
    );
    const wanted = new Set(keys.map((k) => `${k.ente}\u0000${k.messageId}`));
    return result.rows.map(rowToMessage).filter((m) => wanted.has(`${m.ente}\u0000${m.messageId}`));
  }

  /**
   * Messages accepted more than `olderThanMs` ago that are neither stored nor dead-lettered:
   * the reconciler re-enqueues them (their job may have been lost with Redis).
   */
  async listUnfinished(olderThanMs: number, limit: number): Promise<Array<{ ente: string; messageId: string; pluginId: string }>> {
    const result = await this.db.query<{ ente: string; message_id: string; plugin_id: string }>(
      `SELECT ente, message_id, plugin_id FROM inbox
       WHERE state IN ('received', 'processing') AND received_at < now() - ($1::int * interval '1 millisecond')
       ORDER BY received_at LIMIT $2`,
      [olderThanMs, limit],
    );
    return result.rows.map((r) => ({ ente: r.ente, messageId: r.message_id, pluginId: r.plugin_id }));
  }

  /** Puts a message back to 'received' for a replay, appending a trail entry. */
  async resetForReplay(tx: SqlExecutor, ente: string, messageId: string, entry: TrailEntry): Promise<void> {
    await tx.query(
      `UPDATE inbox SET state = 'received', resources = NULL, trail = trail || $3::jsonb, updated_at = now()
       WHERE ente = $1 AND message_id = $2::uuid`,
      [ente, messageId, JSON.stringify([entry])],
    );
  }

  /** Moves a message to another plugin (and its Ente's partition): re-routing an unroutable message. */
  async reassign(tx: SqlExecutor, messageId: string, ente: string, pluginId: string): Promise<void> {
    await tx.query('UPDATE inbox SET ente = $2, plugin_id = $3, updated_at = now() WHERE message_id = $1::uuid', [messageId, ente, pluginId]);
  }

  async countByState(): Promise<Record<MessageState, number>> {
    const result = await this.db.query<{ state: MessageState; n: string }>('SELECT state, count(*) AS n FROM inbox GROUP BY state');
    const counts: Record<MessageState, number> = { received: 0, processing: 0, stored: 0, 'dead-lettered': 0 };
    for (const row of result.rows) counts[row.state] = Number(row.n);
    return counts;
  }
}

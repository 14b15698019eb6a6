import { randomUUID } from 'node:crypto';
import type { Db, Row, SqlExecutor, SqlParam } from './db.ts';
import type { DeadLetter, DeadLetterInput, TrailEntry } from './types.ts';

export interface DeadLetterFilter {
  ente?: string[] | undefined;
  pluginId?: string | undefined;
  stage?: string | undefined;
  errorCode?: string | undefined;
  status?: DeadLetter['status'] | undefined;
  since?: Date | undefined;
  until?: Date | undefined;
}

export interface Page<T> {
  items: T[];
  next: string | null;
}

function rowToDeadLetter(row: Row): DeadLetter {
  return {
    id: row.id as string,
    ente: row.ente as string,
    messageId: row.message_id as string,
    pluginId: row.plugin_id as string,
    stage: row.stage as string,
    errorCode: row.error_code as string,
    reason: row.reason as string,
    details: (row.details as Record<string, unknown> | null) ?? null,
    attempts: Number(row.attempts),
    producerHash: (row.producer_hash as string | null) ?? null,
    createdAt: row.created_at as Date,
    status: row.status as DeadLetter['status'],
    resolvedAt: (row.resolved_at as Date | null) ?? null,
    resolvedBy: (row.resolved_by as string | null) ?? null,
  };
}

/**
 * Cursor = base64 of "createdAt|id" with the database's microsecond precision (a JS Date keeps only
 * milliseconds, which would skip rows created within the same millisecond): keyset paging, newest first.
 */
function encodeCursor(createdAtText: string, id: string): string {
  return Buffer.from(`${createdAtText}|${id}`).toString('base64url');
}

function decodeCursor(cursor: string): { createdAt: string; id: string } | undefined {
  const [at, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (!id || !at || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/.test(at) || !/^[0-9a-f-]{36}$/i.test(id)) return undefined;
  return { createdAt: at, id };
}

export class InvalidCursorError extends Error {}

export class DeadLetterRepository {
  constructor(private readonly db: Db) {}

  /** Records a dead letter and marks the inbox row dead-lettered, atomically. */
  async record(input: DeadLetterInput): Promise<DeadLetter> {
    return this.db.transaction(async (tx) => this.recordIn(tx, input));
  }

  async recordIn(tx: SqlExecutor, input: DeadLetterInput): Promise<DeadLetter> {
    const id = randomUUID();
    const entry: TrailEntry = {
      stage: 'dead-lettered', at: new Date().toISOString(), ok: false,
      error: { stage: input.stage, code: input.errorCode, message: input.reason },
      info: { deadLetterId: id, attempts: input.attempts },
    };
    // A message dead-lettered again after a replay supersedes its earlier open entry.
    await tx.query(`UPDATE dead_letter SET status = 'replayed', resolved_at = COALESCE(resolved_at, now()) WHERE message_id = $1::uuid AND status = 'open'`, [input.messageId]);
    const inserted = await tx.query(
      `INSERT INTO dead_letter (id, ente, message_id, plugin_id, stage, error_code, reason, details, attempts, producer_hash)
       VALUES ($1::uuid, $2, $3::uuid, $4, $5, $6, $7, $8::jsonb, $9, $10) RETURNING *`,
      [id, input.ente, input.messageId, input.pluginId, input.stage, input.errorCode, input.reason,
        input.details ? JSON.stringify(input.details) : null, input.attempts, input.producerHash ?? null],
    );
    await tx.query(
      `UPDATE inbox SET state = 'dead-lettered', trail = trail || $3::jsonb, attempts = $4, updated_at = now()
       WHERE ente = $1 AND message_id = $2::uuid`,
      [input.ente, input.messageId, JSON.stringify([...input.trail, entry]), input.attempts],
    );
    return rowToDeadLetter(inserted.rows[0]!);
  }

  async get(id: string): Promise<DeadLetter | undefined> {
    const result = await this.db.query('SELECT * FROM dead_letter WHERE id = $1::uuid', [id]);
    return result.rows[0] ? rowToDeadLetter(result.rows[0]) : undefined;
  }

  async latestForMessage(messageId: string): Promise<DeadLetter | undefined> {
    const result = await this.db.query('SELECT * FROM dead_letter WHERE message_id = $1::uuid ORDER BY created_at DESC LIMIT 1', [messageId]);
    return result.rows[0] ? rowToDeadLetter(result.rows[0]) : undefined;
  }

  private where(filter: DeadLetterFilter, params: SqlParam[]): string {
    const clauses: string[] = [];
    const add = (sql: string, value: SqlParam) => {
      params.push(value);
      clauses.push(sql.replace('?', `$${params.length}`));
    };
    if (filter.ente) add('ente = ANY(?::text[])', filter.ente);
    if (filter.pluginId) add('plugin_id = ?', filter.pluginId);
    if (filter.stage) add('stage = ?', filter.stage);
    if (filter.errorCode) add('error_code = ?', filter.errorCode);
    add('status = ?', filter.status ?? 'open');
    if (filter.since) add('created_at >= ?', filter.since);
    if (filter.until) add('created_at < ?', filter.until);
    return clauses.join(' AND ');
  }

  async list(filter: DeadLetterFilter, limit: number, cursor?: string): Promise<Page<DeadLetter>> {
    const params: SqlParam[] = [];
    let where = this.where(filter, params);
    if (cursor) {
      const position = decodeCursor(cursor);
      if (!position) throw new InvalidCursorError('invalid cursor');
      params.push(position.createdAt, position.id);
      where += ` AND (created_at, id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`;
    }
    params.push(limit + 1);
    const result = await this.db.query(
      `SELECT *, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at_text
       FROM dead_letter WHERE ${where} ORDER BY created_at DESC, id DESC LIMIT $${params.length}`,
      params,
    );
    const rows = result.rows;
    const hasMore = rows.length > limit;
    if (hasMore) rows.pop();
    const last = rows[rows.length - 1];
    return { items: rows.map(rowToDeadLetter), next: hasMore && last ? encodeCursor(last.created_at_text as string, last.id as string) : null };
  }

  /** All matching ids (for bulk replay), oldest first. */
  async listIds(filter: DeadLetterFilter, max: number): Promise<DeadLetter[]> {
    const params: SqlParam[] = [];
    const where = this.where(filter, params);
    params.push(max);
    const result = await this.db.query(`SELECT * FROM dead_letter WHERE ${where} ORDER BY created_at ASC LIMIT $${params.length}`, params);
    return result.rows.map(rowToDeadLetter);
  }

  async markResolved(tx: SqlExecutor, id: string, status: 'replayed' | 'discarded', actor: string): Promise<boolean> {
    const result = await tx.query(
      `UPDATE dead_letter SET status = $2, resolved_at = now(), resolved_by = $3 WHERE id = $1::uuid AND status = 'open'`,
      [id, status, actor],
    );
    return result.rowCount > 0;
  }

  async countOpen(): Promise<number> {
    const result = await this.db.query<{ n: string }>(`SELECT count(*) AS n FROM dead_letter WHERE status = 'open'`);
    return Number(result.rows[0]?.n ?? 0);
  }
}

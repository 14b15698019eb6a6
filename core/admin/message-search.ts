import type { Db, Row, SqlParam } from '../storage/db.ts';
import type { Page } from '../storage/dead-letter-repository.ts';
import type { Channel, MessageState } from '../storage/types.ts';

export interface MessageSearchFilter {
  /** undefined = every Ente. */
  enti?: string[] | undefined;
  pluginId?: string | undefined;
  state?: MessageState | undefined;
  since?: Date | undefined;
  until?: Date | undefined;
  /** MSH-10 (or the source's message id), exact. */
  controlId?: string | undefined;
  /** CDA/XML document id as recorded at ingest: exact, or a prefix (the id without its version). */
  documentId?: string | undefined;
  patientIdentifier?: { system: string; value: string } | undefined;
}

export interface MessageSummary {
  messageId: string;
  ente: string;
  pluginId: string;
  channel: Channel;
  state: MessageState;
  receivedAt: string;
  updatedAt: string;
  messageType: string | null;
  controlId: string | null;
  attempts: number;
}

export class InvalidSearchCursorError extends Error {}

/** The cursor keeps received_at at full (microsecond) precision: many messages of one batch share a millisecond. */
function encodeCursor(receivedKey: string, messageId: string): string {
  return Buffer.from(`${receivedKey}|${messageId}`).toString('base64url');
}

function decodeCursor(cursor: string): { receivedKey: string; messageId: string } {
  const [receivedKey, messageId] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (!receivedKey || !messageId || Number.isNaN(Date.parse(receivedKey)) || !/^[0-9a-f-]{36}$/i.test(messageId)) {
    throw new InvalidSearchCursorError('invalid cursor');
  }
  return { receivedKey, messageId };
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * GET /admin/messages: newest first, keyset-paged over the inbox partitions. Every filter has an index
 * (migration 021): received_at, plugin + received_at, state + received_at, control_id, message_patient.
 */
export async function searchMessages(db: Db, filter: MessageSearchFilter, limit: number, cursor?: string): Promise<Page<MessageSummary>> {
  const params: SqlParam[] = [];
  const clauses: string[] = [];
  const add = (sql: string, ...values: SqlParam[]) => {
    let text = sql;
    for (const value of values) {
      params.push(value);
      text = text.replace('?', `$${params.length}`);
    }
    clauses.push(text);
  };
  if (filter.enti) add('i.ente = ANY(?::text[])', filter.enti);
  if (filter.pluginId) add('i.plugin_id = ?', filter.pluginId);
  if (filter.state) add('i.state = ?', filter.state);
  if (filter.since) add('i.received_at >= ?', filter.since);
  if (filter.until) add('i.received_at < ?', filter.until);
  if (filter.controlId) add('i.control_id = ?', filter.controlId);
  if (filter.documentId) add(`(i.control_id = ? OR i.control_id LIKE ? ESCAPE '\\')`, filter.documentId, `${escapeLike(filter.documentId)}%`);
  if (filter.patientIdentifier) {
    add(
      '(i.ente, i.message_id) IN (SELECT p.ente, p.message_id FROM message_patient p WHERE p.system = ? AND p.value = ?)',
      filter.patientIdentifier.system, filter.patientIdentifier.value,
    );
  }
  if (cursor) {
    const position = decodeCursor(cursor);
    add('(i.received_at, i.message_id) < (?::timestamptz, ?::uuid)', position.receivedKey, position.messageId);
  }
  params.push(limit + 1);
  const result = await db.query(
    `SELECT i.ente, i.message_id, i.plugin_id, i.channel, i.state, i.received_at, i.updated_at, i.message_type, i.control_id, i.attempts,
            to_char(i.received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS received_key
     FROM inbox i ${clauses.length ? `WHERE ${clauses.join(' AND ')}` : ''}
     ORDER BY i.received_at DESC, i.message_id DESC
     LIMIT $${params.length}`,
    params,
  );
  const rows = result.rows as Row[];
  const hasMore = rows.length > limit;
  if (hasMore) rows.pop();
  const last = rows[rows.length - 1];
  return {
    items: rows.map((r) => ({
      messageId: r.message_id as string,
      ente: r.ente as string,
      pluginId: r.plugin_id as string,
      channel: r.channel as Channel,
      state: r.state as MessageState,
      receivedAt: (r.received_at as Date).toISOString(),
      updatedAt: (r.updated_at as Date).toISOString(),
      messageType: (r.message_type as string | null) ?? null,
      controlId: (r.control_id as string | null) ?? null,
      attempts: Number(r.attempts),
    })),
    next: hasMore && last ? encodeCursor(last.received_key as string, last.message_id as string) : null,
  };
}

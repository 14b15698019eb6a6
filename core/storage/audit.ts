import type { SqlExecutor } from './db.ts';

export interface AuditEntry {
  actor: string;
  action: string;
  target?: string | undefined;
  ente?: string | undefined;
  details?: Record<string, unknown> | undefined;
}

export async function writeAudit(db: SqlExecutor, entry: AuditEntry): Promise<void> {
  await db.query('INSERT INTO audit_log (actor, action, target, ente, details) VALUES ($1, $2, $3, $4, $5::jsonb)', [
    entry.actor, entry.action, entry.target ?? null, entry.ente ?? null, entry.details ? JSON.stringify(entry.details) : null,
  ]);
}

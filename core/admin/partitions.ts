import express, { type Router } from 'express';
import type { Db } from '../storage/db.ts';
import { listEnti, partitionName, PARTITIONED_TABLES } from '../storage/partitions.ts';
import { canSeeEnte, principalOf } from './auth.ts';

export interface PartitionView {
  ente: string;
  name: string;
  type: string | null;
  partitions: Record<(typeof PARTITIONED_TABLES)[number], string>;
  resources: Record<string, number>;
  totalResources: number;
  historyVersions: number;
  inboxMessages: number;
  sizeBytes: number;
  lastWrite: string | null;
}

/** Per Ente: its partitions, current resources by type, size on disk and the time of the last write. */
export async function describePartitions(db: Db, enti?: string[]): Promise<PartitionView[]> {
  const registered = (await listEnti(db)).filter((e) => !enti || enti.includes(e.code));
  if (registered.length === 0) return [];
  const codes = registered.map((e) => e.code);
  const [byType, history, inbox] = await Promise.all([
    db.query<{ ente: string; resource_type: string; n: string; last: Date | null }>(
      `SELECT ente, resource_type, count(*) AS n, max(last_updated) AS last FROM resource WHERE ente = ANY($1::text[]) GROUP BY ente, resource_type`,
      [codes],
    ),
    db.query<{ ente: string; n: string }>(`SELECT ente, count(*) AS n FROM resource_history WHERE ente = ANY($1::text[]) GROUP BY ente`, [codes]),
    db.query<{ ente: string; n: string }>(`SELECT ente, count(*) AS n FROM inbox WHERE ente = ANY($1::text[]) GROUP BY ente`, [codes]),
  ]);
  const names = registered.flatMap((e) => PARTITIONED_TABLES.map((t) => partitionName(t, e.code)));
  const sizes = await db.query<{ name: string; bytes: string | null }>(
    `SELECT n AS name, pg_total_relation_size(to_regclass(n)) AS bytes FROM unnest($1::text[]) AS n`,
    [names],
  );
  const sizeOf = new Map(sizes.rows.map((r) => [r.name, Number(r.bytes ?? 0)]));
  return registered.map((e) => {
    const rows = byType.rows.filter((r) => r.ente === e.code);
    const resources = Object.fromEntries(rows.map((r) => [r.resource_type, Number(r.n)]).sort(([a], [b]) => String(a).localeCompare(String(b))));
    const last = rows.reduce<Date | null>((acc, r) => (r.last && (!acc || r.last > acc) ? r.last : acc), null);
    const partitions = Object.fromEntries(PARTITIONED_TABLES.map((t) => [t, partitionName(t, e.code)])) as PartitionView['partitions'];
    return {
      ente: e.code, name: e.name, type: e.type, partitions, resources,
      totalResources: rows.reduce((n, r) => n + Number(r.n), 0),
      historyVersions: Number(history.rows.find((r) => r.ente === e.code)?.n ?? 0),
      inboxMessages: Number(inbox.rows.find((r) => r.ente === e.code)?.n ?? 0),
      sizeBytes: Object.values(partitions).reduce((n, p) => n + (sizeOf.get(p) ?? 0), 0),
      lastWrite: last ? last.toISOString() : null,
    };
  });
}

/** GET /admin/partitions: the Enti the token sees. */
export function createPartitionsRouter(db: Db): Router {
  const router = express.Router();
  router.get('/admin/partitions', async (_req, res) => {
    const principal = principalOf(res);
    const items = await describePartitions(db, principal.enti === '*' ? undefined : principal.enti);
    res.json({ items: items.filter((p) => canSeeEnte(principal, p.ente)), next: null });
  });
  return router;
}

import type { SqlExecutor, SqlParam } from '../storage/db.ts';
import { DATE_PARAMS, PATIENT_PARAMS } from '../storage/search-index.ts';
import type { FhirResource } from '../storage/types.ts';
import type { CursorKey } from './cursor.ts';
import type { DateComparison, RevInclude, SearchFilter, SearchQuery, TokenValue } from './search-params.ts';

/**
 * The SQL behind the FHIR API. Tenant rule: every statement filters its tables on `ente` with the
 * Enti of the caller's perimeter, and every join between the resource table and the index tables
 * (and between index tables) is on the same `ente` — a reference or an include can only land in the
 * partition it started from.
 */

export interface ResourceKey {
  ente: string;
  type: string;
  id: string;
}

export interface FoundResource extends ResourceKey {
  resource: FhirResource;
}

export interface MatchRow extends FoundResource {
  cursor: CursorKey;
}

export interface HistoryVersion {
  versionId: number;
  lastUpdated: Date;
  resource: FhirResource;
  current: boolean;
}

export type StatsPeriod = 'day' | 'month' | 'year';
export type StatsBasis = 'stored' | 'clinical';

export interface StatsRow {
  ente: string;
  type: string;
  period: string;
  count: number;
}

class Params {
  readonly values: SqlParam[] = [];
  add(value: SqlParam): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

const LAST_UPDATED_TEXT = `to_char(r.last_updated AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

function tokenClause(alias: string, values: TokenValue[], p: Params): string {
  const alternatives = values.map((v) => {
    const parts: string[] = [];
    if (v.code !== undefined) parts.push(`${alias}.code = ${p.add(v.code)}`);
    if (v.systems !== undefined) parts.push(v.systems.length === 0 ? `${alias}.system = ''` : `${alias}.system = ANY(${p.add(v.systems)}::text[])`);
    return `(${parts.join(' AND ')})`;
  });
  return `(${alternatives.join(' OR ')})`;
}

/** Range comparisons (semantics in docs/storage.md): eq = inside, ge/le = overlaps from/until, gt/lt = extends beyond. */
function dateClause(low: string, high: string, values: DateComparison[], p: Params): string {
  const alternatives = values.map(({ prefix, range }) => {
    // Bind only the bounds a comparison uses: an unused parameter has no type PostgreSQL can infer.
    const lo = () => `${p.add(range.low)}::timestamptz`;
    const hi = () => `${p.add(range.high)}::timestamptz`;
    switch (prefix) {
      case 'eq': return `(${low} >= ${lo()} AND ${high} <= ${hi()})`;
      case 'ge': return `(${high} > ${lo()})`;
      case 'le': return `(${low} < ${hi()})`;
      case 'gt': return `(${high} > ${hi()})`;
      case 'lt': return `(${low} < ${lo()})`;
    }
  });
  return `(${alternatives.join(' OR ')})`;
}

/** The same comparisons for an instant column (a point, not a range). */
function instantClause(column: string, values: DateComparison[], p: Params): string {
  const alternatives = values.map(({ prefix, range }) => {
    const lo = () => `${p.add(range.low)}::timestamptz`;
    const hi = () => `${p.add(range.high)}::timestamptz`;
    switch (prefix) {
      case 'eq': return `(${column} >= ${lo()} AND ${column} < ${hi()})`;
      case 'ge': return `(${column} >= ${lo()})`;
      case 'le': return `(${column} < ${hi()})`;
      case 'gt': return `(${column} >= ${hi()})`;
      case 'lt': return `(${column} < ${lo()})`;
    }
  });
  return `(${alternatives.join(' OR ')})`;
}

/** A filter answered by an index table: its FROM, the alias whose (ente, resource_type, id) match, its conditions. */
interface IndexFilter {
  rank: number;
  from: string;
  owner: string;
  conditions: string[];
}

/**
 * `enti` binds the perimeter array on first use. Filters on the resource row itself come back as a
 * string; filters on an index table as an IndexFilter, combined by candidateSql.
 */
function filterClause(filter: SearchFilter, enti: () => string, type: string, p: Params, a: string): string | IndexFilter {
  switch (filter.kind) {
    case 'id':
      return `r.id = ANY(${p.add(filter.ids)}::text[])`;
    case 'lastUpdated':
      return instantClause('r.last_updated', filter.values, p);
    case 'token':
      return {
        rank: filter.param === 'identifier' ? 2 : 3,
        from: `search_token ${a}`,
        owner: a,
        conditions: [`${a}.ente = ANY(${enti()})`, `${a}.resource_type = ${type}`, `${a}.param = ${p.add(filter.param)}`, tokenClause(a, filter.values, p)],
      };
    case 'reference': {
      const alternatives = filter.targets.map((target) =>
        `(${target.type ? `${a}.target_type = ${p.add(target.type)} AND ` : ''}${a}.target_id = ${p.add(target.id)})`);
      return {
        rank: 1,
        from: `search_reference ${a}`,
        owner: a,
        conditions: [`${a}.ente = ANY(${enti()})`, `${a}.resource_type = ${type}`, `${a}.param = ANY(${p.add(filter.params)}::text[])`, `(${alternatives.join(' OR ')})`],
      };
    }
    case 'chain':
      // The referenced Patient is looked up in the same partition as the referring resource (p.ente = l.ente).
      return {
        rank: 0,
        from: `search_reference ${a} JOIN search_token ${a}p ON ${a}p.ente = ${a}.ente AND ${a}p.resource_type = 'Patient' AND ${a}p.id = ${a}.target_id`,
        owner: a,
        conditions: [
          `${a}.ente = ANY(${enti()})`, `${a}.resource_type = ${type}`, `${a}.param = ANY(${p.add(filter.params)}::text[])`, `${a}.target_type = 'Patient'`,
          // Stated for the Patient side too: the planner does not carry the Ente list across the join.
          `${a}p.ente = ANY(${enti()})`, `${a}p.param = 'identifier'`, tokenClause(`${a}p`, filter.values, p),
        ],
      };
    case 'date':
      return {
        rank: 4,
        from: `search_date ${a}`,
        owner: a,
        conditions: [`${a}.ente = ANY(${enti()})`, `${a}.resource_type = ${type}`, `${a}.param = ${p.add(filter.param)}`, dateClause(`${a}.low`, `${a}.high`, filter.values, p)],
      };
  }
}

export interface FhirRepositoryOptions {
  /** Matches up to which a filtered search reads the matching rows by key (above: ordered walk). */
  candidateLimit?: number;
  /** Rows of the most selective index filter beyond which the narrow form is abandoned. */
  driverLimit?: number;
}

/**
 * The index filters as SQL over index tables only: the most selective kind (chain, reference,
 * identifier, code/type, date) drives, the others are checked per row of it through the owner indexes.
 */
function splitFilters(filters: IndexFilter[]): { driver: IndexFilter; checks: (alias: string) => string[] } {
  const [driver, ...others] = [...filters].sort((x, y) => x.rank - y.rank);
  return {
    driver: driver!,
    checks: (d) => others.map((f) =>
      `EXISTS (SELECT 1 FROM ${f.from} WHERE ${f.owner}.ente = ${d}.ente AND ${f.owner}.resource_type = ${d}.resource_type AND ${f.owner}.id = ${d}.id AND ${f.conditions.join(' AND ')})`),
  };
}

export class FhirRepository {
  private readonly candidateLimit: number;
  private readonly driverLimit: number;

  constructor(private readonly db: SqlExecutor, options: FhirRepositoryOptions = {}) {
    this.candidateLimit = options.candidateLimit ?? 2000;
    this.driverLimit = options.driverLimit ?? 50_000;
  }

  async registeredEnti(): Promise<string[]> {
    const result = await this.db.query<{ code: string }>('SELECT code FROM ente ORDER BY code');
    return result.rows.map((r) => r.code);
  }

  async read(ente: string, type: string, id: string): Promise<FhirResource | undefined> {
    const result = await this.db.query<{ resource: FhirResource }>(
      'SELECT resource FROM resource WHERE ente = $1 AND resource_type = $2 AND id = $3', [ente, type, id],
    );
    if (result.rows[0]) return result.rows[0].resource;
    // The shared regional directory (no patient data) answers for the ids every partition may reference.
    const directory = await this.db.query<{ resource: FhirResource }>('SELECT resource FROM directory_resource WHERE resource_type = $1 AND id = $2', [type, id]);
    return directory.rows[0]?.resource;
  }

  /** Every version, newest first: the current one and those in resource_history. */
  async history(ente: string, type: string, id: string): Promise<HistoryVersion[]> {
    const result = await this.db.query<{ version_id: number; last_updated: Date; resource: FhirResource; current: boolean }>(
      `SELECT version_id, last_updated, resource, true AS current FROM resource WHERE ente = $1 AND resource_type = $2 AND id = $3
       UNION ALL
       SELECT version_id, last_updated, resource, false AS current FROM resource_history WHERE ente = $1 AND resource_type = $2 AND id = $3
       ORDER BY version_id DESC`,
      [ente, type, id],
    );
    return result.rows.map((r) => ({ versionId: Number(r.version_id), lastUpdated: r.last_updated, resource: r.resource, current: r.current }));
  }

  async vread(ente: string, type: string, id: string, versionId: number): Promise<FhirResource | undefined> {
    const result = await this.db.query<{ resource: FhirResource }>(
      `SELECT resource FROM resource WHERE ente = $1 AND resource_type = $2 AND id = $3 AND version_id = $4
       UNION ALL
       SELECT resource FROM resource_history WHERE ente = $1 AND resource_type = $2 AND id = $3 AND version_id = $4
       LIMIT 1`,
      [ente, type, id, versionId],
    );
    return result.rows[0]?.resource;
  }

  /** One page of matches, newest first (keyset on last_updated, Ente, id); hasMore when another page follows. */
  async search(query: SearchQuery, enti: string[], after: CursorKey | undefined): Promise<{ matches: MatchRow[]; hasMore: boolean }> {
    if (enti.length === 0) return { matches: [], hasMore: false };
    const p = new Params();
    // Bound once, when first used: a parameter no clause references has no type PostgreSQL can infer.
    let entiArray: string | undefined;
    const entiParam = () => (entiArray ??= `${p.add(enti)}::text[]`);
    const typeParam = p.add(query.type);
    // One Ente: plain equality, so the (ente, resource_type, last_updated, id) index also gives the page order.
    const where = [enti.length === 1 ? `r.ente = ${p.add(enti[0]!)}` : `r.ente = ANY(${entiParam()})`, `r.resource_type = ${typeParam}`];
    const indexFilters: IndexFilter[] = [];
    query.filters.forEach((filter, i) => {
      const clause = filterClause(filter, entiParam, typeParam, p, `x${i}`);
      if (typeof clause === 'string') where.push(clause);
      else indexFilters.push(clause);
    });
    if (after) where.push(`(r.last_updated, r.ente, r.id) < (${p.add(after.lastUpdated)}::timestamptz, ${p.add(after.ente)}, ${p.add(after.id)})`);
    const limit = p.add(query.count + 1);
    const select = `r.ente, r.resource_type, r.id, r.resource, ${LAST_UPDATED_TEXT} AS lu`;
    const order = 'ORDER BY r.last_updated DESC, r.ente DESC, r.id DESC';
    type Row = { ente: string; resource_type: string; id: string; resource: FhirResource; lu: string };
    let result: { rows: Row[] };
    if (indexFilters.length === 0) {
      // No filter on the index tables: walk the (ente, resource_type, last_updated, id) index, newest first.
      result = await this.db.query<Row>(`SELECT ${select} FROM resource r WHERE ${where.join(' AND ')} ${order} LIMIT ${limit}`, p.values);
    } else {
      const { driver, checks } = splitFilters(indexFilters);
      const d = driver.owner;
      // Narrow searches (a patient's resources): the driver's rows are materialized first, then checked,
      // then the resource rows read by key — cost follows the matches. Left to itself, the planner tends
      // to walk the whole last_updated index hoping to fill the LIMIT early: seconds in a large Ente.
      const narrow = await this.db.query<Row & { driver_count: number; candidate_count: number }>(
        `WITH driver AS MATERIALIZED (
           SELECT DISTINCT ${d}.ente, ${d}.resource_type, ${d}.id FROM ${driver.from} WHERE ${driver.conditions.join(' AND ')} LIMIT ${this.driverLimit + 1}),
         candidates AS MATERIALIZED (
           SELECT ${d}.ente, ${d}.resource_type, ${d}.id FROM driver ${d} ${checks(d).length > 0 ? `WHERE ${checks(d).join(' AND ')}` : ''} LIMIT ${this.candidateLimit + 1})
         SELECT m.*, (SELECT count(*) FROM driver)::int AS driver_count, k.n AS candidate_count
         FROM (SELECT count(*)::int AS n FROM candidates) k
         LEFT JOIN LATERAL (
           SELECT ${select} FROM candidates c JOIN resource r ON r.ente = c.ente AND r.resource_type = c.resource_type AND r.id = c.id
           -- Too many candidates: skip the reads, the broad form below answers.
           WHERE k.n <= ${this.candidateLimit} AND ${where.join(' AND ')} ${order} LIMIT ${limit}) m ON true`,
        p.values,
      );
      const first = narrow.rows[0];
      if (first && first.driver_count <= this.driverLimit && first.candidate_count <= this.candidateLimit) {
        result = { rows: narrow.rows.filter((r) => r.id !== null) };
      } else {
        // Broad searches: matches are many, so walking newest first and checking each row fills a page soon.
        const candidates = `SELECT ${d}.ente, ${d}.resource_type, ${d}.id FROM ${driver.from} WHERE ${[...driver.conditions, ...checks(d)].join(' AND ')}`;
        result = await this.db.query<Row>(
          `SELECT ${select} FROM resource r WHERE ${where.join(' AND ')} AND (r.ente, r.resource_type, r.id) IN (${candidates}) ${order} LIMIT ${limit}`,
          p.values,
        );
      }
    }
    const rows = result.rows.map((r) => ({
      ente: r.ente, type: r.resource_type, id: r.id, resource: r.resource, cursor: { lastUpdated: r.lu, ente: r.ente, id: r.id },
    }));
    const hasMore = rows.length > query.count;
    return { matches: hasMore ? rows.slice(0, query.count) : rows, hasMore };
  }

  /**
   * Resources that reference any of `targets` through the given reverse-include specs, found in the
   * targets' own partitions only (the join carries the target's Ente).
   */
  async revInclude(specs: RevInclude[], targets: ResourceKey[], enti: string[], limit: number): Promise<FoundResource[]> {
    if (specs.length === 0 || targets.length === 0 || enti.length === 0) return [];
    const p = new Params();
    const specClauses = specs.map((s) => {
      const parts = ['true'];
      if (s.sourceType) parts.push(`l.resource_type = ${p.add(s.sourceType)}`);
      // Type:patient also matches a subject that is a Patient (the index stores that row once, as subject).
      if (s.param === 'patient') parts.push(`l.param = ANY(${p.add([...PATIENT_PARAMS])}::text[]) AND l.target_type = 'Patient'`);
      else if (s.param) parts.push(`l.param = ${p.add(s.param)}`);
      if (s.targetType) parts.push(`l.target_type = ${p.add(s.targetType)}`);
      return `(${parts.join(' AND ')})`;
    });
    const result = await this.db.query<{ ente: string; resource_type: string; id: string; resource: FhirResource }>(
      `SELECT r.ente, r.resource_type, r.id, r.resource FROM resource r
       WHERE (r.ente, r.resource_type, r.id) IN (
         SELECT l.ente, l.resource_type, l.id FROM search_reference l
         JOIN unnest(${p.add(targets.map((t) => t.ente))}::text[], ${p.add(targets.map((t) => t.type))}::text[], ${p.add(targets.map((t) => t.id))}::text[])
           AS k(ente, resource_type, id) ON l.ente = k.ente AND l.target_type = k.resource_type AND l.target_id = k.id
         WHERE l.ente = ANY(${p.add(enti)}::text[]) AND (${specClauses.join(' OR ')}))
         AND r.ente = ANY(${p.add(enti)}::text[])
       ORDER BY r.ente, r.resource_type, r.id
       LIMIT ${p.add(limit)}`,
      p.values,
    );
    return result.rows.map((r) => ({ ente: r.ente, type: r.resource_type, id: r.id, resource: r.resource }));
  }

  /** Counts of current resources by Ente × type × period, by first storage time or by clinical date. */
  async stats(enti: string[], period: StatsPeriod, basis: StatsBasis, type: string | undefined, range: { from?: string; to?: string }): Promise<StatsRow[]> {
    if (enti.length === 0) return [];
    const p = new Params();
    const format = { day: 'YYYY-MM-DD', month: 'YYYY-MM', year: 'YYYY' }[period];
    const unit = p.add(period);
    const fmt = p.add(format);
    if (basis === 'stored') {
      const where = [`r.ente = ANY(${p.add(enti)}::text[])`];
      if (type) where.push(`r.resource_type = ${p.add(type)}`);
      if (range.from) where.push(`r.first_stored_at >= ${p.add(range.from)}::timestamptz`);
      if (range.to) where.push(`r.first_stored_at < ${p.add(range.to)}::timestamptz`);
      const result = await this.db.query<{ ente: string; resource_type: string; period: string; n: number }>(
        `SELECT r.ente, r.resource_type, to_char(date_trunc(${unit}, r.first_stored_at AT TIME ZONE 'Europe/Rome'), ${fmt}) AS period, count(*)::int AS n
         FROM resource r WHERE ${where.join(' AND ')}
         GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
        p.values,
      );
      return result.rows.map((r) => ({ ente: r.ente, type: r.resource_type, period: r.period, count: Number(r.n) }));
    }
    // Clinical basis: the start of the type's main date parameter (the first one listed), so each resource counts once.
    const mainParams = Object.entries(DATE_PARAMS).filter(([t]) => !type || t === type).map(([t, params]) => [t, Object.keys(params)[0]!] as const);
    if (mainParams.length === 0) return [];
    const where = [
      `d.ente = ANY(${p.add(enti)}::text[])`,
      `(d.resource_type, d.param) IN (SELECT * FROM unnest(${p.add(mainParams.map(([t]) => t))}::text[], ${p.add(mainParams.map(([, param]) => param))}::text[]))`,
      `d.low > '-infinity'`,
    ];
    if (range.from) where.push(`d.low >= ${p.add(range.from)}::timestamptz`);
    if (range.to) where.push(`d.low < ${p.add(range.to)}::timestamptz`);
    const result = await this.db.query<{ ente: string; resource_type: string; period: string; n: number }>(
      `SELECT d.ente, d.resource_type, to_char(date_trunc(${unit}, d.low AT TIME ZONE 'Europe/Rome'), ${fmt}) AS period, count(DISTINCT d.id)::int AS n
       FROM search_date d WHERE ${where.join(' AND ')}
       GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
      p.values,
    );
    return result.rows.map((r) => ({ ente: r.ente, type: r.resource_type, period: r.period, count: Number(r.n) }));
  }
}

import { StoreError } from '../common/errors.ts';
import type { SqlExecutor } from './db.ts';
import { parseLiteralReference } from './search-index.ts';
import type { FhirResource } from './types.ts';

/**
 * Tenant-safe references: before a message's resources are stored, every literal reference in them
 * must resolve inside the same Ente partition — to a resource of the same message (or of another
 * message of the same Ente committed in the same transaction), to one already stored in that Ente,
 * or to the shared regional directory (`directory_resource`: Organization L1/L2/L3 and the like).
 * Anything else (another Ente's resource, a dangling id, an absolute URL, a urn) is refused: the
 * message is dead-lettered at stage `store` with STORE_REFERENCE_OUTSIDE_ENTE (permanent).
 * Logical references (identifier only) and references to contained resources ("#id") point into
 * no partition and pass.
 */

export const REFERENCE_OUTSIDE_ENTE = 'STORE_REFERENCE_OUTSIDE_ENTE';

export interface ReferenceViolation {
  messageId: string;
  ente: string;
  /** "Type/id" of the resource holding the reference. */
  resource: string;
  /** FHIRPath-like location, e.g. "Encounter.location[0].location". */
  path: string;
  reference: string;
  problem: 'not-found' | 'absolute-url' | 'urn' | 'malformed';
}

interface FoundReference {
  resource: string;
  path: string;
  reference: string;
}

/** Every `reference` string inside a resource (contained resources included), with its path. */
export function collectReferences(resource: FhirResource): FoundReference[] {
  const found: FoundReference[] = [];
  const owner = `${resource.resourceType}/${resource.id ?? '?'}`;
  // The path is kept as a stack of segments and joined only for the references found: most of a
  // resource holds none, and building a path string for every element was most of this walk's cost.
  const segments: string[] = [resource.resourceType];
  const walk = (value: unknown) => {
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i];
        if (typeof item !== 'object' || item === null) continue;
        segments.push(`[${i}]`);
        walk(item);
        segments.pop();
      }
      return;
    }
    if (typeof value !== 'object' || value === null) return;
    for (const key in value as Record<string, unknown>) {
      const child = (value as Record<string, unknown>)[key];
      if (key === 'reference' && typeof child === 'string') {
        found.push({ resource: owner, path: segments.join(''), reference: child });
      } else if (typeof child === 'object' && child !== null) {
        segments.push(`.${key}`);
        walk(child);
        segments.pop();
      }
    }
  };
  walk(resource);
  return found;
}

export interface GuardRequest {
  ente: string;
  messageId: string;
  resources: readonly FhirResource[];
}

const key = (ente: string, type: string, id: string) => `${ente}\u0000${type}\u0000${id}`;

export interface ReferenceTarget {
  ente: string;
  type: string;
  id: string;
}

/** What a batch's references need checked: violations found without the database, and targets to look up. */
export interface ReferenceCheck {
  violations: ReferenceViolation[];
  pending: Array<ReferenceTarget & { violation: ReferenceViolation }>;
  /** The distinct targets of `pending`: each must be stored in its Ente's partition or be in the directory. */
  targets: ReferenceTarget[];
}

/** The first half of the guard: syntax problems, and the targets that are not in the batch itself. */
export function planReferenceCheck(requests: readonly GuardRequest[]): ReferenceCheck {
  const inBatch = new Set<string>();
  for (const request of requests) for (const r of request.resources) if (r.id) inBatch.add(key(request.ente, r.resourceType, r.id));

  const violations: ReferenceViolation[] = [];
  const pending: ReferenceCheck['pending'] = [];
  for (const request of requests) {
    for (const resource of request.resources) {
      for (const ref of collectReferences(resource)) {
        if (ref.reference.startsWith('#')) continue;
        const base = { messageId: request.messageId, ente: request.ente, ...ref };
        const target = parseLiteralReference(ref.reference);
        if (!target) {
          const problem = /^[a-z][a-z0-9+.-]*:\/\//i.test(ref.reference) ? 'absolute-url' : ref.reference.startsWith('urn:') ? 'urn' : 'malformed';
          violations.push({ ...base, problem });
          continue;
        }
        if (inBatch.has(key(request.ente, target.type, target.id))) continue;
        pending.push({ violation: { ...base, problem: 'not-found' }, ente: request.ente, type: target.type, id: target.id });
      }
    }
  }
  const targets = [...new Map(pending.map((p) => [key(p.ente, p.type, p.id), { ente: p.ente, type: p.type, id: p.id }])).values()];
  return { violations, pending, targets };
}

/**
 * The second half: `isStored` answers for the targets (the store reads them with the batch's own keys,
 * in the same round trip); the rest are looked up in the regional directory. Throws on any violation.
 */
export async function finishReferenceCheck(
  tx: SqlExecutor, check: ReferenceCheck, isStored: (target: ReferenceTarget) => boolean,
): Promise<void> {
  const violations = [...check.violations];
  if (check.pending.length > 0) {
    const resolved = new Set(check.targets.filter(isStored).map((c) => key(c.ente, c.type, c.id)));
    const remaining = check.targets.filter((c) => !resolved.has(key(c.ente, c.type, c.id)));
    if (remaining.length > 0) {
      const directory = await tx.query<{ resource_type: string; id: string }>(
        `SELECT d.resource_type, d.id FROM directory_resource d
         JOIN unnest($1::text[], $2::text[]) AS k(resource_type, id) ON d.resource_type = k.resource_type AND d.id = k.id`,
        [remaining.map((c) => c.type), remaining.map((c) => c.id)],
      );
      const inDirectory = new Set(directory.rows.map((r) => `${r.resource_type}/${r.id}`));
      for (const c of remaining) {
        if (inDirectory.has(`${c.type}/${c.id}`)) resolved.add(key(c.ente, c.type, c.id));
      }
    }
    for (const p of check.pending) if (!resolved.has(key(p.ente, p.type, p.id))) violations.push(p.violation);
  }
  throwViolations(violations);
}

/** Throws StoreError STORE_REFERENCE_OUTSIDE_ENTE listing the violations; resolves when every reference is inside. */
export async function assertReferencesInEnte(tx: SqlExecutor, requests: readonly GuardRequest[]): Promise<void> {
  const check = planReferenceCheck(requests);
  const stored = new Set<string>();
  if (check.targets.length > 0) {
    // Only the requesting Ente's partition is consulted (the key includes the Ente), then the shared directory.
    // = ANY() lists, not a join on unnest(): the primary key index is used even before the partition
    // has statistics. Extra combinations the lists match are harmless (only targets are looked up).
    const rows = await tx.query<{ ente: string; resource_type: string; id: string }>(
      `SELECT r.ente, r.resource_type, r.id FROM resource r
       WHERE r.ente = ANY($1::text[]) AND r.resource_type = ANY($2::text[]) AND r.id = ANY($3::text[])`,
      [[...new Set(check.targets.map((c) => c.ente))], [...new Set(check.targets.map((c) => c.type))], [...new Set(check.targets.map((c) => c.id))]],
    );
    for (const r of rows.rows) stored.add(key(r.ente, r.resource_type, r.id));
  }
  await finishReferenceCheck(tx, check, (t) => stored.has(key(t.ente, t.type, t.id)));
}

function throwViolations(violations: ReferenceViolation[]): void {
  if (violations.length === 0) return;
  const first = violations[0]!;
  const why: Record<ReferenceViolation['problem'], string> = {
    'not-found': `is neither in the message, nor stored in Ente ${first.ente}'s partition, nor in the regional directory`,
    'absolute-url': 'is an absolute URL: the CDR stores only references inside the Ente partition or to the regional directory',
    urn: 'is a urn, which the CDR does not resolve: reference stored resources as Type/id',
    malformed: 'is not a "Type/id" reference',
  };
  throw new StoreError(
    `${violations.length} reference${violations.length > 1 ? 's' : ''} outside Ente ${first.ente}; first: ${first.resource} ${first.path} → "${first.reference}" ${why[first.problem]}`,
    {
      code: REFERENCE_OUTSIDE_ENTE,
      kind: 'permanent',
      details: { violations: violations.slice(0, 50).map(({ messageId, resource, path, reference, problem }) => ({ messageId, resource, path, reference, problem })) },
    },
  );
}

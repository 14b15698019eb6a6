import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../config/load.ts';
import { normalizeSystem } from '../storage/search-index.ts';

/**
 * One code or identifier system has several spellings in Lombardy's data: the RL URI, `urn:oid:X`
 * and the bare OID the RL CDR API puts in queries (`code=[OID]|[code]`). The index stores systems
 * with `urn:oid:` stripped; a query system expands to every spelling of the same system, so the
 * alias table can grow without re-indexing.
 */
const CODE_SYSTEM_GROUPS: ReadonlyArray<readonly string[]> = [
  ['2.16.840.1.113883.6.1', 'http://loinc.org'],
  ['2.16.840.1.113883.6.96', 'http://snomed.info/sct'],
  // ICD-9-CM: diagnoses (6.103) and procedures (6.104) share the FHIR URIs (shared/notes/ig-lombardia.md §5).
  ['2.16.840.1.113883.6.103', 'http://hl7.org/fhir/sid/icd-9-cm', 'http://hl7.org/fhir/sid/icd-9'],
  ['2.16.840.1.113883.6.104', 'http://hl7.org/fhir/sid/icd-9-cm'],
  ['2.16.840.1.113883.6.73', 'http://www.whocc.no/atc'],
];

interface IdentifierSystemRow {
  rl?: string;
  oid?: string;
}

/** Identifier systems from config/identifier-systems.json whose RL and OID forms differ (per-Ente templates excluded). */
function identifierGroups(): string[][] {
  try {
    const raw = JSON.parse(readFileSync(path.join(REPO_ROOT, 'config', 'identifier-systems.json'), 'utf8')) as Record<string, IdentifierSystemRow | string>;
    return Object.entries(raw)
      .filter(([key, row]) => !key.startsWith('$') && typeof row === 'object' && row.rl && row.oid && !row.rl.includes('{') && row.rl !== row.oid)
      .map(([, row]) => [normalizeSystem((row as IdentifierSystemRow).oid), (row as IdentifierSystemRow).rl!]);
  } catch {
    return [];
  }
}

let groups: ReadonlyArray<readonly string[]> | undefined;

/** Every stored spelling (urn:oid: stripped) that means the same system as `system`. */
export function equivalentSystems(system: string): string[] {
  groups ??= [...CODE_SYSTEM_GROUPS, ...identifierGroups()];
  const normalized = normalizeSystem(system);
  const result = new Set([normalized]);
  for (const group of groups) if (group.includes(normalized)) for (const member of group) result.add(member);
  return [...result];
}

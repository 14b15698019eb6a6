import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * IG coverage: which elements of each profile (snapshots in ig/profiles/) the outputs populate over a whole
 * folder, identifier/address/telecom/extension slices included, so the gaps of a source or a mapping show.
 */

interface SnapshotElement {
  id: string;
  path: string;
  min?: number;
  max?: string;
  sliceName?: string;
  type?: Array<{ code: string; profile?: string[] }>;
  [key: string]: unknown;
}

interface Snapshot {
  url: string;
  name: string;
  type: string;
  snapshot: { element: SnapshotElement[] };
}

/** An element the report counts: depth ≤ 2 below the resource, slices as their own rows. */
export interface CoverageElement {
  id: string;
  min: number;
  /** For slice rows: how an instance is recognised as belonging to the slice. */
  match?: (value: Record<string, unknown>) => boolean;
}

export interface ProfileCoverage {
  url: string;
  name: string;
  type: string;
  resources: number;
  /** element id (relative, e.g. "identifier:codiceFiscale") → number of resources populating it */
  populated: Map<string, number>;
  elements: CoverageElement[];
}

const NOISE = new Set(['id', 'extension', 'modifierExtension', 'meta', 'implicitRules', 'language', 'text', 'contained']);

function deepIncludes(actual: unknown, pattern: unknown): boolean {
  if (pattern === null || typeof pattern !== 'object') return actual === pattern;
  if (Array.isArray(pattern)) {
    return Array.isArray(actual) && pattern.every((p) => actual.some((a) => deepIncludes(a, p)));
  }
  if (actual === null || typeof actual !== 'object') return false;
  return Object.entries(pattern as Record<string, unknown>).every(([k, v]) => deepIncludes((actual as Record<string, unknown>)[k], v));
}

/** How to recognise a slice: fixed/pattern values of its direct children, or the profile of an extension slice. */
function sliceMatcher(slice: SnapshotElement, elements: SnapshotElement[]): ((value: Record<string, unknown>) => boolean) | undefined {
  const extensionUrl = slice.path.endsWith('.extension') ? slice.type?.[0]?.profile?.[0] : undefined;
  if (extensionUrl) return (value) => value.url === extensionUrl;
  const checks: Array<[string, unknown, boolean]> = [];
  for (const child of elements) {
    if (!child.id.startsWith(`${slice.id}.`) || child.id.slice(slice.id.length + 1).includes('.')) continue;
    const key = child.id.slice(slice.id.length + 1);
    for (const [prop, value] of Object.entries(child)) {
      if (prop.startsWith('fixed')) checks.push([key, value, true]);
      else if (prop.startsWith('pattern')) checks.push([key, value, false]);
    }
  }
  if (checks.length === 0) return undefined;
  return (value) => checks.every(([key, expected, exact]) => (exact ? JSON.stringify(value[key]) === JSON.stringify(expected) : deepIncludes(value[key], expected)));
}

/** The rows of one profile: its elements down to depth 2, without infrastructure (id, meta, text...) and slice internals. */
export function coverageElements(snapshot: Snapshot): CoverageElement[] {
  const elements = snapshot.snapshot.element;
  const rows: CoverageElement[] = [];
  for (const element of elements) {
    const parts = element.id.split('.').slice(1);
    if (parts.length === 0 || parts.length > 2) continue;
    if (parts.slice(0, -1).some((p) => p.includes(':'))) continue; // inside a slice
    const last = parts[parts.length - 1]!;
    const name = last.split(':')[0]!;
    const isSlice = last.includes(':');
    if (NOISE.has(name) && !(isSlice && name === 'extension')) continue;
    if (element.max === '0') continue;
    const row: CoverageElement = { id: parts.join('.'), min: element.min ?? 0 };
    if (isSlice) {
      const match = sliceMatcher(element, elements);
      if (!match) continue; // a slice nothing in the profile identifies cannot be attributed
      row.match = match;
    }
    rows.push(row);
  }
  return rows;
}

/** Element names present in an instance, relative to the resource (value[x] style for choices), depth ≤ 2. */
function instancePaths(resource: Record<string, unknown>, knownIds: Set<string>): Map<string, unknown[]> {
  const found = new Map<string, unknown[]>();
  const add = (id: string, value: unknown) => {
    const list = found.get(id) ?? [];
    list.push(value);
    found.set(id, list);
  };
  const normalise = (parent: string, key: string): string => {
    const direct = parent ? `${parent}.${key}` : key;
    if (knownIds.has(direct)) return direct;
    for (const id of knownIds) {
      if (!id.endsWith('[x]')) continue;
      const base = id.slice(0, -3);
      const prefix = parent ? `${parent}.` : '';
      if (!base.startsWith(prefix) || base.slice(prefix.length).includes('.')) continue;
      const name = base.slice(prefix.length);
      if (key.startsWith(name) && /^[A-Z]/.test(key.slice(name.length))) return id;
    }
    return direct;
  };
  for (const [key, value] of Object.entries(resource)) {
    if (key === 'resourceType' || key.startsWith('_')) continue;
    const id = normalise('', key);
    for (const item of Array.isArray(value) ? value : [value]) {
      add(id, item);
      if (item && typeof item === 'object' && !Array.isArray(item)) {
        for (const [childKey, childValue] of Object.entries(item as Record<string, unknown>)) {
          if (childKey.startsWith('_') || childValue === undefined) continue;
          add(normalise(id, childKey), childValue);
        }
      }
    }
  }
  return found;
}

export class CoverageCollector {
  private readonly snapshots = new Map<string, Snapshot>();
  private readonly byProfile = new Map<string, ProfileCoverage>();
  /** Resources whose meta.profile names no snapshot (e.g. base FHIR Observations), by resource type. */
  readonly unprofiled = new Map<string, number>();

  constructor(igDir: string) {
    const manifestFile = path.join(igDir, 'manifest.json');
    if (!existsSync(manifestFile)) return;
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { profiles: Array<{ url: string; file: string; role?: string }> };
    for (const entry of manifest.profiles) {
      if (entry.role === 'extension') continue;
      const file = path.join(igDir, entry.file);
      if (existsSync(file)) this.snapshots.set(entry.url, JSON.parse(readFileSync(file, 'utf8')) as Snapshot);
    }
  }

  add(resource: Record<string, unknown>): void {
    const profiles = ((resource.meta as { profile?: string[] } | undefined)?.profile ?? []).filter((p) => this.snapshots.has(p));
    if (profiles.length === 0) {
      const type = String(resource.resourceType);
      this.unprofiled.set(type, (this.unprofiled.get(type) ?? 0) + 1);
      return;
    }
    for (const url of profiles) {
      let coverage = this.byProfile.get(url);
      const snapshot = this.snapshots.get(url)!;
      if (!coverage) {
        coverage = { url, name: snapshot.name, type: snapshot.type, resources: 0, populated: new Map(), elements: coverageElements(snapshot) };
        this.byProfile.set(url, coverage);
      }
      coverage.resources++;
      const known = new Set(coverage.elements.filter((e) => !e.match).map((e) => e.id));
      const paths = instancePaths(resource, known);
      for (const element of coverage.elements) {
        let hit = false;
        if (element.match) {
          const base = element.id.replace(/:[^.]+$/, '');
          hit = (paths.get(base) ?? []).some((v) => v !== null && typeof v === 'object' && element.match!(v as Record<string, unknown>));
        } else hit = paths.has(element.id);
        if (hit) coverage.populated.set(element.id, (coverage.populated.get(element.id) ?? 0) + 1);
      }
    }
  }

  results(): ProfileCoverage[] {
    return [...this.byProfile.values()].sort((a, b) => a.url.localeCompare(b.url));
  }
}

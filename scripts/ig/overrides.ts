/**
 * The explicit override list (ig/overrides.json): every place where the build departs from the published RL
 * profiles, with the defect, the change, the reason and the source. Each change states the value it expects to
 * find (`published`), so the build fails loudly when the IG is corrected upstream instead of silently overriding.
 */
import { IgBuildError, readJson, type ElementDefinition, type StructureDefinition } from './common.ts';

export type OverrideStage = 'differential' | 'snapshot' | 'terminology' | 'runtime' | 'none';

export interface Override {
  id: string;
  /** canonical url of the profile (or ValueSet for terminology entries); '*' for every profile */
  target: string;
  /** element id in the profile; absent for StructureDefinition-level changes */
  element?: string;
  stage: OverrideStage;
  op: 'set' | 'remove' | 'rename' | 'remove-element' | 'set-constraint' | 'skip-invariant' | 'add-valueset' | 'alias-systems' | 'keep';
  /** property of the element / StructureDefinition to change, e.g. `fixedCode`, `binding`, `slicing.discriminator` */
  property?: string;
  /** value found in the published profile (checked before applying) */
  published?: unknown;
  value?: unknown;
  /** constraint key for set-constraint / skip-invariant */
  key?: string;
  defect: string;
  why: string;
  source: string;
}

export interface OverrideFile {
  description: string;
  overrides: Override[];
}

export function loadOverrides(file: string): Override[] {
  const data = readJson<OverrideFile>(file);
  const ids = new Set<string>();
  for (const o of data.overrides) {
    if (ids.has(o.id)) throw new IgBuildError(`duplicate override id ${o.id}`);
    ids.add(o.id);
    for (const f of ['id', 'target', 'stage', 'op', 'defect', 'why', 'source'] as const) {
      if (!o[f]) throw new IgBuildError(`override ${o.id ?? '?'} lacks '${f}'`);
    }
  }
  return data.overrides;
}

function getProp(obj: Record<string, unknown>, dotted: string): unknown {
  let cur: unknown = obj;
  for (const part of dotted.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function setProp(obj: Record<string, unknown>, dotted: string, value: unknown): void {
  const parts = dotted.split('.');
  let cur = obj;
  for (const part of parts.slice(0, -1)) {
    if (typeof cur[part] !== 'object' || cur[part] === null) cur[part] = {};
    cur = cur[part] as Record<string, unknown>;
  }
  const last = parts[parts.length - 1];
  if (value === undefined) delete cur[last];
  else cur[last] = value;
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Applies the overrides of one stage to a StructureDefinition (differential or snapshot elements).
 * Returns the ids of the overrides applied; throws when an override no longer matches the published profile.
 */
export function applyStructureOverrides(sd: StructureDefinition, overrides: Override[], stage: 'differential' | 'snapshot'): string[] {
  const applied: string[] = [];
  const elements = stage === 'differential' ? sd.differential?.element : sd.snapshot?.element;
  for (const o of overrides) {
    if (o.stage !== stage || (o.target !== sd.url && o.target !== '*')) continue;
    if (o.op === 'keep') continue;
    if (!o.element) {
      // StructureDefinition-level change (e.g. a malformed baseDefinition)
      if (!o.property) throw new IgBuildError(`override ${o.id}: no property`);
      const current = getProp(sd as Record<string, unknown>, o.property);
      if (o.published !== undefined && !sameJson(current, o.published)) {
        throw new IgBuildError(`override ${o.id}: ${sd.url} ${o.property} is ${JSON.stringify(current)}, expected ${JSON.stringify(o.published)}`);
      }
      setProp(sd as Record<string, unknown>, o.property, o.op === 'remove' ? undefined : o.value);
      applied.push(o.id);
      continue;
    }
    const matches = (elements ?? []).filter((e) => e.id === o.element || (o.target === '*' && e.id?.endsWith(o.element as string)));
    if (matches.length === 0) {
      if (o.target === '*') continue;
      throw new IgBuildError(`override ${o.id}: element ${o.element} not found in ${sd.url} (${stage})`);
    }
    for (const el of matches) applyToElement(o, el, elements as ElementDefinition[]);
    applied.push(o.id);
  }
  return applied;
}

function applyToElement(o: Override, el: ElementDefinition, all: ElementDefinition[]): void {
  switch (o.op) {
    case 'set':
    case 'remove': {
      if (!o.property) throw new IgBuildError(`override ${o.id}: no property`);
      const current = getProp(el, o.property);
      if (o.published !== undefined && !sameJson(current, o.published)) {
        throw new IgBuildError(`override ${o.id}: ${el.id} ${o.property} is ${JSON.stringify(current)}, expected ${JSON.stringify(o.published)}`);
      }
      setProp(el, o.property, o.op === 'remove' ? undefined : o.value);
      return;
    }
    case 'rename': {
      // e.g. fixedIdentifier → patternIdentifier: same value, different semantics
      if (!o.property || typeof o.value !== 'string') throw new IgBuildError(`override ${o.id}: rename needs property and value`);
      const current = el[o.property];
      if (current === undefined || (o.published !== undefined && !sameJson(current, o.published))) {
        throw new IgBuildError(`override ${o.id}: ${el.id} ${o.property} is ${JSON.stringify(current)}, expected ${JSON.stringify(o.published)}`);
      }
      delete el[o.property];
      el[o.value] = current;
      return;
    }
    case 'remove-element': {
      // drops the element and its children (e.g. an element path that does not exist in FHIR)
      const prefix = `${el.id}.`;
      for (let i = all.length - 1; i >= 0; i--) {
        if (all[i].id === el.id || all[i].id?.startsWith(prefix)) all.splice(i, 1);
      }
      return;
    }
    case 'set-constraint': {
      const c = el.constraint?.find((x) => x.key === o.key);
      if (!c) throw new IgBuildError(`override ${o.id}: constraint ${o.key} not on ${el.id}`);
      if (o.published !== undefined && c.expression !== o.published) {
        throw new IgBuildError(`override ${o.id}: ${o.key} expression is ${c.expression}, expected ${String(o.published)}`);
      }
      c.expression = String(o.value);
      return;
    }
    default:
      throw new IgBuildError(`override ${o.id}: op ${o.op} not valid at stage ${o.stage}`);
  }
}

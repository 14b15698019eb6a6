import { z } from 'zod';

/**
 * A plugin's local ConceptMaps (FHIR R4 ConceptMap JSON): how its local codes (triage colours,
 * arrival modes, outcomes...) translate to standard or national codes. Mappings use them through
 * `$translate(code, conceptMap)`, where conceptMap is the map's url, id or name.
 */

const targetSchema = z.object({
  code: z.string().min(1).optional(),
  display: z.string().optional(),
  equivalence: z.enum(['relatedto', 'equivalent', 'equal', 'wider', 'subsumes', 'narrower', 'specializes', 'inexact', 'unmatched', 'disjoint']),
  comment: z.string().optional(),
});

const elementSchema = z.object({
  code: z.string().min(1),
  display: z.string().optional(),
  target: z.array(targetSchema).optional(),
});

const groupSchema = z.object({
  source: z.string().optional(),
  target: z.string().optional(),
  element: z.array(elementSchema).min(1),
  unmapped: z
    .object({
      mode: z.enum(['provided', 'fixed', 'other-map']),
      code: z.string().optional(),
      display: z.string().optional(),
      url: z.string().optional(),
    })
    .optional(),
});

export const conceptMapSchema = z.object({
  resourceType: z.literal('ConceptMap'),
  id: z.string().regex(/^[A-Za-z0-9\-.]{1,64}$/).optional(),
  url: z.string().optional(),
  name: z.string().optional(),
  version: z.string().optional(),
  status: z.enum(['draft', 'active', 'retired', 'unknown']),
  sourceUri: z.string().optional(),
  sourceCanonical: z.string().optional(),
  targetUri: z.string().optional(),
  targetCanonical: z.string().optional(),
  group: z.array(groupSchema).min(1),
});

export type ConceptMapResource = z.infer<typeof conceptMapSchema>;

/** The Coding a translation gives. */
export interface TranslatedCoding {
  system?: string;
  code: string;
  display?: string;
}

/** Equivalences that carry a usable target (unmatched/disjoint say "no translation"). */
const USABLE = new Set(['relatedto', 'equivalent', 'equal', 'wider', 'subsumes', 'narrower', 'specializes', 'inexact']);

/** Names under which a mapping may refer to a ConceptMap. */
export function conceptMapKeys(map: ConceptMapResource): string[] {
  return [map.url, map.id, map.name].filter((k): k is string => typeof k === 'string' && k.length > 0);
}

/**
 * Looks a code up in one ConceptMap: the first usable target of the first group that lists it
 * (restricted to groups of `sourceSystem` when given); else the group's `unmapped` rule; else undefined
 * (no translation: callers keep the local code).
 */
export function translateWith(map: ConceptMapResource, code: string, sourceSystem?: string): TranslatedCoding | undefined {
  const groups = sourceSystem ? map.group.filter((g) => !g.source || g.source === sourceSystem) : map.group;
  for (const group of groups) {
    const element = group.element.find((e) => e.code === code);
    const target = element?.target?.find((t) => USABLE.has(t.equivalence) && t.code);
    if (target?.code) return withoutUndefined({ system: group.target, code: target.code, display: target.display });
  }
  for (const group of groups) {
    const unmapped = group.unmapped;
    if (unmapped?.mode === 'provided') return withoutUndefined({ system: group.target, code });
    if (unmapped?.mode === 'fixed' && unmapped.code) return withoutUndefined({ system: group.target, code: unmapped.code, display: unmapped.display });
  }
  return undefined;
}

/** A Coding in FHIR's element order (system, code, display), without absent values. */
function withoutUndefined(coding: { system: string | undefined; code: string; display?: string | undefined }): TranslatedCoding {
  return {
    ...(coding.system ? { system: coding.system } : {}),
    code: coding.code,
    ...(coding.display ? { display: coding.display } : {}),
  };
}

/** Every ConceptMap a plugin can use, by url, id and name. */
export class ConceptMapIndex {
  private readonly byKey = new Map<string, ConceptMapResource>();

  constructor(readonly maps: readonly ConceptMapResource[]) {
    for (const map of maps) for (const key of conceptMapKeys(map)) if (!this.byKey.has(key)) this.byKey.set(key, map);
  }

  get(ref: string): ConceptMapResource | undefined {
    return this.byKey.get(ref);
  }

  keys(): string[] {
    return [...this.byKey.keys()];
  }
}

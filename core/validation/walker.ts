/**
 * The profile walker: follows the compiled snapshot alongside the instance and checks what Medplum's validator
 * leaves out — cardinality and fixed/pattern values inside backbone elements and slices, slice assignment and slice
 * contents (closed slicing, discriminator values, slices without discriminator), narrowed choice types, required and
 * extensible bindings, reference target types, FHIRPath invariants of the profile and of the base data types.
 *
 * Two modes: 'profile' (the element tree of a profile: every rule) and 'base' (a base type's tree reached below an
 * element the profile does not constrain: only bindings, data-type invariants and recursion, since Medplum already
 * checks base structure).
 */
import type { CompiledStructure, Constraint, ElementNode } from './model.ts';
import type { InvariantEngine } from './invariants.ts';
import type { Terminology } from './terminology.ts';
import type { IssueSeverity, ValidationIssue } from './types.ts';

/** A validation issue plus what the merge step needs to recognise duplicates of Medplum's issues. */
export interface RawIssue extends ValidationIssue {
  /** rule family + element path without indices, e.g. 'card|Encounter.location.location' */
  dedupeKey?: string;
}

export interface WalkerEnv {
  terminology: Terminology;
  invariants: InvariantEngine;
  /** compiled base data type / resource (R4) */
  baseStructure(type: string): CompiledStructure | undefined;
  /** compiled IG profile or extension by canonical url */
  igStructure(url: string): CompiledStructure | undefined;
  /** error-severity invariants on the root of a base data type (per-1, ref-1, cpt-2, ext-1…) */
  typeInvariants(type: string): Constraint[];
  /** resource type a target profile constrains, undefined when unknown */
  profileType(url: string): string | undefined;
  isPrimitive(type: string): boolean;
  skippedInvariants: Set<string>;
}

export interface WalkContext {
  issues: RawIssue[];
  profile?: string;
  resource: Record<string, unknown>;
  /** resource type of a literal reference (Bundle fullUrl, contained '#id', 'Type/id'), if it can be told */
  referenceType(ref: string): string | undefined;
  /** slice matching by content: count errors without reporting */
  quiet: boolean;
  errors: number;
}

type Mode = 'profile' | 'base';

interface Entry {
  key: string;
  value: unknown;
  type: string;
  path: string;
}

const COMPLEX_NO_RECURSE = new Set(['Resource', 'DomainResource']);

export function normalisePath(path: string): string {
  return path.replace(/\[\d+\]/g, '').replace(/\[x\]/g, '');
}

function typeCodeFromSuffix(suffix: string): string {
  const lower = suffix.charAt(0).toLowerCase() + suffix.slice(1);
  return PRIMITIVES.has(lower) ? lower : suffix;
}

const PRIMITIVES = new Set([
  'base64Binary', 'boolean', 'canonical', 'code', 'date', 'dateTime', 'decimal', 'id', 'instant', 'integer',
  'markdown', 'oid', 'positiveInt', 'string', 'time', 'unsignedInt', 'uri', 'url', 'uuid', 'xhtml',
]);

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => deepEqual(x, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao);
  return ak.length === Object.keys(bo).length && ak.every((k) => deepEqual(ao[k], bo[k]));
}

/** FHIR pattern semantics: every value in the pattern is present in the instance (arrays: each item matched). */
export function deepContains(actual: unknown, pattern: unknown): boolean {
  if (pattern === null || typeof pattern !== 'object') return actual === pattern;
  if (Array.isArray(pattern)) {
    if (!Array.isArray(actual)) return pattern.length === 1 && deepContains(actual, pattern[0]);
    return pattern.every((p) => actual.some((a) => deepContains(a, p)));
  }
  if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return false;
  const a = actual as Record<string, unknown>;
  return Object.entries(pattern as Record<string, unknown>).every(([k, v]) => deepContains(a[k], v));
}

function show(v: unknown): string {
  const s = JSON.stringify(v);
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}

function cardinality(min: number, max: number): string {
  return `${min}..${Number.isFinite(max) ? max : '*'}`;
}

export class ProfileWalker {
  /** base mode only needs children with a checkable binding or something to descend into */
  private readonly baseChildren = new WeakMap<ElementNode, ElementNode[]>();

  constructor(private readonly env: WalkerEnv) {}

  private childrenFor(node: ElementNode, mode: Mode): ElementNode[] {
    if (mode === 'profile') return node.children;
    let list = this.baseChildren.get(node);
    if (!list) {
      list = node.children.filter(
        (c) =>
          (c.binding && (c.binding.strength === 'required' || c.binding.strength === 'extensible')) ||
          c.children.length > 0 ||
          c.contentReference !== undefined ||
          c.types.some((t) => !this.env.isPrimitive(t.code)),
      );
      this.baseChildren.set(node, list);
    }
    return list;
  }

  private report(
    ctx: WalkContext,
    severity: IssueSeverity,
    code: string,
    path: string,
    message: string,
    rule: string,
    dedupeKey?: string,
  ): void {
    if (severity === 'error' || severity === 'fatal') ctx.errors++;
    if (ctx.quiet) return;
    const issue: RawIssue = { severity, code, path, message, rule };
    if (ctx.profile) issue.profile = ctx.profile;
    if (dedupeKey) issue.dedupeKey = dedupeKey;
    ctx.issues.push(issue);
  }

  /** Validates a resource against a compiled profile ('profile' mode) or a base resource ('base' mode). */
  validateResource(resource: Record<string, unknown>, structure: CompiledStructure, mode: Mode, ctx: WalkContext): void {
    const rootPath = String(resource.resourceType);
    if (mode === 'profile') this.checkConstraints(structure.root.constraints, rootPath, resource, rootPath, ctx);
    this.walkChildren(resource, structure.root, rootPath, mode, ctx, structure);
  }

  /** Resource-level base invariants that Medplum skips (dom-3, org-1); dom-3 only matters with contained resources. */
  checkRootInvariants(resource: Record<string, unknown>, rules: Constraint[], ctx: WalkContext): void {
    const type = String(resource.resourceType);
    const hasContained = Array.isArray(resource.contained) && resource.contained.length > 0;
    this.checkConstraints(rules.filter((c) => c.key !== 'dom-3' || hasContained), type, resource, type, ctx);
  }

  /** Bundle invariants (bdl-*) on the real Bundle: Medplum validates only its shell, without entry resources. */
  checkBundleInvariants(bundle: Record<string, unknown>, rootRules: Constraint[], entryRules: Constraint[], ctx: WalkContext): void {
    this.checkConstraints(rootRules, 'Bundle', bundle, 'Bundle', ctx);
    const entries = Array.isArray(bundle.entry) ? (bundle.entry as unknown[]) : [];
    entries.forEach((e, i) => {
      if (e && typeof e === 'object') this.checkConstraints(entryRules, 'Bundle.entry', e, `Bundle.entry[${i}]`, ctx);
    });
  }

  private entriesOf(obj: Record<string, unknown>, node: ElementNode, parentPath: string, siblings: ElementNode[]): Entry[] {
    const out: Entry[] = [];
    if (node.choice) {
      const stem = node.jsonName;
      for (const rawKey of Object.keys(obj)) {
        const underscore = rawKey.startsWith('_');
        const key = underscore ? rawKey.slice(1) : rawKey;
        if (underscore && key in obj) continue;
        if (!key.startsWith(stem) || key.length === stem.length || !/[A-Z]/.test(key.charAt(stem.length))) continue;
        if (siblings.some((s) => s !== node && s.jsonName === key)) continue;
        out.push({ key, value: underscore ? undefined : obj[key], type: typeCodeFromSuffix(key.slice(stem.length)), path: `${parentPath}.${key}` });
      }
      return out;
    }
    const key = node.jsonName;
    const value = obj[key];
    const ext = obj[`_${key}`];
    const type = node.types[0]?.code ?? (node.contentReference || node.children.length ? 'BackboneElement' : 'Element');
    if (Array.isArray(value) || (value === undefined && Array.isArray(ext))) {
      const arr = (Array.isArray(value) ? value : ext) as unknown[];
      arr.forEach((v, i) => out.push({ key, value: Array.isArray(value) ? (v ?? undefined) : undefined, type, path: `${parentPath}.${key}[${i}]` }));
    } else if (value !== undefined || ext !== undefined) {
      out.push({ key, value, type, path: `${parentPath}.${key}` });
    }
    return out;
  }

  private walkChildren(
    obj: Record<string, unknown>,
    node: ElementNode,
    path: string,
    mode: Mode,
    ctx: WalkContext,
    structure: CompiledStructure,
  ): void {
    const children = this.childrenFor(node, mode);
    for (const child of children) {
      const entries = this.entriesOf(obj, child, path, node.children);
      if (mode === 'profile') {
        if (entries.length < child.min) {
          this.report(ctx, 'error', 'required', `${path}.${child.jsonName}`,
            `Missing required element '${child.name}' (minimum ${child.min}, found ${entries.length})`, 'cardinality', `card|${normalisePath(`${path}.${child.jsonName}`)}`);
        } else if (entries.length > child.max) {
          this.report(ctx, 'error', 'structure', `${path}.${child.jsonName}`,
            `Too many values for '${child.name}': expected ${cardinality(child.min, child.max)}, found ${entries.length}`, 'cardinality', `card|${normalisePath(`${path}.${child.jsonName}`)}`);
        }
        if (child.choice && child.types.length) {
          for (const e of entries) {
            if (!child.types.some((t) => t.code === e.type)) {
              this.report(ctx, 'error', 'structure', e.path,
                `Type '${e.type}' is not allowed for ${child.path} (allowed: ${child.types.map((t) => t.code).join(', ')})`, 'choice-type', `extra|${normalisePath(e.path)}`);
            }
          }
        }
      }
      for (const e of entries) this.checkValue(child, e, mode, ctx, structure, false);
      if (mode === 'profile' && child.slicing && child.slices.length) this.checkSlicing(child, entries, `${path}.${child.jsonName}`, ctx, structure);
    }
  }

  private checkValue(node: ElementNode, e: Entry, mode: Mode, ctx: WalkContext, structure: CompiledStructure, sliceOnly: boolean): void {
    // null is a JSON-shape error Medplum reports; here it is treated as absent
    const value = e.value === null ? undefined : e.value;
    if (mode === 'profile') {
      if (node.fixed !== undefined && value !== undefined && !deepEqual(value, node.fixed)) {
        this.report(ctx, 'error', 'value', e.path, `Value ${show(value)} does not equal the fixed value ${show(node.fixed)}`, 'fixed', `value|${normalisePath(e.path)}`);
      }
      if (node.pattern !== undefined && value !== undefined && !deepContains(value, node.pattern)) {
        this.report(ctx, 'error', 'value', e.path, `Value ${show(value)} does not match the pattern ${show(node.pattern)}`, 'pattern', `value|${normalisePath(e.path)}`);
      }
      if (e.type === 'Reference' && value && typeof value === 'object') this.checkReference(node, value as Record<string, unknown>, e.path, ctx);
      if (node.constraints.length && value !== undefined) {
        this.checkConstraints(node.constraints, this.fhirpathBase(node, e), value, e.path, ctx);
      }
    }
    if (node.binding && value !== undefined) this.checkBinding(node, e, ctx);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return;
    const obj = value as Record<string, unknown>;
    if (!sliceOnly && !this.env.isPrimitive(e.type) && !COMPLEX_NO_RECURSE.has(e.type)) {
      const inv = this.env.typeInvariants(e.type);
      if (inv.length) this.checkConstraints(inv, e.type, value, e.path, ctx);
    }
    // recurse
    if (e.type === 'Resource' || e.type === 'DomainResource') return; // contained / Bundle entries: validated on their own
    const extProfile = e.type === 'Extension' ? node.types[0]?.profiles[0] : undefined;
    const extStructure = extProfile ? this.env.igStructure(extProfile) : e.type === 'Extension' && typeof obj.url === 'string' ? this.env.igStructure(obj.url) : undefined;
    if (extStructure && extStructure.type === 'Extension') {
      this.walkChildren(obj, extStructure.root, e.path, 'profile', ctx, extStructure);
      const own = node.children.filter((c) => c.name !== 'url');
      if (mode === 'profile' && own.length) this.walkChildren(obj, node, e.path, 'profile', ctx, structure);
      return;
    }
    if (node.children.length) {
      this.walkChildren(obj, node, e.path, mode, ctx, structure);
      return;
    }
    if (node.contentReference) {
      const target = structure.byId.get(node.contentReference);
      if (target) this.walkChildren(obj, target, e.path, mode, ctx, structure);
      return;
    }
    if (sliceOnly) return;
    const base = this.env.baseStructure(e.type);
    if (base) this.walkChildren(obj, base.root, e.path, 'base', ctx, base);
  }

  private fhirpathBase(node: ElementNode, e: Entry): string {
    if (!this.env.isPrimitive(e.type) && e.type !== 'BackboneElement' && e.type !== 'Element') return e.type;
    return node.choice ? node.path.replace('[x]', e.type.charAt(0).toUpperCase() + e.type.slice(1)) : node.path;
  }

  private checkConstraints(constraints: Constraint[], base: string, value: unknown, path: string, ctx: WalkContext): void {
    for (const c of constraints) {
      if (this.env.skippedInvariants.has(c.key)) continue;
      if (ctx.quiet && c.severity !== 'error') continue; // slice matching only cares about errors

      const out = this.env.invariants.evaluate(base, c.expression, value, ctx.resource);
      if (out.ok) continue;
      if ('error' in out) {
        this.report(ctx, 'warning', 'processing', path, `Invariant ${c.key} could not be evaluated: ${out.error}`, c.key);
      } else {
        this.report(ctx, c.severity, 'invariant', path, `Constraint ${c.key} failed: ${c.human}`, c.key, `inv:${c.key}|${normalisePath(path)}`);
      }
    }
  }

  private checkReference(node: ElementNode, ref: Record<string, unknown>, path: string, ctx: WalkContext): void {
    const reference = ref.reference;
    if (typeof reference !== 'string') return;
    const actual = ctx.referenceType(reference);
    if (!actual) return;
    const allowed = new Set<string>();
    for (const t of node.types) {
      if (t.code !== 'Reference') continue;
      if (!t.targetProfiles.length) return;
      for (const p of t.targetProfiles) {
        const type = this.env.profileType(p);
        if (!type) return; // a target we cannot resolve: do not judge
        allowed.add(type);
      }
    }
    if (!allowed.size || allowed.has('Resource') || allowed.has(actual)) return;
    this.report(ctx, 'error', 'structure', `${path}.reference`,
      `Reference to a ${actual} where ${[...allowed].join(' | ')} is required by ${node.path}`, 'reference-target');
  }

  private checkBinding(node: ElementNode, e: Entry, ctx: WalkContext): void {
    const b = node.binding as NonNullable<ElementNode['binding']>;
    if (b.strength !== 'required' && b.strength !== 'extensible') return;
    const term = this.env.terminology;
    if (!term.has(b.valueSet)) return; // unresolvable value sets are listed in ig/manifest.json
    const severity: IssueSeverity = b.strength === 'required' ? 'error' : 'warning';
    const what = `${b.strength} value set ${b.valueSet}`;
    const v = e.value;
    switch (e.type) {
      case 'code':
      case 'string':
      case 'uri':
      case 'canonical': {
        if (typeof v !== 'string') return;
        if (term.checkCode(b.valueSet, v) === 'not-in') {
          this.report(ctx, severity, 'code-invalid', e.path, `Code '${v}' is not in the ${what}`, 'binding');
        }
        return;
      }
      case 'Coding': {
        if (!v || typeof v !== 'object' || Array.isArray(v)) return;
        const c = v as { system?: unknown; code?: unknown };
        if ((c.system !== undefined && typeof c.system !== 'string') || (c.code !== undefined && typeof c.code !== 'string')) return;
        if (term.checkCoding(b.valueSet, c.system as string | undefined, c.code as string | undefined) === 'not-in') {
          this.report(ctx, severity, 'code-invalid', e.path, `Coding ${String(c.system ?? '(no system)')}|${String(c.code ?? '(no code)')} is not in the ${what}`, 'binding');
        }
        return;
      }
      case 'CodeableConcept': {
        if (!v || typeof v !== 'object' || Array.isArray(v)) return;
        const raw = (v as { coding?: unknown }).coding;
        const codings = (Array.isArray(raw) ? raw : [])
          .filter((c): c is { system?: string; code?: string } => !!c && typeof c === 'object' && !Array.isArray(c))
          .filter((c) => (c.system === undefined || typeof c.system === 'string') && (c.code === undefined || typeof c.code === 'string'));
        if (raw !== undefined && !Array.isArray(raw)) return; // wrong JSON shape: Medplum's finding
        if (!codings.length) {
          if (b.strength === 'required') this.report(ctx, 'error', 'code-invalid', e.path, `No coding given; a code from the ${what} is required`, 'binding');
          return;
        }
        const results = codings.map((c) => term.checkCoding(b.valueSet, c.system, c.code));
        if (results.every((r) => r === 'not-in')) {
          const shown = codings.map((c) => `${c.system ?? '(no system)'}|${c.code ?? '(no code)'}`).join(', ');
          this.report(ctx, severity, 'code-invalid', e.path, `None of the codings (${shown}) is in the ${what}`, 'binding');
        }
        return;
      }
      default:
        return; // Quantity units etc.: not checked
    }
  }

  // ---- slicing -------------------------------------------------------------------------------------------------

  private checkSlicing(node: ElementNode, entries: Entry[], path: string, ctx: WalkContext, structure: CompiledStructure): void {
    const slicing = node.slicing as NonNullable<ElementNode['slicing']>;
    const counts = new Map<ElementNode, number>(node.slices.map((s) => [s, 0]));
    for (const e of entries) {
      const slice = node.slices.find((s) => this.matchesSlice(node, s, e, ctx, structure));
      if (slice) {
        counts.set(slice, (counts.get(slice) ?? 0) + 1);
        this.checkValue(slice, e, 'profile', ctx, structure, true);
      } else if (slicing.rules === 'closed') {
        this.report(ctx, 'error', 'structure', e.path,
          `Value does not match any slice of ${node.path} and the slicing is closed (slices: ${node.slices.map((s) => s.sliceName).join(', ')})`, 'slice-closed');
      }
    }
    for (const [slice, n] of counts) {
      if (n < slice.min || n > slice.max) {
        this.report(ctx, 'error', n < slice.min ? 'required' : 'structure', path,
          `Slice '${slice.sliceName}' of ${node.path}: expected ${cardinality(slice.min, slice.max)} value(s), found ${n}`, 'slice-cardinality',
          `slice:${slice.sliceName}|${normalisePath(path)}`);
      }
    }
  }

  private matchesSlice(host: ElementNode, slice: ElementNode, e: Entry, ctx: WalkContext, structure: CompiledStructure): boolean {
    const discriminators = host.slicing?.discriminators ?? [];
    if (!discriminators.length) {
      // no discriminator: the value belongs to the first slice it conforms to
      const probe: WalkContext = { ...ctx, issues: [], quiet: true, errors: 0 };
      this.checkValue(slice, e, 'profile', probe, structure, true);
      return probe.errors === 0;
    }
    return discriminators.every((d) => {
      switch (d.type) {
        case 'value':
        case 'pattern': {
          const expected = sliceValueAt(slice, d.path);
          if (!expected) return false;
          const actual = d.path === '$this' ? [e.value] : navigate(e.value, d.path);
          return actual.some((a) => (expected.kind === 'fixed' ? deepEqual(a, expected.value) : deepContains(a, expected.value)));
        }
        case 'type': {
          if (d.path === '$this') return slice.types.some((t) => t.code === e.type);
          if (d.path === 'resolve()') {
            const ref = (e.value as { reference?: unknown } | undefined)?.reference;
            const actual = typeof ref === 'string' ? ctx.referenceType(ref) : undefined;
            if (!actual) return false;
            return slice.types.some((t) => t.targetProfiles.some((p) => this.env.profileType(p) === actual));
          }
          return false;
        }
        case 'exists': {
          const present = navigate(e.value, d.path).length > 0;
          const child = findChild(slice, d.path.split('.'));
          if (!child) return false;
          return child.min > 0 ? present : child.max === 0 ? !present : false;
        }
        default:
          return false; // 'profile' discriminators are not evaluated
      }
    });
  }

  /** The value a slice fixes at a discriminator path: on the element itself or inside a fixed/pattern ancestor. */
}

function findChild(node: ElementNode, segments: string[]): ElementNode | undefined {
  let cur: ElementNode | undefined = node;
  for (const s of segments) cur = cur?.children.find((c) => c.jsonName === s || c.name === s);
  return cur;
}

/** Simple dotted-path navigation over FHIR JSON (arrays flattened), enough for slicing discriminators. */
/** The value a slice fixes (or patterns) at a discriminator path: on the element, or inside an ancestor's fixed value. */
export function sliceValueAt(slice: ElementNode, path: string): { kind: 'fixed' | 'pattern'; value: unknown } | undefined {
  const own = (n: ElementNode): { kind: 'fixed' | 'pattern'; value: unknown } | undefined =>
    n.fixed !== undefined ? { kind: 'fixed', value: n.fixed } : n.pattern !== undefined ? { kind: 'pattern', value: n.pattern } : undefined;
  if (path === '$this') return own(slice);
  const segments = path.split('.');
  let node: ElementNode = slice;
  for (let i = 0; i < segments.length; i++) {
    const holder = own(node);
    if (holder) {
      const inside = navigate(holder.value, segments.slice(i).join('.'));
      return inside.length ? { kind: holder.kind, value: inside[0] } : undefined;
    }
    const child = node.children.find((c) => c.jsonName === segments[i] || c.name === segments[i]);
    if (!child) {
      // an extension slice whose url child is not expanded: the profile in its type is the url
      if (segments[i] === 'url' && i === segments.length - 1 && node.types[0]?.profiles[0]) return { kind: 'fixed', value: node.types[0].profiles[0] };
      return undefined;
    }
    node = child;
  }
  return own(node);
}

export function navigate(value: unknown, path: string): unknown[] {
  let cur: unknown[] = value === undefined ? [] : [value];
  for (const seg of path.split('.')) {
    if (seg === '$this') continue;
    const next: unknown[] = [];
    for (const v of cur) {
      if (v === null || typeof v !== 'object') continue;
      const x = (v as Record<string, unknown>)[seg];
      if (Array.isArray(x)) next.push(...x.filter((i) => i !== null && i !== undefined));
      else if (x !== undefined && x !== null) next.push(x);
    }
    cur = next;
  }
  return cur;
}

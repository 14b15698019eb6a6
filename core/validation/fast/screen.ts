/**
 * The conformance screen: one pass over a resource along the compiled plans, checking everything the reference
 * engine checks (Medplum's structure rules and the profile walker's rules). It stops at the first thing either of
 * them would report — an error, a Medplum warning, anything it cannot decide — except the two warnings it can word
 * exactly as the walker does (extensible bindings, failed warning-level invariants), which it collects with their
 * paths. A resource the screen accepts gets from the reference engine exactly those warnings (or nothing); a stopped
 * one is handed to the reference engine, which explains it.
 *
 * So the screen may stop more often than necessary (that only costs time) but must never accept what the reference
 * engine would report otherwise: where a rule is subtle it stops (primitive extensions `_x`, contained resources,
 * invariants it cannot evaluate).
 */
import { getAllDataTypes, getNestedProperty, matchDiscriminant, type TypedValue } from '@medplum/core';
import type { CompiledStructure, Constraint, ElementNode } from '../model.ts';
import type { Terminology } from '../terminology.ts';
import type { ValidationIssue } from '../types.ts';
import { deepContains, deepEqual, navigate, sliceValueAt, type WalkerEnv } from '../walker.ts';
import type { FastInvariants } from './invariants.ts';
import type { ChildPlan, KeyPlan, PlanCompiler } from './plan.ts';
import { isPrimitiveCode } from './primitives.ts';

/** Thrown to stop the screen at the first finding; `reason` says which rule (for tests and diagnostics). */
export class Rejected {
  constructor(readonly reason: string) {}
}

function reject(reason: string): never {
  throw new Rejected(reason);
}

/** What the screen shares with the reference walker's environment, plus its own plans and invariants. */
export interface ScreenEnv extends Pick<WalkerEnv, 'terminology' | 'baseStructure' | 'igStructure' | 'typeInvariants' | 'profileType'> {
  plans: PlanCompiler;
  invariants: FastInvariants;
  /** resource type of a literal reference (Bundle fullUrl, 'Type/id'), as the reference engine tells it */
  referenceType(ref: string, refTypes: Map<string, string> | undefined): string | undefined;
  /** invariant keys switched off for the walker by ig/overrides.json */
  skippedInvariants: Set<string>;
}

export interface ScreenContext {
  resource: Record<string, unknown>;
  /** fullUrl → resource type of the enclosing Bundles' entries */
  refTypes: Map<string, string> | undefined;
  /** slice matching without discriminators: only errors count (the walker's quiet probe) */
  errorsOnly: boolean;
  /** private Medplum type name of the profile being checked, for its slice counts */
  medplumType?: string;
  /** canonical URL of the profile being checked (the `profile` of the walker's issues) */
  profile?: string;
  /** the walker's path of the value being checked: the resource type, then '.key' segments and array indices */
  path: Array<string | number>;
  /**
   * warnings the walker reports and the screen can state exactly (extensible bindings, warning invariants),
   * in the walker's order; anything else stops the screen
   */
  soft: ValidationIssue[];
}

const NO_RECURSE = new Set(['Resource', 'DomainResource']);

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export class Screen {
  constructor(private readonly env: ScreenEnv) {}

  /** Checks a resource (not its Bundle entries) against a compiled profile or base resource structure. */
  checkResource(resource: Record<string, unknown>, structure: CompiledStructure, ctx: ScreenContext): void {
    const type = String(resource.resourceType);
    ctx.path.length = 0;
    ctx.path.push(type);
    for (const c of this.env.plans.rootStrictConstraints(structure)) this.strict(c, type, resource, ctx);
    // the walker evaluates a structure's own root invariants in profile mode only
    if (this.env.plans.isProfile(structure)) for (const c of structure.root.constraints) this.lenient(c, type, resource, ctx);
    this.walkObject(resource, structure, structure.root, ctx, true, true);
  }

  /** Invariants on the resource root that only the walker evaluates (org-1). */
  checkRootRules(resource: Record<string, unknown>, type: string, rules: Constraint[], ctx: ScreenContext): void {
    ctx.path.length = 0;
    ctx.path.push(type);
    for (const c of rules) this.lenient(c, type, resource, ctx);
  }

  /** Bundle invariants on the Bundle and each entry (evaluated on the real Bundle, as the walker does). */
  checkBundle(bundle: Record<string, unknown>, rootRules: Constraint[], entryRules: Constraint[], ctx: ScreenContext): void {
    ctx.path.length = 0;
    ctx.path.push('Bundle');
    for (const c of rootRules) this.lenient(c, 'Bundle', bundle, ctx);
    const entries = Array.isArray(bundle.entry) ? (bundle.entry as unknown[]) : [];
    ctx.path.push('.entry', 0);
    entries.forEach((e, i) => {
      ctx.path[2] = i;
      if (isObject(e)) for (const c of entryRules) this.lenient(c, 'Bundle.entry', e, ctx);
    });
  }

  private strict(c: Constraint, base: string, value: unknown, ctx: ScreenContext): void {
    const v = this.env.invariants.evaluate(base, c.expression, value, ctx.resource);
    if (v !== 'true') reject(`invariant ${c.key}`);
  }

  private lenient(c: Constraint, base: string, value: unknown, ctx: ScreenContext): void {
    if (this.env.skippedInvariants.has(c.key)) return;
    if (ctx.errorsOnly && c.severity !== 'error') return;
    const v = this.env.invariants.evaluate(base, c.expression, value, ctx.resource);
    if (v === 'error' || (v === 'false' && c.severity === 'error')) reject(`invariant ${c.key}`);
    if (v === 'false') this.warn(ctx, 'invariant', `Constraint ${c.key} failed: ${c.human}`, c.key);
  }

  /** A warning exactly as the walker words it (see walker.ts report()). */
  private warn(ctx: ScreenContext, code: string, message: string, rule: string): void {
    let path = '';
    for (const seg of ctx.path) path += typeof seg === 'number' ? `[${seg}]` : seg;
    const issue: ValidationIssue = { severity: 'warning', code, path, message, rule };
    if (ctx.profile) issue.profile = ctx.profile;
    ctx.soft.push(issue);
  }

  /**
   * The keys of an object, each checked once along its element's plan in the walker's order (children order), then
   * the children that must be present. `visible`: the walker visits this object (it does not below elements a
   * profile lists only partly).
   */
  private walkObject(obj: Record<string, unknown>, structure: CompiledStructure, node: ElementNode, ctx: ScreenContext, isResource: boolean, visible: boolean): void {
    const plan = this.env.plans.objectPlan(structure, node);
    let present: KeyPlan[] | undefined;
    let ordered = true;
    let last = -1;
    for (const key in obj) {
      if (isResource && key === 'resourceType') continue;
      const kp = plan.byKey.get(key);
      if (!kp) reject(`unknown or unsupported key ${key}`);
      (present ??= []).push(kp);
      const index = kp.child.index;
      if (index < last) ordered = false;
      else if (index === last) reject(`two values for choice ${kp.child.node.path}`);
      last = index;
    }
    for (const child of plan.required) {
      let found = false;
      for (const kp of child.keys) if (obj[kp.key] !== undefined) found = true;
      if (!found) reject(`missing ${child.node.path}`);
    }
    if (!present) return;
    if (!ordered) {
      present.sort((a, b) => a.child.index - b.child.index);
      for (let i = 1; i < present.length; i++) {
        if ((present[i] as KeyPlan).child === (present[i - 1] as KeyPlan).child) reject('two values for choice');
      }
    }
    for (const kp of present) this.checkChild(obj, kp, ctx, visible && !kp.child.merged);
  }

  private checkChild(obj: Record<string, unknown>, kp: KeyPlan, ctx: ScreenContext, visible: boolean): void {
    const child = kp.child;
    const node = child.node;
    const value = obj[kp.key];
    if (value === null) reject('null value');
    let count: number;
    if (Array.isArray(value)) {
      if (!child.isArray) reject(`array for single ${node.path}`);
      count = value.length;
      if (count === 0) reject('empty array');
    } else {
      if (child.isArray) reject(`single value for array ${node.path}`);
      count = 1;
    }
    if (count < node.min || count > node.max) reject(`cardinality ${node.path}`);
    const path = ctx.path;
    path.push(kp.dotKey);
    if (Array.isArray(value)) {
      const depth = path.length;
      path.push(0);
      for (let i = 0; i < value.length; i++) {
        path[depth] = i;
        this.checkValue(child, kp, value[i], ctx, false, visible);
      }
      path.pop();
      if (node.slicing && node.slices.length) this.checkSlicing(child, kp, value, ctx, true, visible);
    } else {
      this.checkValue(child, kp, value, ctx, false, visible);
      if (node.slicing && node.slices.length) this.checkSlicing(child, kp, [value], ctx, false, visible);
    }
    path.pop();
  }

  /** One value of an element: every rule of the element, then its content. `sliceOnly`: the walker's slice pass. */
  private checkValue(child: ChildPlan, kp: KeyPlan, value: unknown, ctx: ScreenContext, sliceOnly: boolean, visible: boolean): void {
    const node = child.node;
    if (value === null || value === undefined) reject('null value');
    if (!sliceOnly) {
      if (kp.primitive) {
        if (!kp.primitive(value)) reject(`${kp.type} format at ${node.path}`);
      } else if (!isObject(value) || Object.keys(value).length === 0) {
        reject(`empty or malformed ${kp.type} at ${node.path}`);
      }
    }
    if (node.fixed !== undefined && !deepEqual(value, node.fixed)) reject(`fixed value ${node.path}`);
    if (node.pattern !== undefined && !deepContains(value, node.pattern)) reject(`pattern ${node.path}`);
    if (kp.type === 'Reference' && isObject(value)) {
      if (!ctx.errorsOnly && !sliceOnly) this.medplumReference(child, value);
      if (child.mode === 'profile') this.walkerReference(node, value, ctx);
    }
    if (!sliceOnly) for (const c of child.strictConstraints) this.strict(c, this.fhirpathBase(node, kp.type), value, ctx);
    // the walker's order from here: the profile's invariants, the binding, the type's invariants, the content
    for (const c of child.lenientConstraints) this.lenient(c, this.fhirpathBase(node, kp.type), value, ctx);
    if (node.binding && visible) this.checkBinding(node, kp.type, value, ctx);
    if (!isObject(value)) return;
    if (!sliceOnly && !isPrimitiveCode(kp.type) && !NO_RECURSE.has(kp.type)) {
      for (const c of this.env.typeInvariants(kp.type)) this.lenient(c, kp.type, value, ctx);
    }
    if (NO_RECURSE.has(kp.type)) {
      // Bundle entries are checked on their own; contained resources are left to the reference engine
      if (node.path !== 'Bundle.entry.resource') reject('contained resource');
      return;
    }
    const structure = child.structure;
    if (kp.type === 'Extension') {
      const extProfile = node.types[0]?.profiles[0];
      const ext = extProfile ? this.env.igStructure(extProfile) : typeof value.url === 'string' ? this.env.igStructure(value.url) : undefined;
      if (ext && ext.type === 'Extension') {
        this.walkObject(value, ext, ext.root, ctx, false, visible);
        if (child.mode === 'profile' && node.children.some((c) => c.name !== 'url')) this.walkObject(value, structure, node, ctx, false, visible);
        return;
      }
    }
    if (node.children.length) return this.walkObject(value, structure, node, ctx, false, visible);
    if (node.contentReference) {
      const target = structure.byId.get(node.contentReference);
      if (!target) reject(`unresolved content reference ${node.contentReference}`);
      return this.walkObject(value, structure, target, ctx, false, visible);
    }
    if (sliceOnly) return;
    const base = this.env.baseStructure(kp.type);
    if (!base) reject(`no definition for type ${kp.type}`);
    this.walkObject(value, base, base.root, ctx, false, visible);
  }

  private fhirpathBase(node: ElementNode, type: string): string {
    if (!isPrimitiveCode(type) && type !== 'BackboneElement' && type !== 'Element') return type;
    return node.choice ? node.path.replace('[x]', type.charAt(0).toUpperCase() + type.slice(1)) : node.path;
  }

  /**
   * Required and extensible bindings to local value sets (the walker's semantics: only 'not-in' is reported).
   * A required one stops the screen; an extensible one is a warning, worded as the walker words it.
   */
  private checkBinding(node: ElementNode, type: string, v: unknown, ctx: ScreenContext): void {
    const b = node.binding as NonNullable<ElementNode['binding']>;
    if (b.strength !== 'required' && b.strength !== 'extensible') return;
    if (ctx.errorsOnly && b.strength !== 'required') return;
    const term = this.env.terminology;
    if (!term.has(b.valueSet)) return;
    switch (type) {
      case 'code':
      case 'string':
      case 'uri':
      case 'canonical':
        if (typeof v === 'string' && term.checkCode(b.valueSet, v) === 'not-in') this.bindingFinding(node, ctx, `Code '${v}' is not in the`);
        return;
      case 'Coding': {
        if (!isObject(v)) return;
        const { system, code } = v;
        if ((system !== undefined && typeof system !== 'string') || (code !== undefined && typeof code !== 'string')) return;
        if (term.checkCoding(b.valueSet, system, code) === 'not-in') this.bindingFinding(node, ctx, `Coding ${system ?? '(no system)'}|${code ?? '(no code)'} is not in the`);
        return;
      }
      case 'CodeableConcept': {
        if (!isObject(v)) return;
        const raw = v.coding;
        if (raw !== undefined && !Array.isArray(raw)) return;
        const usable: Array<{ system?: string; code?: string }> = [];
        for (const c of (raw ?? []) as unknown[]) {
          if (!isObject(c)) continue;
          const { system, code } = c;
          if ((system !== undefined && typeof system !== 'string') || (code !== undefined && typeof code !== 'string')) continue;
          if (term.checkCoding(b.valueSet, system, code) !== 'not-in') return;
          usable.push({ system, code });
        }
        if (!usable.length) {
          if (b.strength === 'required') reject(`binding ${node.path}`);
          return;
        }
        this.bindingFinding(node, ctx, `None of the codings (${usable.map((c) => `${c.system ?? '(no system)'}|${c.code ?? '(no code)'}`).join(', ')}) is in the`);
        return;
      }
      default:
        return;
    }
  }

  /** A value outside a bound value set: stops the screen (required) or is the walker's warning (extensible). */
  private bindingFinding(node: ElementNode, ctx: ScreenContext, message: string): void {
    const b = node.binding as NonNullable<ElementNode['binding']>;
    if (b.strength === 'required') reject(`binding ${node.path}`);
    this.warn(ctx, 'code-invalid', `${message} ${b.strength} value set ${b.valueSet}`, 'binding');
  }

  /** Medplum's reference target check (a warning there): literal 'Type/id' against HL7 target profiles. */
  private medplumReference(child: ChildPlan, value: Record<string, unknown>): void {
    if (child.anyReferenceTarget) return;
    const reference = value.reference;
    if (typeof reference !== 'string' || reference.startsWith('#')) return;
    const q = reference.indexOf('?');
    const end = q >= 0 ? q : reference.indexOf('/');
    const refType = end >= 0 ? reference.slice(0, end) : reference;
    if (!refType || child.referenceTargetTypes.has(refType)) return;
    reject(`reference target (Medplum) ${child.node.path}`);
  }

  /** The walker's reference target check against the profile's target profiles. */
  private walkerReference(node: ElementNode, ref: Record<string, unknown>, ctx: ScreenContext): void {
    const reference = ref.reference;
    if (typeof reference !== 'string') return;
    const allowed = this.allowedTargets(node);
    if (!allowed) return;
    const actual = this.env.referenceType(reference, ctx.refTypes);
    if (!actual || allowed.has(actual)) return;
    reject(`reference target ${node.path}`);
  }

  private readonly targetTypes = new WeakMap<ElementNode, Set<string> | null>();

  /** Resource types the element's target profiles allow; null when the walker does not judge (any, or unknown). */
  private allowedTargets(node: ElementNode): Set<string> | null {
    const cached = this.targetTypes.get(node);
    if (cached !== undefined) return cached;
    const allowed = new Set<string>();
    let judge = true;
    outer: for (const t of node.types) {
      if (t.code !== 'Reference') continue;
      if (!t.targetProfiles.length) {
        judge = false;
        break;
      }
      for (const p of t.targetProfiles) {
        const type = this.env.profileType(p);
        if (!type) {
          judge = false;
          break outer;
        }
        allowed.add(type);
      }
    }
    const result = judge && allowed.size && !allowed.has('Resource') ? allowed : null;
    this.targetTypes.set(node, result);
    return result;
  }

  // ---- slicing: the walker's assignment and counts, plus Medplum's own slice counts --------------------------------

  /** `indexed`: the values came from a JSON array (their paths carry [i]). */
  private checkSlicing(child: ChildPlan, kp: KeyPlan, values: unknown[], ctx: ScreenContext, indexed: boolean, visible: boolean): void {
    const host = child.node;
    const slicing = host.slicing as NonNullable<ElementNode['slicing']>;
    const counts = new Array<number>(host.slices.length).fill(0);
    const path = ctx.path;
    const depth = path.length;
    for (let n = 0; n < values.length; n++) {
      const value = values[n];
      if (indexed) path.push(n);
      let i = 0;
      while (i < host.slices.length && !this.matchesSlice(child, host.slices[i] as ElementNode, kp, value, ctx, visible)) i++;
      if (i < host.slices.length) {
        (counts[i] as number)++;
        this.checkValue(this.slicePlan(child, host.slices[i] as ElementNode), kp, value, ctx, true, visible);
      } else if (slicing.rules === 'closed') {
        reject(`closed slicing ${host.path}`);
      }
      path.length = depth;
    }
    host.slices.forEach((s, i) => {
      if (counts[i] < s.min || counts[i] > s.max) reject(`slice cardinality ${host.path}:${String(s.sliceName)}`);
    });
    if (ctx.medplumType && !ctx.errorsOnly) this.medplumSliceCounts(child, kp, values, ctx.medplumType);
  }

  private readonly slicePlans = new WeakMap<ElementNode, ChildPlan>();

  private slicePlan(host: ChildPlan, slice: ElementNode): ChildPlan {
    let plan = this.slicePlans.get(slice);
    if (!plan) {
      plan = { ...host, node: slice, mode: 'profile', strictConstraints: [], lenientConstraints: slice.constraints };
      this.slicePlans.set(slice, plan);
    }
    return plan;
  }

  private matchesSlice(host: ChildPlan, slice: ElementNode, kp: KeyPlan, value: unknown, ctx: ScreenContext, visible: boolean): boolean {
    const discriminators = host.node.slicing?.discriminators ?? [];
    if (!discriminators.length) {
      // a child the slice fixes with another value: the probe would fail on it, no need to run it
      if (isObject(value)) {
        for (const [key, fixed] of fixedChildren(slice)) {
          const v = value[key];
          if (v !== undefined && !deepEqual(v, fixed)) return false;
        }
      }
      // the walker's quiet probe: the first slice the value conforms to (errors only)
      const depth = ctx.path.length;
      const errorsOnly = ctx.errorsOnly;
      ctx.errorsOnly = true;
      try {
        this.checkValue(this.slicePlan(host, slice), kp, value, ctx, true, visible);
        return true;
      } catch (e) {
        if (e instanceof Rejected) return false;
        throw e;
      } finally {
        ctx.path.length = depth;
        ctx.errorsOnly = errorsOnly;
      }
    }
    return discriminators.every((d) => {
      switch (d.type) {
        case 'value':
        case 'pattern': {
          const expected = sliceValueAt(slice, d.path);
          if (!expected) return false;
          const actual = d.path === '$this' ? [value] : navigate(value, d.path);
          return actual.some((a) => (expected.kind === 'fixed' ? deepEqual(a, expected.value) : deepContains(a, expected.value)));
        }
        case 'type': {
          if (d.path === '$this') return slice.types.some((t) => t.code === kp.type);
          if (d.path === 'resolve()') {
            const ref = isObject(value) ? value.reference : undefined;
            const actual = typeof ref === 'string' ? this.env.referenceType(ref, ctx.refTypes) : undefined;
            if (!actual) return false;
            return slice.types.some((t) => t.targetProfiles.some((p) => this.env.profileType(p) === actual));
          }
          return false;
        }
        case 'exists': {
          const isPresent = navigate(value, d.path).length > 0;
          const target = findChild(slice, d.path.split('.'));
          if (!target) return false;
          return target.min > 0 ? isPresent : target.max === 0 ? !isPresent : false;
        }
        default:
          return false;
      }
    });
  }

  /**
   * Medplum counts slices with its own matcher (value/pattern/type discriminators only) and reports counts outside
   * a slice's cardinality. Counted here with Medplum's own functions, only for slices whose count can be wrong.
   */
  private medplumSliceCounts(child: ChildPlan, kp: KeyPlan, values: unknown[], medplumType: string): void {
    const rules = this.medplumSlicing(child, medplumType);
    if (!rules) return;
    const counts = new Map<string, number>();
    for (const v of values) {
      const typed: TypedValue = { type: kp.type, value: v };
      for (const slice of rules.slices) {
        const match = rules.discriminator.every((d) => {
          const nested = getNestedProperty(typed, d.path);
          return nested.some((x) => matchDiscriminant(x, d, slice));
        });
        if (match) {
          counts.set(slice.name, (counts.get(slice.name) ?? 0) + 1);
          break;
        }
      }
    }
    for (const s of rules.slices) {
      const n = counts.get(s.name) ?? 0;
      if (n < s.min || n > s.max) reject(`slice cardinality (Medplum) ${child.node.path}:${s.name}`);
    }
  }

  private medplumSlicing(child: ChildPlan, medplumType: string): MedplumSlicing | undefined {
    const cached = child.medplumSlicing;
    if (cached && cached.type === medplumType) return (cached.rules as MedplumSlicing | null) ?? undefined;
    let rules: MedplumSlicing | null = null;
    const schema = getAllDataTypes()[medplumType] as unknown as { type?: string; elements?: Record<string, { slicing?: MedplumSlicing }> } | undefined;
    const path = child.node.path;
    const rel = schema?.type && path.startsWith(`${schema.type}.`) ? path.slice(schema.type.length + 1) : undefined;
    const slicing = rel ? schema?.elements?.[rel]?.slicing : undefined;
    if (slicing && slicing.slices.some((s) => s.min > 0 || Number.isFinite(s.max))) rules = slicing;
    child.medplumSlicing = { type: medplumType, rules };
    return rules ?? undefined;
  }
}

interface MedplumSlicing {
  discriminator: Array<{ type: string; path: string }>;
  slices: Array<Parameters<typeof matchDiscriminant>[2]>;
}

const fixedChildrenCache = new WeakMap<ElementNode, Array<[string, unknown]>>();

/** Single-valued children of a slice that have a fixed value (e.g. identifier:codiceFiscale.system). */
function fixedChildren(slice: ElementNode): Array<[string, unknown]> {
  let list = fixedChildrenCache.get(slice);
  if (!list) {
    list = slice.children.filter((c) => !c.choice && c.max === 1 && c.fixed !== undefined).map((c) => [c.jsonName, c.fixed] as [string, unknown]);
    fixedChildrenCache.set(slice, list);
  }
  return list;
}

function findChild(node: ElementNode, segments: string[]): ElementNode | undefined {
  let cur: ElementNode | undefined = node;
  for (const s of segments) cur = cur?.children.find((c) => c.jsonName === s || c.name === s);
  return cur;
}


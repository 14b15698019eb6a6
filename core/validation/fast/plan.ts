/**
 * Checking plans: for one element of a compiled structure, the table of the JSON keys an instance object may carry
 * there, each with what is precomputed for it (element node, JSON type, array-or-single, the invariants of both
 * reference evaluators). Built lazily on first use and cached per element node, so a profile is compiled once.
 */
import type { CompiledStructure, Constraint, ElementDefinitionLike, ElementNode, StructureDefinitionLike } from '../model.ts';
import { isBaseConstraint } from '../model.ts';
import { isPrimitiveCode, primitiveCheck, type PrimitiveCheck } from './primitives.ts';

/** Constraint keys Medplum never evaluates (its validator's skip list). */
const MEDPLUM_SKIPPED = new Set(['ele-1', 'dom-3', 'org-1', 'sdf-19']);

export interface KeyPlan {
  key: string;
  /** '.' + key, the path segment of the walker's issue paths */
  dotKey: string;
  /** FHIR type of the value under this key (choice keys: the type the suffix names) */
  type: string;
  child: ChildPlan;
  /** primitive format check, undefined for complex types */
  primitive?: PrimitiveCheck;
}

export interface ChildPlan {
  /** position among the object's children: values are checked in this (the walker's) order */
  index: number;
  node: ElementNode;
  structure: CompiledStructure;
  /** profile: an element of an IG profile or extension (every walker rule); base: an R4 base element */
  mode: 'profile' | 'base';
  /**
   * an element of the base type added under a profile element that lists only some children: the walker never
   * visits it (so no binding is checked there), Medplum does
   */
  merged: boolean;
  /** JSON shape Medplum expects: array when the base element repeats */
  isArray: boolean;
  keys: KeyPlan[];
  /** error-severity constraints Medplum evaluates on each value (pass only when exactly true) */
  strictConstraints: Constraint[];
  /** the profile's own constraints the walker evaluates (any severity; empty result passes) */
  lenientConstraints: Constraint[];
  /** Medplum's reference check: some target accepts anything (Resource, or a profile it cannot interpret) */
  anyReferenceTarget: boolean;
  /** Medplum's reference check: resource types named by HL7 (or Medplum) target profiles */
  referenceTargetTypes: Set<string>;
  /** Medplum's slicing of this element in the profile being checked (cached with that profile's type name) */
  medplumSlicing?: { type: string; rules: unknown };
}

export interface ObjectPlan {
  children: ChildPlan[];
  byKey: Map<string, KeyPlan>;
  /** children that must be present: minimum cardinality, or a slice with a minimum */
  required: ChildPlan[];
}

export interface PlanEnv {
  baseStructure(type: string): CompiledStructure | undefined;
  /** the StructureDefinition a compiled structure came from, for the raw element definitions */
  sourceOf(structure: CompiledStructure): StructureDefinitionLike | undefined;
  isBase(structure: CompiledStructure): boolean;
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export class PlanCompiler {
  private readonly plans = new WeakMap<ElementNode, ObjectPlan>();
  private readonly rawIndex = new WeakMap<CompiledStructure, Map<string, ElementDefinitionLike>>();
  private readonly rootStrict = new WeakMap<CompiledStructure, Constraint[]>();

  constructor(private readonly env: PlanEnv) {}

  private raw(structure: CompiledStructure, node: ElementNode): ElementDefinitionLike | undefined {
    let index = this.rawIndex.get(structure);
    if (!index) {
      index = new Map();
      for (const e of this.env.sourceOf(structure)?.snapshot?.element ?? []) index.set(e.id ?? e.path, e);
      this.rawIndex.set(structure, index);
    }
    return index.get(node.id);
  }

  isProfile(structure: CompiledStructure): boolean {
    return !this.env.isBase(structure);
  }

  /** Root constraints Medplum checks on the resource itself (dom-2, dom-4, dom-5…). */
  rootStrictConstraints(structure: CompiledStructure): Constraint[] {
    let list = this.rootStrict.get(structure);
    if (!list) {
      list = this.strict(structure, structure.root);
      this.rootStrict.set(structure, list);
    }
    return list;
  }

  private strict(structure: CompiledStructure, node: ElementNode): Constraint[] {
    const base = this.env.isBase(structure);
    return (this.raw(structure, node)?.constraint ?? [])
      .filter((c) => c.severity === 'error' && c.expression && !MEDPLUM_SKIPPED.has(c.key) && (base || isBaseConstraint(c)))
      // Bundle invariants: Medplum sees a Bundle without entry resources, the walker evaluates them on the real one
      .filter((c) => !(structure.type === 'Bundle' && c.key.startsWith('bdl-')))
      .map((c) => ({ key: c.key, severity: 'error' as const, human: c.human ?? c.key, expression: c.expression as string }));
  }

  private childPlan(structure: CompiledStructure, node: ElementNode, mode: 'profile' | 'base', merged: boolean, index: number): ChildPlan {
    const raw = this.raw(structure, node);
    const baseMax = raw?.base?.max ?? raw?.max;
    const isArray = baseMax === undefined ? node.max > 1 : baseMax === '*' || Number.parseInt(baseMax, 10) > 1;
    const HL7 = 'http://hl7.org/fhir/StructureDefinition/';
    const MEDPLUM = 'https://medplum.com/fhir/StructureDefinition/';
    const targets = node.types.find((t) => t.code === 'Reference')?.targetProfiles ?? [];
    const plan: ChildPlan = {
      index, node, structure, mode, merged, isArray, keys: [],
      strictConstraints: this.strict(structure, node),
      lenientConstraints: mode === 'profile' ? node.constraints : [],
      anyReferenceTarget: !targets.length || targets.some((t) => t === `${HL7}Resource` || (!t.startsWith(HL7) && !t.startsWith(MEDPLUM))),
      referenceTargetTypes: new Set(targets.map((t) => t.slice(t.lastIndexOf('/') + 1))),
    };
    const isResourceId = node.path.split('.').length === 2 && node.name === 'id' && structure.kind === 'resource';
    const add = (key: string, type: string): void => {
      const kp: KeyPlan = { key, dotKey: `.${key}`, type, child: plan };
      if (isPrimitiveCode(type)) kp.primitive = primitiveCheck(type, isResourceId);
      plan.keys.push(kp);
    };
    if (node.choice) {
      for (const t of node.types) add(node.jsonName + capitalise(t.code), t.code);
    } else {
      const type = node.types[0]?.code ?? (node.contentReference || node.children.length ? 'BackboneElement' : 'Element');
      add(node.jsonName, type);
    }
    return plan;
  }

  /**
   * The keys allowed on an object described by `node`'s children (plus, for a data type the profile constrains
   * only partly, the base type's other elements).
   */
  objectPlan(structure: CompiledStructure, node: ElementNode): ObjectPlan {
    const cached = this.plans.get(node);
    if (cached) return cached;
    const mode = this.env.isBase(structure) ? 'base' : 'profile';
    const plan: ObjectPlan = { children: [], byKey: new Map(), required: [] };
    const addChild = (s: CompiledStructure, n: ElementNode, m: 'profile' | 'base', merged: boolean): void => {
      const child = this.childPlan(s, n, m, merged, plan.children.length);
      plan.children.push(child);
      if (n.min > 0 || (n.slicing && n.slices.some((sl) => sl.min > 0))) plan.required.push(child);
      for (const k of child.keys) plan.byKey.set(k.key, k);
    };
    for (const c of node.children) addChild(structure, c, mode, false);
    const type = node.types[0]?.code;
    if (node !== structure.root && type && type !== 'BackboneElement' && type !== 'Element' && !isPrimitiveCode(type)) {
      const base = this.env.baseStructure(type);
      const covered = new Set(node.children.map((c) => c.jsonName));
      if (base) for (const c of base.root.children) if (!covered.has(c.jsonName)) addChild(base, c, 'base', true);
    }
    this.plans.set(node, plan);
    return plan;
  }
}

/**
 * Compiles a StructureDefinition snapshot into a tree of element nodes that the profile walker follows alongside
 * the instance. Compiled once per profile / base type and cached by the validator.
 */

export interface ElementDefinitionLike {
  id?: string;
  path: string;
  sliceName?: string;
  min?: number;
  max?: string;
  base?: { path: string; min?: number; max?: string };
  type?: Array<{ code: string; profile?: string[]; targetProfile?: string[]; extension?: unknown[] }>;
  contentReference?: string;
  slicing?: { discriminator?: Array<{ type: string; path: string }>; rules?: string; ordered?: boolean };
  binding?: { strength?: string; valueSet?: string };
  constraint?: Array<{ key: string; severity?: string; human?: string; expression?: string; source?: string }>;
  [key: string]: unknown;
}

export interface StructureDefinitionLike {
  resourceType: string;
  url: string;
  name?: string;
  type: string;
  kind?: string;
  baseDefinition?: string;
  derivation?: string;
  snapshot?: { element: ElementDefinitionLike[] };
  [key: string]: unknown;
}

export interface TypeRef {
  code: string;
  profiles: string[];
  targetProfiles: string[];
}

export interface Discriminator {
  type: string;
  path: string;
}

export interface Constraint {
  key: string;
  severity: 'error' | 'warning';
  human: string;
  expression: string;
}

export interface ElementNode {
  id: string;
  /** ElementDefinition.path, e.g. 'Observation.value[x]' */
  path: string;
  /** last path segment, e.g. 'value[x]' */
  name: string;
  /** JSON property name (choice elements: the stem, e.g. 'value') */
  jsonName: string;
  choice: boolean;
  min: number;
  max: number;
  types: TypeRef[];
  fixed?: unknown;
  pattern?: unknown;
  binding?: { strength: string; valueSet: string };
  /** constraints this walker evaluates (the profile's own; base ones are Medplum's) */
  constraints: Constraint[];
  slicing?: { discriminators: Discriminator[]; rules: string; ordered: boolean };
  sliceName?: string;
  slices: ElementNode[];
  children: ElementNode[];
  contentReference?: string;
}

export interface CompiledStructure {
  url: string;
  name: string;
  type: string;
  kind: string;
  root: ElementNode;
  /** element id → node, for contentReference resolution */
  byId: Map<string, ElementNode>;
}

const FHIR_TYPE_EXT = 'http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type';

function typeCode(t: NonNullable<ElementDefinitionLike['type']>[number]): string {
  // primitive `value` elements carry a FHIRPath system type plus the FHIR type in an extension
  if (t.code.startsWith('http://hl7.org/fhirpath/System.')) {
    const ext = (t.extension as Array<{ url?: string; valueUrl?: string; valueUri?: string }> | undefined)?.find((e) => e.url === FHIR_TYPE_EXT);
    return ext?.valueUrl ?? ext?.valueUri ?? t.code.slice('http://hl7.org/fhirpath/System.'.length).toLowerCase();
  }
  return t.code;
}

function fixedOrPattern(e: ElementDefinitionLike, prefix: 'fixed' | 'pattern'): unknown {
  for (const k of Object.keys(e)) if (k.startsWith(prefix) && k.length > prefix.length) return e[k];
  return undefined;
}

/** True for constraints inherited from the FHIR core (those are evaluated by Medplum or by the base-type rules). */
export function isBaseConstraint(c: { key: string; source?: string }): boolean {
  return !!c.source && c.source.startsWith('http://hl7.org/fhir/StructureDefinition/');
}

function makeNode(e: ElementDefinitionLike): ElementNode {
  const id = e.id ?? e.path;
  const name = e.path.split('.').pop() as string;
  const choice = name.endsWith('[x]');
  const node: ElementNode = {
    id,
    path: e.path,
    name,
    jsonName: choice ? name.slice(0, -3) : name,
    choice,
    min: e.min ?? 0,
    max: e.max === undefined || e.max === '*' ? Number.POSITIVE_INFINITY : Number.parseInt(e.max, 10),
    types: (e.type ?? []).map((t) => ({ code: typeCode(t), profiles: (t.profile ?? []).map((p) => p.split('|')[0]), targetProfiles: t.targetProfile ?? [] })),
    constraints: (e.constraint ?? [])
      .filter((c) => !isBaseConstraint(c) && c.expression)
      .map((c) => ({ key: c.key, severity: c.severity === 'error' ? 'error' : 'warning', human: c.human ?? c.key, expression: c.expression as string })),
    slices: [],
    children: [],
  };
  const fixed = fixedOrPattern(e, 'fixed');
  if (fixed !== undefined) node.fixed = fixed;
  const pattern = fixedOrPattern(e, 'pattern');
  if (pattern !== undefined) node.pattern = pattern;
  if (e.binding?.valueSet && e.binding.strength) node.binding = { strength: e.binding.strength, valueSet: e.binding.valueSet.split('|')[0] };
  if (e.slicing) {
    node.slicing = {
      discriminators: (e.slicing.discriminator ?? []).map((d) => ({ type: d.type, path: d.path })),
      rules: e.slicing.rules ?? 'open',
      ordered: e.slicing.ordered ?? false,
    };
  }
  if (e.sliceName) node.sliceName = e.sliceName;
  if (e.contentReference) node.contentReference = e.contentReference.slice(e.contentReference.indexOf('#') + 1);
  return node;
}

export function compileStructure(sd: StructureDefinitionLike): CompiledStructure {
  const elements = sd.snapshot?.element ?? [];
  if (!elements.length) throw new Error(`StructureDefinition ${sd.url} has no snapshot`);
  const byId = new Map<string, ElementNode>();
  const root = makeNode(elements[0]);
  byId.set(root.id, root);
  for (const e of elements.slice(1)) {
    const node = makeNode(e);
    const id = node.id;
    if (node.sliceName && id.endsWith(`:${node.sliceName}`)) {
      // a slice (or re-slice `a:b/c`) of the element whose id precedes the ':'
      const host = byId.get(id.slice(0, -(node.sliceName.length + 1))) ?? byId.get(id.slice(0, id.lastIndexOf(':')));
      if (host) host.slices.push(node);
    } else {
      const parent = byId.get(id.slice(0, id.lastIndexOf('.')));
      if (parent) parent.children.push(node);
    }
    byId.set(id, node);
  }
  return { url: sd.url, name: sd.name ?? sd.type, type: sd.type, kind: sd.kind ?? 'resource', root, byId };
}

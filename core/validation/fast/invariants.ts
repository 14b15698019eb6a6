/**
 * Invariants for the fast engine: each (FHIRPath base, expression) is prepared once — a native JavaScript check for
 * the few expressions evaluated on nearly every resource, otherwise the expression compiled once with `fhirpath`.
 *
 * Two verdicts, because the reference engine has two evaluators: Medplum passes a constraint only when the result
 * is exactly `true` ('strict'); the profile walker also passes an empty result ('lenient', e.g. ref-1 on a
 * Reference without `reference`).
 */
import fhirpath from 'fhirpath';
import r4Model from 'fhirpath/fhir-context/r4';

type Compiled = (resource: unknown, env?: Record<string, unknown>) => unknown[];

/** true / false: the verdict is known; undefined: the native check cannot tell, evaluate the FHIRPath. */
type Native = (value: Record<string, unknown>, resource: Record<string, unknown>) => boolean | undefined;

export type Verdict = 'true' | 'false' | 'empty' | 'error';

const noTrace = (): void => undefined;

function nonEmpty(v: unknown): boolean {
  return v !== undefined && v !== null && (!Array.isArray(v) || v.length > 0);
}

function hasChoice(obj: Record<string, unknown>, stem: string): boolean {
  for (const k in obj) if (k.length > stem.length && k.startsWith(stem) && k.charCodeAt(stem.length) <= 90 && k.charCodeAt(stem.length) >= 65) return true;
  return false;
}

/**
 * Native forms of frequent R4 base invariants. Each returns a verdict only where the FHIRPath result is certainly a
 * single boolean; anything subtler (date comparison, %resource navigation) is left to the FHIRPath engine.
 */
const NATIVE: Record<string, Native> = {
  // ext-1
  'extension.exists() != value.exists()': (v) => nonEmpty(v.extension) !== hasChoice(v, 'value'),
  // dom-2, dom-4, dom-5: only about contained resources
  'contained.contained.empty()': (v) => (nonEmpty(v.contained) ? undefined : true),
  'contained.meta.versionId.empty() and contained.meta.lastUpdated.empty()': (v) => (nonEmpty(v.contained) ? undefined : true),
  'contained.meta.security.empty()': (v) => (nonEmpty(v.contained) ? undefined : true),
  // cpt-2
  'value.empty() or system.exists()': (v) => !nonEmpty(v.value) || nonEmpty(v.system),
  // qty-3
  'code.empty() or system.exists()': (v) => !nonEmpty(v.code) || nonEmpty(v.system),
  // att-1
  'data.empty() or contentType.exists()': (v) => !nonEmpty(v.data) || nonEmpty(v.contentType),
  // per-1: decided natively only when one end is missing (comparing partial dates is left to FHIRPath)
  'start.hasValue().not() or end.hasValue().not() or (start <= end)': (v) => (v.start === undefined || v.end === undefined ? true : undefined),
  // ref-1: a non-local reference (or none) cannot fail
  "reference.startsWith('#').not() or (reference.substring(1).trace('url') in %rootResource.contained.id.trace('ids'))": (v) =>
    typeof v.reference !== 'string' ? undefined : v.reference.startsWith('#') ? undefined : true,
};

export class FastInvariants {
  private readonly compiled = new Map<string, Compiled | string>();

  private compile(base: string, expression: string): Compiled | string {
    const key = `${base}\u0000${expression}`;
    let fn = this.compiled.get(key);
    if (fn === undefined) {
      try {
        fn = fhirpath.compile({ base, expression }, r4Model, { traceFn: noTrace }) as unknown as Compiled;
      } catch (e) {
        fn = e instanceof Error ? e.message : String(e);
      }
      this.compiled.set(key, fn);
    }
    return fn;
  }

  /** The outcome of `expression` on `value` (found at FHIRPath `base`), `resource` being %resource. */
  evaluate(base: string, expression: string, value: unknown, resource: Record<string, unknown>): Verdict {
    const native = NATIVE[expression];
    if (native && value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const v = native(value as Record<string, unknown>, resource);
      if (v !== undefined) return v ? 'true' : 'false';
    }
    const fn = this.compile(base, expression);
    if (typeof fn === 'string') return 'error';
    try {
      const out = fn(value, { resource, rootResource: resource });
      if (out.length === 0) return 'empty';
      return out.length === 1 && out[0] === true ? 'true' : 'false';
    } catch {
      return 'error';
    }
  }
}

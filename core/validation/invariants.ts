/**
 * FHIRPath invariants (ElementDefinition.constraint) evaluated with the `fhirpath` package and its R4 model.
 * Expressions are compiled once per (base path, expression) and cached for the life of the process.
 */
import fhirpath from 'fhirpath';
import r4Model from 'fhirpath/fhir-context/r4';

type Compiled = (resource: unknown, env?: Record<string, unknown>) => unknown[];

const noTrace = (): void => undefined;

export type InvariantOutcome = { ok: true } | { ok: false } | { ok: false; error: string };

export class InvariantEngine {
  private readonly cache = new Map<string, Compiled | string>();

  private compile(base: string, expression: string): Compiled | string {
    const key = `${base}\u0000${expression}`;
    let fn = this.cache.get(key);
    if (fn === undefined) {
      try {
        fn = fhirpath.compile({ base, expression }, r4Model, { traceFn: noTrace }) as unknown as Compiled;
      } catch (e) {
        fn = e instanceof Error ? e.message : String(e);
      }
      this.cache.set(key, fn);
    }
    return fn;
  }

  /**
   * Evaluates `expression` on `value` found at element `base` (e.g. 'Patient.identifier', or a type name such as
   * 'Period'); `resource` is %resource / %rootResource. The invariant holds when the result is `true` or empty:
   * an empty result means the expression did not apply (e.g. ref-1 on a Reference that has only a display).
   */
  evaluate(base: string, expression: string, value: unknown, resource: unknown): InvariantOutcome {
    const fn = this.compile(base, expression);
    if (typeof fn === 'string') return { ok: false, error: `cannot compile: ${fn}` };
    try {
      const result = fn(value, { resource, rootResource: resource });
      return result.length === 0 || (result.length === 1 && result[0] === true) ? { ok: true } : { ok: false };
    } catch (e) {
      return { ok: false, error: e instanceof Error ? e.message : String(e) };
    }
  }
}

/**
 * Differential test: seeded random expressions and documents, evaluated by jsonata's interpreter and by the
 * compiled engine. Results (and any mutation of the input) must be identical; errors must carry the same code,
 * position and token.
 *
 * Two allowances, both rooted in the interpreter rather than in JSONata semantics:
 *  - jsonata evaluates the items of array and object constructors concurrently (Promise.all); when several
 *    items fail, which error surfaces depends on scheduling. Then both engines must fail (possibly differently).
 *  - a non-jsonata exception from the interpreter (e.g. its TypeError for `$sort(x, λ)` in tail position,
 *    where lambda arguments are not wrapped) is not a reference outcome.
 */
import jsonata from 'jsonata';
import { compileJsonata, setJsonataFallbackListener } from '../../core/mapping/compiler/index.ts';
import { ExprGen, randomDocument, Rng } from './fuzz.ts';
import { deepEqualJson } from './suite-runner.ts';

interface AstLike {
  type?: string;
  value?: unknown;
  [k: string]: unknown;
}

/** True when some array/object constructor (or group-by) has two or more items that could each fail. */
function hasConcurrentItems(node: unknown): boolean {
  if (Array.isArray(node)) return node.some(hasConcurrentItems);
  if (typeof node !== 'object' || node === null) return false;
  const n = node as AstLike;
  if (n.type === 'unary' && n.value === '[' && Array.isArray(n.expressions) && n.expressions.length > 1) return true;
  if (n.type === 'unary' && n.value === '{' && Array.isArray(n.lhs) && n.lhs.length > 1) return true;
  const group = n.group as { lhs?: unknown[] } | undefined;
  if (group?.lhs && group.lhs.length > 1) return true;
  return Object.entries(n).some(([k, v]) => k !== 'signature' && typeof v === 'object' && hasConcurrentItems(v));
}

const isJsonataError = (e: unknown): e is { code: string; position?: number; token?: string; message?: string } =>
  typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string';

/** JSON view of a result (arrays by contents, functions dropped) that survives cycles a transform can create. */
function comparable(value: unknown, ancestors: unknown[] = []): unknown {
  if (typeof value === 'function') return undefined;
  if (typeof value !== 'object' || value === null) return value;
  if (ancestors.includes(value)) return '[Circular]';
  const next = [...ancestors, value];
  if ((value as { _jsonata_lambda?: unknown })._jsonata_lambda === true) return '[Function]';
  if ((value as { _jsonata_function?: unknown })._jsonata_function === true) return '[Function]';
  if (Array.isArray(value)) return value.map((v) => comparable(v, next) ?? null);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const c = comparable(v, next);
    if (c !== undefined) out[k] = c;
  }
  return out;
}

function describeOutcome(value: unknown, err: unknown): string {
  if (err !== undefined) {
    return isJsonataError(err) ? `${err.code}@${String(err.position)}/${String(err.token)}` : `${String(err)}`;
  }
  return JSON.stringify(comparable(value)) ?? 'undefined';
}

async function runSeed(seed: number, expressions: number): Promise<{ compared: number; failures: string[] }> {
  const rng = new Rng(seed);
  const docs = Array.from({ length: 5 }, () => randomDocument(rng));
  const failures: string[] = [];
  let compared = 0;
  for (let i = 0; i < expressions; i++) {
    const text = new ExprGen(rng).expr();
    let interpreted: jsonata.Expression;
    try {
      interpreted = jsonata(text);
    } catch {
      continue; // invalid text: the same parser rejects it on both paths
    }
    const compiled = compileJsonata(text, { timeoutMs: 0, maxDepth: 0 });
    if (compiled.evaluateSync === undefined) continue; // fell back: it is the interpreter
    const concurrent = hasConcurrentItems(interpreted.ast());
    for (const doc of docs) {
      const inputI = structuredClone(doc);
      const inputC = structuredClone(doc);
      let valueI: unknown;
      let valueC: unknown;
      let errI: unknown;
      let errC: unknown;
      try {
        valueI = await interpreted.evaluate(inputI);
      } catch (e) {
        errI = e ?? 'error';
      }
      try {
        valueC = compiled.evaluateSync(inputC);
      } catch (e) {
        errC = e ?? 'error';
      }
      if (errI !== undefined && !isJsonataError(errI)) continue;
      compared++;
      let ok: boolean;
      if (errI !== undefined) {
        ok = concurrent
          ? errC !== undefined
          : isJsonataError(errC) && errC.code === errI.code && errC.position === errI.position && errC.token === errI.token;
      } else {
        ok =
          errC === undefined &&
          (valueI === undefined) === (valueC === undefined) &&
          deepEqualJson(comparable(valueI), comparable(valueC)) &&
          deepEqualJson(comparable(inputI), comparable(inputC));
      }
      if (!ok) {
        failures.push(`${text}\n    input ${JSON.stringify(comparable(doc))}\n    interpreter ${describeOutcome(valueI, errI)}\n    compiled    ${describeOutcome(valueC, errC)}`);
        break;
      }
    }
  }
  return { compared, failures };
}

describe('compiled engine vs interpreter on random expressions', () => {
  beforeAll(() => setJsonataFallbackListener(undefined));

  test.each([11, 23, 47])('seed %i', async (seed) => {
    const { compared, failures } = await runSeed(seed, 250);
    // the generator must produce a meaningful number of evaluations (not all syntax errors or skips)
    expect(compared).toBeGreaterThan(800);
    expect(failures).toEqual([]);
  });
});

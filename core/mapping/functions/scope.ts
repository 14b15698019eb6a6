import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Per-message scope of a mapping evaluation: where library functions record warnings (a local code
 * with no ConceptMap translation, an invalid codice fiscale...). The library is built once per plugin,
 * so the message it is working on is found through AsyncLocalStorage rather than through its arguments.
 * The pipeline opens the scope around `mapping.evaluate`; the warnings go to the message trail and the
 * unmapped codes are counted in the trail's "mapped" entry.
 */
export interface MappingScope {
  /** Trail warnings of the message being mapped. */
  warnings: string[];
  /** Local codes that no ConceptMap could translate (also listed in warnings). */
  unmappedCodes: number;
}

const storage = new AsyncLocalStorage<MappingScope>();

export function newMappingScope(): MappingScope {
  return { warnings: [], unmappedCodes: 0 };
}

/** Runs `evaluate` with `scope` as the current mapping scope (sync or async). */
export function runInMappingScope<T>(scope: MappingScope, evaluate: () => T): T {
  return storage.run(scope, evaluate);
}

export function currentMappingScope(): MappingScope | undefined {
  return storage.getStore();
}

/**
 * Records a mapping warning in the current message's trail. Outside a scope (a bare `cdr jsonata` run)
 * it becomes a process warning, so it is never silently dropped.
 */
export function recordMappingWarning(message: string): void {
  const scope = storage.getStore();
  if (scope) {
    if (!scope.warnings.includes(message)) scope.warnings.push(message);
  } else process.emitWarning(message, { code: 'CDR_MAPPING_WARNING' });
}

/**
 * A local code with no translation: a warning naming the code and where it was looked up ("ConceptMap x",
 * or a mapping's own table), and one more unmapped code counted.
 */
export function recordUnmappedCode(code: string, lookedUpIn: string, system?: string): void {
  const scope = storage.getStore();
  if (scope) scope.unmappedCodes += 1;
  recordMappingWarning(`unmapped code: "${code}"${system ? ` (${system})` : ''} has no translation in ${lookedUpIn}; kept as the local code`);
}

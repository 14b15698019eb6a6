/**
 * loadValidator(): one set of IG data per ig/ folder, shared by both engines. The fast engine is the default; the
 * reference engine (Medplum + profile walker) stays available as the oracle the fast one is tested against.
 */
import path from 'node:path';
import { FastValidator } from './fast/fast-validator.ts';
import type { FhirValidator, LoadValidatorOptions } from './types.ts';
import { createParts, DEFAULT_IG_DIR, type ValidatorParts } from './validator.ts';

interface Loaded {
  parts: ValidatorParts;
  fast?: FastValidator;
}

const cache = new Map<string, Promise<Loaded>>();

function loadParts(igDir: string): Promise<Loaded> {
  let p = cache.get(igDir);
  if (!p) {
    p = Promise.resolve().then(() => ({ parts: createParts(igDir) }));
    p.catch(() => cache.delete(igDir));
    cache.set(igDir, p);
  }
  return p;
}

/** Loads the validator for an ig/ folder once; later calls with the same folder and engine return the same object. */
export async function loadValidator(options?: LoadValidatorOptions): Promise<FhirValidator> {
  const igDir = path.resolve(options?.igDir ?? DEFAULT_IG_DIR);
  const loaded = await loadParts(igDir);
  if (options?.engine === 'reference') return loaded.parts.reference;
  loaded.fast ??= new FastValidator(loaded.parts);
  return loaded.fast;
}

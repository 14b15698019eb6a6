/**
 * Shared helpers of the IG build step (`npm run ig:build`): paths, JSON I/O, hashing and the
 * minimal FHIR shapes the build manipulates. Build-time only: nothing here is imported at run time.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The shared folder sits beside the repository (`../shared`); CDR_SHARED_DIR overrides it (worktrees, CI copies). */
export function sharedDir(): string {
  return process.env.CDR_SHARED_DIR ? path.resolve(process.env.CDR_SHARED_DIR) : path.resolve(REPO_ROOT, '..', 'shared');
}

export class IgBuildError extends Error {
  override readonly name = 'IgBuildError';
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface ElementDefinition {
  id?: string;
  path: string;
  sliceName?: string;
  min?: number;
  max?: string;
  type?: Array<{ code: string; profile?: string[]; targetProfile?: string[]; [k: string]: unknown }>;
  slicing?: { discriminator?: Array<{ type: string; path: string }>; rules?: string; ordered?: boolean; description?: string };
  binding?: { strength?: string; valueSet?: string; description?: string; [k: string]: unknown };
  constraint?: Array<{ key: string; severity?: string; human?: string; expression?: string; source?: string; [k: string]: unknown }>;
  base?: { path: string; min: number; max: string };
  [key: string]: unknown;
}

export interface StructureDefinition {
  resourceType: 'StructureDefinition';
  id?: string;
  url: string;
  name?: string;
  type: string;
  kind?: string;
  baseDefinition?: string;
  derivation?: string;
  differential?: { element: ElementDefinition[] };
  snapshot?: { element: ElementDefinition[] };
  [key: string]: unknown;
}

export function readJson<T = unknown>(file: string): T {
  // Some Simplifier exports start with a UTF-8 BOM.
  return JSON.parse(readFileSync(file, 'utf8').replace(/^\uFEFF/, '')) as T;
}

export function sha256(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

export function lastSegment(url: string): string {
  return url.replace(/\/+$/, '').split('/').pop() ?? url;
}

export function requireDir(dir: string, what: string): string {
  if (!existsSync(dir)) throw new IgBuildError(`${what} not found at ${dir} (set CDR_SHARED_DIR to the shared folder)`);
  return dir;
}

export function deepClone<T>(v: T): T {
  return structuredClone(v);
}

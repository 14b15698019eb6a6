import { existsSync, lstatSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Every path the workbench page sends is resolved here, and nothing else touches the disk for it.
 * A path is relative to the repository and starts with its area: "mappings/hl7v2/adt/x.jsonata",
 * "plugins/asst-demo-nord-adt/samples/a.hl7". Refused: absolute paths, "." and ".." segments, empty
 * segments, backslashes, NUL, percent signs (the page never needs encoded names, so "%2e%2e" cannot
 * smuggle a ".."), names starting with a dot, and any symlink on the way (checked with lstat on every
 * existing component and realpath against the area's own real path).
 */
export type AuthoringArea = 'mappings' | 'plugins';

export interface AuthoringRoots {
  mappings: string;
  plugins: string;
}

export interface ResolvedPath {
  area: AuthoringArea;
  /** "mappings/hl7v2/adt/x.jsonata": what the page sends and sees. */
  relative: string;
  absolute: string;
}

export class UnsafePathError extends Error {
  constructor(readonly requested: string, reason: string) {
    super(`refused path ${JSON.stringify(requested.slice(0, 200))}: ${reason}`);
    this.name = 'UnsafePathError';
  }
}

const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;
const MAX_PATH = 300;

export function resolveAuthoringPath(roots: AuthoringRoots, requested: string): ResolvedPath {
  const refuse = (reason: string) => new UnsafePathError(requested, reason);
  if (requested.length === 0 || requested.length > MAX_PATH) throw refuse(`a path has 1 to ${MAX_PATH} characters`);
  if (/[\\%\0]/.test(requested)) throw refuse('backslashes, percent signs and NUL are not allowed');
  if (requested.startsWith('/') || /^[A-Za-z]:/.test(requested)) throw refuse('absolute paths are not allowed');
  const segments = requested.split('/');
  for (const segment of segments) {
    if (segment === '' || segment === '.' || segment === '..') throw refuse('empty, "." and ".." segments are not allowed');
    if (!SEGMENT.test(segment)) throw refuse(`"${segment}" is not a plain file name (letters, digits, . _ -; not starting with a dot)`);
  }
  const [area, ...rest] = segments;
  if (area !== 'mappings' && area !== 'plugins') throw refuse('the path must start with mappings/ or plugins/');
  if (rest.length === 0) throw refuse('the path names an area, not a file');
  const root = path.resolve(roots[area]);
  const absolute = path.resolve(root, ...rest);
  const inside = path.relative(root, absolute);
  if (inside.startsWith('..') || path.isAbsolute(inside)) throw refuse('the path leaves its area');
  // No symlink anywhere below the area root: a link could point anywhere on the machine.
  let current = root;
  for (const segment of rest) {
    current = path.join(current, segment);
    if (!existsSync(current) && !isDanglingLink(current)) break;
    if (lstatSync(current).isSymbolicLink()) throw refuse('the path goes through a symbolic link');
  }
  if (existsSync(root)) {
    const realRoot = realpathSync(root);
    let deepest = absolute;
    while (!existsSync(deepest) && deepest !== root) deepest = path.dirname(deepest);
    const real = realpathSync(deepest);
    const relativeReal = path.relative(realRoot, real);
    if (relativeReal.startsWith('..') || path.isAbsolute(relativeReal)) throw refuse('the path resolves outside its area');
  }
  return { area, relative: segments.join('/'), absolute };
}

function isDanglingLink(file: string): boolean {
  try {
    return lstatSync(file).isSymbolicLink();
  } catch {
    return false;
  }
}

/** The path of an absolute file inside the roots, as the page names it; undefined when outside both. */
export function authoringPathOf(roots: AuthoringRoots, absolute: string): string | undefined {
  for (const area of ['mappings', 'plugins'] as const) {
    const inside = path.relative(path.resolve(roots[area]), path.resolve(absolute));
    if (inside && !inside.startsWith('..') && !path.isAbsolute(inside)) return `${area}/${inside.split(path.sep).join('/')}`;
  }
  return undefined;
}

export function readAuthoringFile(resolved: ResolvedPath, maxBytes: number): string {
  if (!existsSync(resolved.absolute)) throw new UnsafePathError(resolved.relative, 'no such file');
  const stat = lstatSync(resolved.absolute);
  if (!stat.isFile()) throw new UnsafePathError(resolved.relative, 'not a regular file');
  if (stat.size > maxBytes) throw new UnsafePathError(resolved.relative, `larger than ${maxBytes} bytes`);
  return readFileSync(resolved.absolute, 'utf8');
}

/** Writes a file the resolver accepted; creates missing folders (inside the area: the resolver checked the path). */
export function writeAuthoringFile(resolved: ResolvedPath, content: string): void {
  mkdirSync(path.dirname(resolved.absolute), { recursive: true });
  if (existsSync(resolved.absolute) && !lstatSync(resolved.absolute).isFile()) throw new UnsafePathError(resolved.relative, 'not a regular file');
  writeFileSync(resolved.absolute, content);
}

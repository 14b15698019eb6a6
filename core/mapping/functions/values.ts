/** Small helpers the format-specific function libraries (hl7v2.ts, cda.ts) share. */

export type Node = Record<string, unknown>;

export function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Applies a converter to one node, or to each node of an array (dropping empty results). */
export function each<T>(value: unknown, convert: (node: unknown) => T | undefined): T | T[] | undefined {
  if (Array.isArray(value)) {
    const results = value.map(convert).filter((r): r is T => r !== undefined);
    return results.length > 0 ? results : undefined;
  }
  return value === undefined || value === null ? undefined : convert(value);
}

/** Drops undefined members and empty arrays (JSONata drops them too, but golden files compare plain JSON). */
export function compact<T extends Record<string, unknown>>(object: T): T | undefined {
  const out: Record<string, unknown> = {};
  let any = false;
  for (const [key, value] of Object.entries(object)) {
    if (value === undefined || (Array.isArray(value) && value.length === 0)) continue;
    out[key] = value;
    any = true;
  }
  return any ? (out as T) : undefined;
}

/**
 * Drops empty members recursively, copying only the objects and arrays that change: a mapping's
 * output is usually clean already (the library's $prune ran on it), and rebuilding every object of
 * every resource was a measurable share of the garbage collector's work. `scalar` decides what a
 * non-object value becomes (undefined = dropped). Returns undefined for a value that is all empty.
 */
export function pruneCopyOnWrite(value: unknown, scalar: (value: unknown) => unknown): unknown {
  if (value === null || value === undefined) return undefined;
  if (typeof value !== 'object') return scalar(value);
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const pruned = pruneCopyOnWrite(item, scalar);
      if (out) {
        if (pruned !== undefined) out.push(pruned);
      } else if (pruned !== item) {
        out = value.slice(0, i);
        if (pruned !== undefined) out.push(pruned);
      }
    }
    const result = out ?? value;
    return result.length > 0 ? result : undefined;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  let out: Record<string, unknown> | undefined;
  let kept = 0;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const member = record[key];
    const pruned = pruneCopyOnWrite(member, scalar);
    if (out) {
      if (pruned !== undefined) out[key] = pruned;
    } else if (pruned !== member) {
      out = {};
      for (let j = 0; j < i; j++) out[keys[j]!] = record[keys[j]!];
      if (pruned !== undefined) out[key] = pruned;
    }
    if (pruned !== undefined) kept++;
  }
  if (kept === 0) return undefined;
  return out ?? value;
}

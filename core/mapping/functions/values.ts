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

/** One difference between two JSON values, addressed by a JSON Pointer (RFC 6901). */
export interface JsonChange {
  op: 'add' | 'remove' | 'replace';
  path: string;
  before?: unknown;
  after?: unknown;
}

const pointer = (base: string, key: string | number) => `${base}/${String(key).replace(/~/g, '~0').replace(/\//g, '~1')}`;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A structural diff, enough for a reviewer: objects key by key, arrays position by position (FHIR
 * arrays are ordered), anything else compared as a whole.
 */
export function jsonDiff(before: unknown, after: unknown, path = ''): JsonChange[] {
  if (isObject(before) && isObject(after)) {
    const changes: JsonChange[] = [];
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    for (const key of keys) {
      if (!(key in after)) changes.push({ op: 'remove', path: pointer(path, key), before: before[key] });
      else if (!(key in before)) changes.push({ op: 'add', path: pointer(path, key), after: after[key] });
      else changes.push(...jsonDiff(before[key], after[key], pointer(path, key)));
    }
    return changes;
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const changes: JsonChange[] = [];
    const common = Math.min(before.length, after.length);
    for (let i = 0; i < common; i++) changes.push(...jsonDiff(before[i], after[i], pointer(path, i)));
    for (let i = common; i < after.length; i++) changes.push({ op: 'add', path: pointer(path, i), after: after[i] });
    for (let i = before.length - 1; i >= common; i--) changes.push({ op: 'remove', path: pointer(path, i), before: before[i] });
    return changes;
  }
  return JSON.stringify(before) === JSON.stringify(after) ? [] : [{ op: 'replace', path: path || '/', before, after }];
}

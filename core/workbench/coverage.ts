import type { PluginFormat } from '../plugins/manifest.ts';
import { HL7_BOOKKEEPING, hl7Names, jsonataPath, xmlName, type PathKey } from './paths.ts';

/**
 * Source coverage: which parts of the input a mapping read. Data a mapping does not read is dropped
 * silently, so the workbench shows it. The parsed tree is wrapped in Proxies that record every own
 * property read (object, key) while the mapping runs; afterwards every leaf of the tree is listed with
 * whether its value was read. Reads are keyed by object identity, so a segment reached through
 * `_segments` counts the same as through `PID`. Both JSONata engines (compiled and interpreter) read
 * the input through ordinary property access, so the Proxy sees every read (test/workbench checks the
 * outputs are identical with and without it).
 */
export interface ReadTracker {
  /** The tree to hand to the mapping in place of the original. */
  readonly proxy: unknown;
  /** Ends recording (the output may hold input objects; normalizing it must not count as reads). */
  stop(): void;
  wasRead(parent: object, key: string): boolean;
}

export function trackReads(tree: unknown): ReadTracker {
  const reads = new WeakMap<object, Set<string>>();
  const proxies = new WeakMap<object, object>();
  let recording = true;
  const wrap = (value: unknown): unknown => {
    if (value === null || typeof value !== 'object') return value;
    const existing = proxies.get(value);
    if (existing) return existing;
    const proxy = new Proxy(value, {
      get(target, key, receiver) {
        const result: unknown = Reflect.get(target, key, receiver);
        if (typeof key !== 'string' || !Object.prototype.hasOwnProperty.call(target, key)) return result;
        if (recording) {
          let keys = reads.get(target);
          if (!keys) reads.set(target, (keys = new Set()));
          keys.add(key);
        }
        return wrap(result);
      },
    });
    proxies.set(value, proxy);
    return proxy;
  };
  return {
    proxy: wrap(tree),
    stop: () => {
      recording = false;
    },
    wasRead: (parent, key) => reads.get(parent)?.has(key) ?? false,
  };
}

export interface CoverageLeaf {
  /** HL7: PID-3.1 (repetitions folded); XML: ClinicalDocument.id.root. */
  name: string;
  /** HL7: PID-3; XML: the same as name. */
  field: string;
  /** Where the leaf is in this message, as JSONata: PID[0].F3[1].C1. */
  jsonata: string;
  keys: PathKey[];
  read: boolean;
}

export interface CoverageCount {
  name: string;
  /** Leaves of this name in the message. */
  present: number;
  /** Of those, how many the mapping read. */
  read: number;
}

export interface MessageCoverage {
  format: PluginFormat;
  leaves: CoverageLeaf[];
  fields: CoverageCount[];
  totals: { leaves: number; read: number; fields: number; fieldsRead: number };
}

/** Every leaf (string, number, boolean) of the tree with the path that reaches it. */
function* leavesOf(node: unknown, keys: PathKey[], skip: (keys: PathKey[], key: string) => boolean): Generator<{ parent: object; key: string; keys: PathKey[] }> {
  if (node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) yield* leavesUnder(node, String(i), [...keys, i], node[i], skip);
    return;
  }
  for (const key of Object.keys(node)) {
    if (skip(keys, key)) continue;
    yield* leavesUnder(node, key, [...keys, key], (node as Record<string, unknown>)[key], skip);
  }
}

function* leavesUnder(parent: object, key: string, keys: PathKey[], value: unknown, skip: (keys: PathKey[], key: string) => boolean): Generator<{ parent: object; key: string; keys: PathKey[] }> {
  if (value === null || value === undefined) return;
  if (typeof value === 'object') yield* leavesOf(value, keys, skip);
  else yield { parent, key, keys };
}

/** HL7 v2: the parser's bookkeeping and MSH-1/MSH-2 (the delimiters) are not content. */
function skipHl7(keys: PathKey[], key: string): boolean {
  if (HL7_BOOKKEEPING.has(key)) return true;
  return keys.length === 2 && keys[0] === 'MSH' && (key === 'F1' || key === 'F2');
}

function countBy(leaves: CoverageLeaf[], nameOf: (leaf: CoverageLeaf) => string): CoverageCount[] {
  const counts = new Map<string, CoverageCount>();
  for (const leaf of leaves) {
    const name = nameOf(leaf);
    const count = counts.get(name) ?? { name, present: 0, read: 0 };
    count.present++;
    if (leaf.read) count.read++;
    counts.set(name, count);
  }
  return [...counts.values()];
}

/** The coverage of one message: every leaf of the (original, unproxied) tree and whether the mapping read it. */
export function messageCoverage(tree: unknown, tracker: ReadTracker, format: PluginFormat): MessageCoverage {
  const leaves: CoverageLeaf[] = [];
  const skip = format === 'hl7v2' ? skipHl7 : () => false;
  for (const { parent, key, keys } of leavesOf(tree, [], skip)) {
    const names = format === 'hl7v2' ? hl7Names(keys) : { field: xmlName(keys), leaf: xmlName(keys) };
    if (!names) continue;
    leaves.push({ name: names.leaf, field: names.field, jsonata: jsonataPath(keys), keys, read: tracker.wasRead(parent, key) });
  }
  const fields = countBy(leaves, (l) => l.field);
  return {
    format,
    leaves,
    fields,
    totals: { leaves: leaves.length, read: leaves.filter((l) => l.read).length, fields: fields.length, fieldsRead: fields.filter((f) => f.read > 0).length },
  };
}

export interface CoverageRow {
  name: string;
  level: 'field' | 'leaf';
  /** Messages where it is present / where the mapping read it. */
  presentIn: number;
  mappedIn: number;
  presentPercent: number;
  mappedPercent: number;
}

export interface CoverageTable {
  messages: number;
  rows: CoverageRow[];
}

const percent = (part: number, whole: number) => (whole === 0 ? 0 : Math.round((1000 * part) / whole) / 10);

/** Over many messages: for each field (and each component), in how many it was present and in how many the mapping read it. */
export function aggregateCoverage(messages: MessageCoverage[]): CoverageTable {
  const rows = new Map<string, { level: 'field' | 'leaf'; present: number; mapped: number }>();
  const add = (key: string, level: 'field' | 'leaf', present: boolean, mapped: boolean) => {
    const row = rows.get(`${level}\u0000${key}`) ?? { level, present: 0, mapped: 0 };
    if (present) row.present++;
    if (mapped) row.mapped++;
    rows.set(`${level}\u0000${key}`, row);
  };
  for (const message of messages) {
    for (const field of message.fields) add(field.name, 'field', true, field.read > 0);
    const fieldOf = new Map(message.leaves.map((l) => [l.name, l.field]));
    for (const leaf of countBy(message.leaves, (l) => l.name)) {
      // A leaf named like its field (any XML leaf) is not listed twice.
      if (leaf.name !== fieldOf.get(leaf.name)) add(leaf.name, 'leaf', true, leaf.read > 0);
    }
  }
  const total = messages.length;
  return {
    messages: total,
    rows: [...rows.entries()]
      .map(([key, row]) => ({
        name: key.split('\u0000')[1]!, level: row.level, presentIn: row.present, mappedIn: row.mapped,
        presentPercent: percent(row.present, total), mappedPercent: percent(row.mapped, total),
      }))
      .sort((a, b) => compareNames(a.name, b.name) || (a.level === b.level ? 0 : a.level === 'field' ? -1 : 1)),
  };
}

/** PID-3 before PID-13, PID-3.1 after PID-3: numbers compared as numbers. */
function compareNames(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

/** The table as text, numbers first so long XML paths stay readable: "PID-13  present 92 % (46)  mapped 0 % (0)". */
export function formatCoverageTable(table: CoverageTable, options: { leaves?: boolean } = {}): string {
  const rows = table.rows.filter((r) => options.leaves || r.level === 'field');
  const cell = (pct: number, count: number) => `${`${pct} %`.padStart(7)} ${`(${count})`.padStart(6)}`;
  const lines = [`${table.messages} message${table.messages === 1 ? '' : 's'}`, `${'present'.padStart(14)} ${'mapped'.padStart(14)}  element`];
  for (const row of rows) {
    const flag = row.mappedIn === 0 ? '   <- never mapped' : row.mappedIn < row.presentIn ? '   <- not always mapped' : '';
    lines.push(`${cell(row.presentPercent, row.presentIn)} ${cell(row.mappedPercent, row.mappedIn)}  ${row.level === 'leaf' ? '  ' : ''}${row.name}${flag}`);
  }
  return `${lines.join('\n')}\n`;
}

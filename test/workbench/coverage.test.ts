import { readFileSync } from 'node:fs';
import { loadSettings } from '../../core/config/index.ts';
import { createLogger } from '../../core/common/logger.ts';
import { compileMappingSource } from '../../core/mapping/index.ts';
import { formatParser } from '../../core/parse/index.ts';
import { PluginRegistry } from '../../core/plugins/index.ts';
import {
  aggregateCoverage, coverageOfInputs, discoverGoldenSuites, FIXED_MESSAGE_ID, FIXED_RECEIVED_AT, formatCoverageTable, messageCoverage,
  openAuthoringSession, readInputs, sampleFiles, trackReads, WorkbenchEvaluator,
} from '../../core/workbench/index.ts';
import { copyFixtures, fixture, MAPPING, PLUGIN, SAMPLE_FULL, type WorkbenchTree } from './support.ts';
import path from 'node:path';
import { rmSync } from 'node:fs';

const logger = createLogger('test', 'silent');
const limits = { timeoutMs: 5_000, maxDepth: 500 };

describe('source coverage of one message', () => {
  let tree: WorkbenchTree;
  let registry: PluginRegistry;
  beforeAll(async () => {
    tree = copyFixtures();
    registry = await PluginRegistry.load({ pluginsDir: tree.pluginsDir, mappingsDir: tree.mappingsDir, enti: new Set(['030901']), limits, logger });
  });
  afterAll(() => rmSync(tree.root, { recursive: true, force: true }));

  // The fixture mapping reads PID-3 (C1 of the first repetition, C5 of both for the filter, C1 of the NNITA one),
  // PID-5.1, PID-5.2, PID-7.1, PID-8.1: worked out by hand from the mapping text, not from a run.
  const expectedRead = ['PID[0].F3[0].C1', 'PID[0].F3[0].C5', 'PID[0].F3[1].C1', 'PID[0].F3[1].C5', 'PID[0].F5[0].C1', 'PID[0].F5[0].C2', 'PID[0].F7[0].C1', 'PID[0].F8[0].C1'];

  test.each(['compiled', 'interpreter'] as const)('the %s engine reads exactly the leaves the mapping names', async (engine) => {
    const plugin = registry.get(PLUGIN)!;
    const parsed = formatParser('hl7v2').parse(Buffer.from(fixture(SAMPLE_FULL)), plugin.manifest);
    const mapping = compileMappingSource(fixture(MAPPING), MAPPING, { engine, limits });
    expect(mapping.engine).toBe(engine);
    const tracker = trackReads(parsed.tree);
    const output = await mapping.evaluate(tracker.proxy, { ...plugin.bindings });
    tracker.stop();
    const coverage = messageCoverage(parsed.tree, tracker, 'hl7v2');
    expect(coverage.leaves.filter((l) => l.read).map((l) => l.jsonata).sort()).toEqual(expectedRead.sort());
    // MSH 3,4,5,6,7,9(3 components),10,11,12 = 11; EVN 2; PID 1 + 6 + 2 + 1 + 1 + 2 + 1 = 14; PV1 2.
    expect(coverage.totals).toEqual({ leaves: 29, read: 8, fields: 20, fieldsRead: 4 });
    expect(coverage.fields.find((f) => f.name === 'PID-3')).toEqual({ name: 'PID-3', present: 6, read: 4 });
    expect(coverage.fields.find((f) => f.name === 'PID-13')).toEqual({ name: 'PID-13', present: 1, read: 0 });
    expect(coverage.leaves.find((l) => l.jsonata === 'PID[0].F3[1].C4')).toMatchObject({ name: 'PID-3.4', field: 'PID-3', read: false });
    expect((output as { gender: string }).gender).toBe('male');
  });

  test('reads through _segments count for the same segment', async () => {
    const plugin = registry.get(PLUGIN)!;
    const parsed = formatParser('hl7v2').parse(Buffer.from(fixture(SAMPLE_FULL)), plugin.manifest);
    const mapping = compileMappingSource("_segments[_name = 'PID'].F13.C1", 'x', { limits });
    const tracker = trackReads(parsed.tree);
    expect(await mapping.evaluate(tracker.proxy, {})).toBe('0212345678');
    tracker.stop();
    const coverage = messageCoverage(parsed.tree, tracker, 'hl7v2');
    expect(coverage.leaves.filter((l) => l.read).map((l) => l.name)).toEqual(['PID-13.1']);
  });

  test('reads after stop() are not counted (normalizing the output reads input objects)', () => {
    const input = { A: { b: 'x', c: 'y' } };
    const tracker = trackReads(input);
    const proxy = tracker.proxy as typeof input;
    expect(proxy.A.b).toBe('x');
    tracker.stop();
    expect(proxy.A.c).toBe('y');
    expect(messageCoverage(input, tracker, 'xml').leaves.map((l) => [l.name, l.read])).toEqual([['A.b', true], ['A.c', false]]);
  });
});

describe('coverage over a folder', () => {
  test('per-field percentages over the two fixture samples', async () => {
    const tree = copyFixtures();
    try {
      const registry = await PluginRegistry.load({ pluginsDir: tree.pluginsDir, mappingsDir: tree.mappingsDir, enti: new Set(['030901']), limits, logger });
      const evaluator = new WorkbenchEvaluator({ validator: undefined, limits, logger });
      const table = await coverageOfInputs(evaluator, registry.get(PLUGIN)!, readInputs(sampleFiles(path.join(tree.pluginsDir, PLUGIN, 'samples'))));
      expect(table.messages).toBe(2);
      expect(table.skipped).toEqual([]);
      const row = (name: string, level = 'field') => table.rows.find((r) => r.name === name && r.level === level);
      // PID-13 and PID-11 are only in a01-full; the mapping reads neither.
      expect(row('PID-13')).toMatchObject({ presentIn: 1, mappedIn: 0, presentPercent: 50, mappedPercent: 0 });
      expect(row('PID-11')).toMatchObject({ presentIn: 1, mappedIn: 0, presentPercent: 50 });
      expect(row('PID-8')).toMatchObject({ presentIn: 2, mappedIn: 2, presentPercent: 100, mappedPercent: 100 });
      expect(row('PID-3.4', 'leaf')).toMatchObject({ presentIn: 2, mappedIn: 0 });
      expect(row('PID-3.1', 'leaf')).toMatchObject({ presentIn: 2, mappedIn: 2 });
      const text = formatCoverageTable(table);
      expect(text).toMatch(/50 %\s+\(1\)\s+0 %\s+\(0\)\s+PID-13\s+<- never mapped/);
      expect(text).not.toContain('PID-3.4');
      expect(formatCoverageTable(table, { leaves: true })).toContain('PID-3.4');
    } finally {
      rmSync(tree.root, { recursive: true, force: true });
    }
  });

  test('aggregating no messages gives an empty table', () => {
    expect(aggregateCoverage([])).toEqual({ messages: 0, rows: [] });
  });
});

describe('the read-tracking Proxy does not change what a mapping produces', () => {
  const settings = loadSettings();
  const cases = discoverGoldenSuites([settings.mappingsDir, settings.pluginsDir]).flatMap((s) => s.cases);
  test.each(cases.map((c) => [c.name, c] as const))('%s: same output on both engines with and without the Proxy', async (_name, goldenCase) => {
    const session = await openAuthoringSession(settings, { only: [goldenCase.plugin] });
    const plugin = session.plugins.get(goldenCase.plugin)!;
    const parsed = formatParser(plugin.manifest.format).parse(readFileSync(goldenCase.inputFile), plugin.manifest);
    const bindings = { ...plugin.bindings, ente: plugin.manifest.ente, pluginId: plugin.id, messageId: FIXED_MESSAGE_ID, receivedAt: FIXED_RECEIVED_AT.toISOString(), routeKey: parsed.routeKey };
    for (const engine of ['compiled', 'interpreter'] as const) {
      const mapping = compileMappingSource(readFileSync(goldenCase.mappingFile, 'utf8'), goldenCase.mappingFile, { engine, limits: { timeoutMs: 10_000, maxDepth: 500 } });
      const plain = JSON.stringify(await mapping.evaluate(parsed.tree, bindings));
      const tracker = trackReads(parsed.tree);
      const tracked = JSON.stringify(await mapping.evaluate(tracker.proxy, bindings));
      tracker.stop();
      expect(tracked).toBe(plain);
      expect(messageCoverage(parsed.tree, tracker, plugin.manifest.format).totals.read).toBeGreaterThan(0);
    }
  });
});

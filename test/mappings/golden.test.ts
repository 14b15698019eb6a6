import { readFileSync } from 'node:fs';
import { loadSettings } from '../../core/config/index.ts';
import { compileMappingSource } from '../../core/mapping/index.ts';
import { formatParser } from '../../core/parse/index.ts';
import {
  discoverGoldenSuites, FIXED_MESSAGE_ID, FIXED_RECEIVED_AT, openAuthoringSession, runGoldenCase, type AuthoringSession,
} from '../../core/workbench/index.ts';

/** Every golden case beside every mapping: exact expected output, routed to its mapping, valid against its profiles. */
const settings = loadSettings();
const suites = discoverGoldenSuites([settings.mappingsDir, settings.pluginsDir]);
const cases = suites.flatMap((suite) => suite.cases.map((c) => [`${suite.plugin} ${c.name}`, c] as const));

describe('golden mapping tests', () => {
  let session: AuthoringSession;
  beforeAll(async () => {
    session = await openAuthoringSession(settings, { only: [...new Set(suites.map((s) => s.plugin))] });
  });

  test('there are golden cases to run', () => {
    expect(cases.length).toBeGreaterThan(0);
  });

  test.each(cases)('%s', async (_name, goldenCase) => {
    const result = await runGoldenCase(session, goldenCase);
    if (result.status !== 'pass') {
      throw new Error(`${goldenCase.inputFile}: ${result.problems.join('; ')}\n${result.diff ?? ''}`);
    }
  });
});

describe('golden inputs give the same output on the compiled engine and the JSONata interpreter', () => {
  let session: AuthoringSession;
  beforeAll(async () => {
    session = await openAuthoringSession(settings, { only: [...new Set(suites.map((s) => s.plugin))] });
  });

  test.each(cases)('%s', async (_name, goldenCase) => {
    const plugin = session.plugins.get(goldenCase.plugin)!;
    const parsed = formatParser(plugin.manifest.format).parse(readFileSync(goldenCase.inputFile), plugin.manifest);
    const bindings = {
      ...plugin.bindings, ente: plugin.manifest.ente, pluginId: plugin.id, messageId: FIXED_MESSAGE_ID,
      receivedAt: FIXED_RECEIVED_AT.toISOString(), routeKey: parsed.routeKey,
    };
    const source = readFileSync(goldenCase.mappingFile, 'utf8');
    const limits = { timeoutMs: 10_000, maxDepth: 500 };
    const compiled = compileMappingSource(source, goldenCase.mappingFile, { engine: 'compiled', limits });
    const interpreted = compileMappingSource(source, goldenCase.mappingFile, { engine: 'interpreter', limits });
    expect(compiled.engine).toBe('compiled');
    expect(interpreted.engine).toBe('interpreter');
    const [a, b] = await Promise.all([compiled.evaluate(parsed.tree, bindings), interpreted.evaluate(parsed.tree, bindings)]);
    expect(JSON.parse(JSON.stringify(a))).toEqual(JSON.parse(JSON.stringify(b)));
  });
});

import { loadSettings } from '../../core/config/index.ts';
import { discoverGoldenSuites, openAuthoringSession, runGoldenCase, type AuthoringSession } from '../../core/workbench/index.ts';

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

import { Writable } from 'node:stream';
import { pino } from 'pino';
import { PluginRegistry, type PluginSummary } from '../../core/plugins/index.ts';
import { adtManifest, copyAdtMapping, fixturePlugins, REPO_MAPPINGS, type FixturePlugins } from './fixtures.ts';

const ENTI = new Set(['030901', '030902']);
const LIMITS = { timeoutMs: 2000, maxDepth: 500 };

function capturingLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

describe('plugin manifests: every error names the file and the field', () => {
  let fx: FixturePlugins;
  let summaries: Map<string, PluginSummary>;
  let registry: PluginRegistry;
  let log: ReturnType<typeof capturingLogger>;

  beforeAll(async () => {
    fx = fixturePlugins();
    fx.write('good-adt', adtManifest('good-adt', '030901'));
    const { ente: _dropped, ...withoutEnte } = adtManifest('no-ente', '030901');
    fx.write('no-ente', withoutEnte);
    fx.write('bad-format', adtManifest('bad-format', '030901', { format: 'hl7v3' }));
    fx.write('missing-mapping', adtManifest('missing-mapping', '030901', { routes: [{ match: 'ADT^A01', mapping: './mappings/nowhere.jsonata' }] }));
    fx.write('syntax-error', adtManifest('syntax-error', '030901', { routes: [{ match: 'ADT^A01', mapping: './mappings/broken.jsonata' }] }), {
      'mappings/broken.jsonata': "(\n  $x := PID[0];\n  { 'resourceType': 'Patient', 'id': $x.F3[0].C1 ,, }\n)\n",
    });
    fx.write('typo-field', adtManifest('typo-field', '030901', { route: [] }));
    fx.write('wrong-parser', adtManifest('wrong-parser', '030901', { parser: { xml: { recordPath: 'A.B' } } }));
    fx.write('unknown-ente', adtManifest('unknown-ente', '039999'));
    fx.write('not-json', {}, {});
    fx.write('missing-hooks', adtManifest('missing-hooks', '030901', { hooks: './hooks.mjs' }));
    fx.write('bad-conceptmap', adtManifest('bad-conceptmap', '030901', { conceptMaps: ['./conceptmaps/esito.json'] }), {
      'conceptmaps/esito.json': JSON.stringify({ resourceType: 'ConceptMap', id: 'esito', status: 'active', group: [{ element: [{ code: 'DOM', target: [{ code: 'home' }] }] }] }),
    });
    const localDir = fx.write('local-mapping', adtManifest('local-mapping', '030902', { routes: [{ match: 'ADT^*', mapping: './mappings/adt.jsonata' }] }));
    copyAdtMapping(localDir);
    // A manifest that is not JSON at all.
    const { writeFileSync } = await import('node:fs');
    writeFileSync(`${fx.dir}/not-json/plugin.json`, '{ "id": "not-json", ');
    log = capturingLogger();
    registry = await PluginRegistry.load({ pluginsDir: fx.dir, mappingsDir: REPO_MAPPINGS, enti: ENTI, limits: LIMITS, logger: log.logger });
    summaries = new Map(registry.list().map((s) => [s.id, s]));
  });
  afterAll(() => fx.cleanup());

  const errorsOf = (id: string) => {
    const summary = summaries.get(id);
    expect(summary).toBeDefined();
    expect(summary!.status).toBe('error');
    expect(registry.get(id)).toBeUndefined();
    return summary!.errors;
  };

  test('a missing field is reported as required, on plugin.json, field "ente"', () => {
    const [error] = errorsOf('no-ente');
    expect(error!.file).toMatch(/no-ente\/plugin\.json$/);
    expect(error!.field).toBe('ente');
    expect(error!.message).toMatch(/required/);
  });

  test('an unknown format names the field and the formats allowed', () => {
    const [error] = errorsOf('bad-format');
    expect(error!.field).toBe('format');
    expect(error!.message).toMatch(/hl7v2.*cda.*xml/);
  });

  test('a missing mapping file names the route field and the path it looked for', () => {
    const [error] = errorsOf('missing-mapping');
    expect(error!.file).toMatch(/missing-mapping\/plugin\.json$/);
    expect(error!.field).toBe('routes[0].mapping');
    expect(error!.message).toMatch(/missing-mapping\/mappings\/nowhere\.jsonata does not exist/);
  });

  test('a JSONata syntax error names the mapping file, the route field and line:column', () => {
    const [error] = errorsOf('syntax-error');
    expect(error!.file).toMatch(/syntax-error\/mappings\/broken\.jsonata$/);
    expect(error!.field).toBe('routes[0].mapping');
    expect(error!.line).toBe(3);
    expect(error!.column).toBeGreaterThan(40);
    expect(error!.message).toMatch(/broken\.jsonata:3:\d+: JSONata S\d{4}/);
  });

  test('a misspelt field is named as unknown, not ignored', () => {
    const errors = errorsOf('typo-field');
    expect(errors).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'route', message: expect.stringMatching(/unknown field/) })]));
  });

  test('parser options of another format, an unregistered Ente, a missing hooks module and a bad ConceptMap are each named', () => {
    expect(errorsOf('wrong-parser')).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'parser.xml' })]));
    expect(errorsOf('unknown-ente')).toEqual([expect.objectContaining({ field: 'ente', message: expect.stringMatching(/039999 is not in the configured registry/) })]);
    expect(errorsOf('missing-hooks')).toEqual([expect.objectContaining({ field: 'hooks', message: expect.stringMatching(/hooks\.mjs does not exist/) })]);
    const [conceptMap] = errorsOf('bad-conceptmap');
    expect(conceptMap!.field).toBe('conceptMaps[0]');
    expect(conceptMap!.file).toMatch(/conceptmaps\/esito\.json$/);
    expect(conceptMap!.message).toMatch(/equivalence/);
  });

  test('a manifest that is not JSON is reported with the parse error', () => {
    const [error] = errorsOf('not-json');
    expect(error!.message).toMatch(/not valid JSON/);
  });

  test('the broken plugins are disabled and the valid ones load next to them', () => {
    expect(registry.get('good-adt')?.manifest.ente).toBe('030901');
    expect(registry.get('local-mapping')?.routes[0]!.mapping.file).toMatch(/local-mapping\/mappings\/adt\.jsonata$/);
    expect(registry.active().map((p) => p.id).sort()).toEqual(['good-adt', 'local-mapping']);
  });

  test('each broken plugin is logged at error level with its file and field', () => {
    const line = log.lines.find((l) => l.plugin === 'missing-mapping' && l.level === 50);
    expect(line?.msg).toMatch(/plugin missing-mapping disabled: .*plugin\.json \(routes\[0\]\.mapping\): mapping file .* does not exist/);
    expect(log.lines.find((l) => l.plugin === 'good-adt')?.level).toBe(30);
  });
});

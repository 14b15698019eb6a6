import { createLogger } from '../../core/common/logger.ts';
import { MessageProcessor } from '../../core/pipeline/index.ts';
import { ConceptMapIndex, PluginRegistry, type ConceptMapResource } from '../../core/plugins/index.ts';
import { translateFunction } from '../../core/plugins/translate.ts';
import { fixturePlugins, type FixturePlugins } from './fixtures.ts';

const ESITO: ConceptMapResource = {
  resourceType: 'ConceptMap',
  id: 'esito-ps',
  url: 'https://example.invalid/ConceptMap/esito-ps',
  name: 'EsitoPS',
  status: 'active',
  group: [
    {
      source: 'https://example.invalid/CodeSystem/esito',
      target: 'http://terminology.hl7.org/CodeSystem/discharge-disposition',
      element: [
        { code: 'DOM', target: [{ code: 'home', display: 'Home', equivalence: 'equivalent' }] },
        { code: 'XXX', target: [{ equivalence: 'unmatched' }] },
        { code: 'ABB', target: [{ code: 'oth', equivalence: 'disjoint' }, { code: 'aadvice', display: 'Left against advice', equivalence: 'wider' }] },
      ],
      unmapped: { mode: 'fixed', code: 'oth', display: 'Other' },
    },
  ],
};

describe('$translate over local ConceptMaps', () => {
  const translate = translateFunction(new ConceptMapIndex([ESITO]));

  test('finds the first usable target, by url, id or name', () => {
    expect(translate('DOM', 'esito-ps')).toEqual({ system: 'http://terminology.hl7.org/CodeSystem/discharge-disposition', code: 'home', display: 'Home' });
    expect(translate('DOM', 'EsitoPS')).toEqual(translate('DOM', 'https://example.invalid/ConceptMap/esito-ps'));
    expect(translate('ABB', 'esito-ps')).toEqual(expect.objectContaining({ code: 'aadvice' }));
  });

  test('codes the map does not list follow its unmapped rule; untranslatable codes come back as the local Coding', () => {
    expect(translate('ZZZ', 'esito-ps')).toEqual(expect.objectContaining({ code: 'oth', display: 'Other' }));
    // XXX is listed as unmatched: no translation, so the unmapped rule applies as for an unlisted code.
    expect(translate('XXX', 'esito-ps')).toEqual(expect.objectContaining({ code: 'oth' }));
    const noRule = translateFunction(new ConceptMapIndex([{ ...ESITO, group: [{ ...ESITO.group[0]!, unmapped: undefined }] }]));
    expect(noRule('XXX', 'esito-ps')).toEqual({ system: 'https://example.invalid/CodeSystem/esito', code: 'XXX' });
    expect(translate('DOM', 'esito-ps', 'https://example.invalid/CodeSystem/other')).toEqual({ system: 'https://example.invalid/CodeSystem/other', code: 'DOM' });
    expect(translate(undefined, 'esito-ps')).toBeUndefined();
    expect(translate('', 'esito-ps')).toBeUndefined();
  });

  test('arrays translate element-wise; an unknown ConceptMap is an error naming the known ones', () => {
    expect(translate(['DOM', 'XXX', 'ABB'], 'esito-ps')).toEqual([
      expect.objectContaining({ code: 'home' }), expect.objectContaining({ code: 'oth' }), expect.objectContaining({ code: 'aadvice' }),
    ]);
    expect(() => translate('DOM', 'esiti')).toThrow(/no ConceptMap "esiti".*known: https:\/\/example\.invalid\/ConceptMap\/esito-ps, esito-ps, EsitoPS/);
  });
});

describe('a plugin mapping uses its ConceptMaps through $translate', () => {
  let fx: FixturePlugins;
  beforeAll(() => {
    fx = fixturePlugins();
    fx.write(
      'translating',
      { id: 'translating', version: '1', ente: '030901', format: 'hl7v2', routes: [{ match: '*', mapping: './m.jsonata' }], conceptMaps: ['conceptmaps/esito.json'] },
      {
        'conceptmaps/esito.json': JSON.stringify(ESITO),
        'm.jsonata': "{ 'resourceType': 'Basic', 'id': 'b1', 'code': { 'coding': [$translate(PV1[0].F36[0].C1, 'esito-ps')] } }",
      },
    );
  });
  afterAll(() => fx.cleanup());

  test('the translated Coding appears in the output', async () => {
    const plugins = await PluginRegistry.load({ pluginsDir: fx.dir, mappingsDir: fx.dir, enti: new Set(['030901']), limits: { timeoutMs: 1000, maxDepth: 100 } });
    expect(plugins.summary('translating')?.conceptMaps).toEqual(['https://example.invalid/ConceptMap/esito-ps']);
    const processor = new MessageProcessor({ plugins, logger: createLogger('t', 'silent') });
    // PV1-36 (discharge disposition) = the local outcome code.
    const pv1 = ['PV1', '1', 'E', ...Array<string>(33).fill(''), 'DOM'].join('|');
    const raw = Buffer.from(`MSH|^~\\&|A|B|C|D|20240311||ADT^A03|1|P|2.5\rPID|1||X1^^^B^PI\r${pv1}\r`);
    const result = await processor.process({ messageId: 'm', ente: '030901', pluginId: 'translating', raw, receivedAt: new Date() });
    expect(result.ok && result.resources[0]!.code).toEqual({ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/discharge-disposition', code: 'home', display: 'Home' }] });
  });
});

/**
 * The CDA mappings beyond their golden cases (test/mappings/golden.test.ts): the shared header block
 * stays identical in the three files (JSONata has no includes), and documents the mappings cannot
 * map faithfully fail at the map stage with a readable reason instead of producing wrong resources.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { loadSettings, REPO_ROOT } from '../../core/config/index.ts';
import { FIXED_RECEIVED_AT, openAuthoringSession, type AuthoringSession } from '../../core/workbench/index.ts';

const PLUGIN = 'irccs-demo-documenti-cda';
const FILES = ['lab/referto-laboratorio.jsonata', 'ldo/lettera-dimissione.jsonata', 'vps/verbale-pronto-soccorso.jsonata'];
const START = '/* ==== CDA header';
const END = '/* ==== end of the CDA header block ==== */';

function headerBlock(file: string): string {
  const source = readFileSync(path.join(REPO_ROOT, 'mappings', 'cda', file), 'utf8');
  const start = source.indexOf(START);
  const end = source.indexOf(END);
  if (start < 0 || end < start) throw new Error(`${file}: the CDA header block markers are missing`);
  return source.slice(start, end);
}

describe('CDA mappings', () => {
  it('share an identical header block', () => {
    const [first, ...others] = FILES.map(headerBlock);
    expect(first!.length).toBeGreaterThan(1000);
    for (const [index, other] of others.entries()) {
      expect({ file: FILES[index + 1], block: other }).toEqual({ file: FILES[index + 1], block: first });
    }
  });

  describe('documents that cannot be mapped faithfully', () => {
    let session: AuthoringSession;
    beforeAll(async () => {
      session = await openAuthoringSession(loadSettings(), { only: [PLUGIN] });
    });
    const lab = readFileSync(path.join(REPO_ROOT, 'plugins', PLUGIN, 'samples', 'lab-referto.xml'), 'utf8');
    const run = (xml: string) =>
      session.processor.process({ messageId: 'm', ente: '030903', pluginId: PLUGIN, raw: Buffer.from(xml), receivedAt: FIXED_RECEIVED_AT });

    it('a patient without codice fiscale or hospital id', async () => {
      const result = await run(lab.replace(/<id root="2\.16\.840\.1\.113883\.2\.9\.4\.3\.2" extension="RSSMRA80A01H501U"[^>]*\/>/, '').replace(/<id root="2\.16\.840\.1\.113883\.2\.9\.2\.30903\.4\.1"[^>]*\/>/, ''));
      expect(result.ok).toBe(false);
      if (!result.ok) {
        expect(result.error.stage).toBe('map');
        expect(result.error.message).toMatch(/neither a codice fiscale .* nor a hospital patient id/);
      }
    });

    it('a physical quantity whose value is not a number', async () => {
      const result = await run(lab.replace('<value xsi:type="PQ" value="92" unit="mg/dL"/>', '<value xsi:type="PQ" value="&gt;90" unit="mg/dL"/>'));
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.error).toMatchObject({ stage: 'map', code: 'MAP_FUNCTION_ERROR' });
    });

    it('while a value given as nullFlavor is simply absent', async () => {
      const result = await run(lab.replace('<value xsi:type="PQ" value="92" unit="mg/dL"/>', '<value xsi:type="PQ" nullFlavor="NA"/>'));
      expect(result.ok).toBe(true);
      if (result.ok) {
        const glucose = result.resources.find((r) => r.resourceType === 'Observation' && JSON.stringify(r).includes('2345-7'))!;
        expect(glucose).toBeDefined();
        expect(glucose).not.toHaveProperty('valueQuantity');
        expect(result.validationIssues.filter((i) => i.severity === 'error')).toEqual([]);
      }
    });
  });
});

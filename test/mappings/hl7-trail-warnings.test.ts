import { readFileSync } from 'node:fs';
import { describe, expect, it, beforeAll } from '@jest/globals';
import { loadSettings } from '../../core/config/index.ts';
import { FIXED_MESSAGE_ID, FIXED_RECEIVED_AT, openAuthoringSession, type AuthoringSession } from '../../core/workbench/index.ts';

/** Data warnings recorded by the mapping library reach the message trail, and unmapped codes are counted. */
const settings = loadSettings();
const ADT = 'asst-demo-nord-adt';
const LAB = 'asst-demo-nord-lab';

async function run(session: AuthoringSession, raw: Buffer | string, pluginId = ADT) {
  const plugin = session.plugins.get(pluginId)!;
  const result = await session.processor.process(
    { messageId: FIXED_MESSAGE_ID, ente: plugin.manifest.ente, pluginId, raw: Buffer.from(raw), receivedAt: FIXED_RECEIVED_AT },
    { enforceValidation: false },
  );
  if (!result.ok) throw new Error(`${result.error.stage}: ${result.error.message}`);
  return result;
}

describe('mapping warnings in the trail', () => {
  let session: AuthoringSession;
  beforeAll(async () => {
    session = await openAuthoringSession(settings, { only: [ADT, LAB] });
  });

  it('an SDO discharge code without a discharge-disposition equivalent is kept as text, warned and counted', async () => {
    const result = await run(session, readFileSync('mappings/hl7v2/adt/tests/a03-discharge-unmapped-disposition.hl7'));
    const encounter = result.resources.find((r) => r.resourceType === 'Encounter') as unknown as { hospitalization: { dischargeDisposition: unknown } };
    expect(encounter.hospitalization.dischargeDisposition).toEqual({ text: 'Trasferimento ad altro regime di ricovero nello stesso istituto (SDO 7)' });
    expect(result.warnings).toContainEqual(expect.stringMatching(/^unmapped code: "7" has no translation in the SDO discharge-mode table/));
    const mapped = result.trail.find((t) => t.stage === 'mapped')!;
    expect(mapped.info).toMatchObject({ unmappedCodes: 1 });
    const validated = result.trail.find((t) => t.stage === 'validated')!;
    expect(validated.warnings).toContainEqual(expect.stringContaining('unmapped code: "7"'));
    // an unknown code (not in the table at all) is warned the same way
    const unknown = await run(session, readFileSync('mappings/hl7v2/adt/tests/a03-discharge-unmapped-disposition.hl7', 'utf8').replace('|||7|||', '|||X|||'));
    expect(unknown.warnings).toContainEqual(expect.stringMatching(/^unmapped code: "X"/));
  });

  it('a mapped discharge code gives no warning and no count', async () => {
    const result = await run(session, readFileSync('mappings/hl7v2/adt/tests/a03-discharge.hl7'));
    expect(result.warnings.filter((w) => w.startsWith('unmapped'))).toEqual([]);
    expect(result.trail.find((t) => t.stage === 'mapped')!.info).not.toHaveProperty('unmappedCodes');
  });

  it('an invalid codice fiscale is kept, warned, and does not fail the message', async () => {
    const raw = readFileSync('mappings/hl7v2/adt/tests/a01-admission.hl7', 'utf8').replace('RSSMRA80A01H501U', 'RSSMRA80A01H501K');
    const result = await run(session, raw);
    const patient = result.resources.find((r) => r.resourceType === 'Patient') as unknown as { identifier: Array<{ system: string; value: string }> };
    expect(patient.identifier[0]).toEqual({ system: 'http://hl7.it/sid/codiceFiscale', value: 'RSSMRA80A01H501K' });
    expect(result.warnings).toContain('codice fiscale "RSSMRA80A01H501K" is not valid (the check character should be U): kept as sent');
    expect(result.trail.find((t) => t.stage === 'mapped')!.info).toMatchObject({ mappingWarnings: 1 });
  });

  it('ORU: a local lab code missing from the LOINC ConceptMap stays local, is warned and counted; known codes get LOINC', async () => {
    const result = await run(session, readFileSync('mappings/hl7v2/oru/tests/oru-r01-chimica-urine.hl7'), LAB);
    type Obs = { resourceType: string; code: { coding: Array<{ system?: string; code: string }> } };
    const observations = result.resources.filter((r) => r.resourceType === 'Observation') as unknown as Obs[];
    const emol = observations.find((o) => o.code.coding.some((c) => c.code === 'EMOL'))!;
    expect(emol.code.coding).toEqual([{ system: 'https://fhir.asst-demo-nord.example.invalid/CodeSystem/esami-laboratorio', code: 'EMOL', display: 'Indice di emolisi' }]);
    const glucose = observations.find((o) => o.code.coding.some((c) => c.code === 'GLU'))!;
    expect(glucose.code.coding[0]).toMatchObject({ system: 'http://loinc.org', code: '2345-7' });
    expect(result.warnings.filter((w) => w.startsWith('unmapped code'))).toEqual([expect.stringContaining('"EMOL"')]);
    expect(result.trail.find((t) => t.stage === 'mapped')!.info).toMatchObject({ unmappedCodes: 1 });
  });
});

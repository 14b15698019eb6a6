/**
 * compareWithGateway: unit cases, then (optional, read from the shared folder) the national FSE example
 * documents run through our CDA plugin and compared with the national gateway's FHIR bundles.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { loadSettings } from '../../core/config/index.ts';
import { compareWithGateway, formatAgreement, openAuthoringSession, type AgreementResult, type AuthoringSession } from '../../core/workbench/index.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SHARED = process.env.CDR_SHARED_DIR ? path.resolve(process.env.CDR_SHARED_DIR) : path.resolve(REPO, '..', 'shared');
const EXAMPLES = path.join(SHARED, 'ig', 'it-fse-esempi', 'doc', 'esempi');
const PLUGIN = 'irccs-demo-documenti-cda';

const bundle = (...resources: object[]) => ({ resourceType: 'Bundle', type: 'collection', entry: resources.map((resource) => ({ resource })) });
const patient = (cf: string, system = 'urn:oid:2.16.840.1.113883.2.9.4.3.2') => ({ resourceType: 'Patient', identifier: [{ system, value: cf }] });
const loinc = (code: string) => ({ coding: [{ system: 'http://loinc.org', code }] });

describe('compareWithGateway', () => {
  const gateway = bundle(
    patient('RSSMRA80A01H501U'),
    { resourceType: 'Observation', code: loinc('2345-7'), effectiveDateTime: '2024-03-12T09:15:00+01:00', valueQuantity: { value: 92.0, unit: 'mg/dL' } },
    { resourceType: 'Observation', code: { coding: [{ system: 'urn:oid:2.16.840.1.113883.6.1', code: '8646-2' }] }, valueCodeableConcept: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-9', code: '786.50' }] } },
    { resourceType: 'Observation', code: loinc('75326-9'), valueCodeableConcept: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-9', code: '401.9' }] } },
    { resourceType: 'Observation', code: loinc('29545-1') },
  );

  it('agrees on the same facts written differently (systems, offsets, decimals, problems as Conditions)', () => {
    const ours = bundle(
      patient('rssmra80a01h501u', 'http://hl7.it/sid/codiceFiscale'),
      { resourceType: 'Observation', code: loinc('2345-7'), effectiveDateTime: '2024-03-12T08:15:00Z', valueQuantity: { value: 92, unit: 'mg/dL' } },
      { resourceType: 'Observation', code: { coding: [{ system: 'http://loinc.org', code: '8646-2' }] }, valueCodeableConcept: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-9-cm', code: '786.50' }] } },
      { resourceType: 'Condition', code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-9-cm', code: '401.9' }] } },
    );
    const result = compareWithGateway(ours, gateway);
    // CF 1 + glucose (presence, value, unit, time) 4 + 8646-2 (presence, value) 2 + problem (presence, value) 2; 29545-1 has no value: not checked
    expect(result).toEqual({ checks: 9, agreed: 9, differences: [] });
  });

  it('reports each difference: codice fiscale, value, unit, time, missing observation', () => {
    const ours = bundle(
      patient('VRDLCU92S10F205N'),
      { resourceType: 'Observation', code: loinc('2345-7'), effectiveDateTime: '2024-03-12T09:16:00+01:00', valueQuantity: { value: 93, unit: 'mmol/L' } },
    );
    const result: AgreementResult = compareWithGateway(ours, gateway);
    expect(result.checks).toBe(9);
    expect(result.agreed).toBe(1);
    expect(result.differences).toEqual([
      expect.stringContaining('codice fiscale RSSMRA80A01H501U'),
      expect.stringContaining('value 92 mg/dL (gateway) ≠ 93 mmol/L (ours)'),
      expect.stringContaining('unit "mg/dL" (gateway) ≠ "mmol/L"'),
      expect.stringContaining('effective time 2024-03-12T09:15:00+01:00 (gateway) ≠ 2024-03-12T09:16:00+01:00'),
      expect.stringContaining('8646-2 = 786.50: no Observation'),
      expect.stringContaining('75326-9 = 401.9: no Observation'),
    ]);
    expect(formatAgreement('LAB', result)).toBe('LAB 1/9 (11.1%)');
  });
});

/** The national examples: our output for each CDA against the gateway's FHIR for the same CDA. */
describe('national FSE examples: agreement with the gateway (optional: read from the shared folder)', () => {
  const present = existsSync(path.join(EXAMPLES, 'CDA', 'LAB.xml'));
  if (!present) process.stdout.write(`national-agreement.test: ${EXAMPLES} not found; skipping (set CDR_SHARED_DIR)\n`);
  const run = present ? it : it.skip;
  let session: AuthoringSession;

  beforeAll(async () => {
    if (present) session = await openAuthoringSession(loadSettings(), { only: [PLUGIN] });
  });
  afterAll(() => undefined);

  run('LAB, LDO and VPS agree with the gateway on the patient and the observations', async () => {
    const rows: string[] = [];
    const totals = { checks: 0, agreed: 0 };
    for (const type of ['LAB', 'LDO', 'VPS']) {
      const raw = readFileSync(path.join(EXAMPLES, 'CDA', `${type}.xml`));
      const gateway = JSON.parse(readFileSync(path.join(EXAMPLES, 'FHIR', `${type}.json`), 'utf8')) as unknown;
      const processed = await session.processor.process(
        { messageId: `national-${type}`, ente: '030903', pluginId: PLUGIN, raw, receivedAt: new Date('2024-01-01T00:00:00Z') },
        { enforceValidation: false },
      );
      if (!processed.ok) throw new Error(`${type}: ${processed.error.code} ${processed.error.message}`);
      const result = compareWithGateway(processed.resources, gateway);
      const errors = processed.validationIssues.filter((i) => i.severity === 'error');
      rows.push(`${formatAgreement(type.padEnd(4), result)}  (${processed.resources.length} resources, ${errors.length} profile errors)`);
      for (const difference of result.differences) rows.push(`      - ${difference}`);
      for (const error of errors.slice(0, 5)) rows.push(`      ! ${error.resource} ${error.path}: ${error.message}`);
      totals.checks += result.checks;
      totals.agreed += result.agreed;
      // The patient is always the same person.
      expect(result.differences.filter((d) => d.startsWith('Patient'))).toEqual([]);
      expect(result.checks).toBeGreaterThan(0);
    }
    rows.push(formatAgreement('all ', { ...totals, differences: [] }));
    process.stdout.write(`\nAgreement with the national gateway (shared/ig/it-fse-esempi):\n${rows.join('\n')}\n`);
    expect(totals.agreed / totals.checks).toBeGreaterThan(0.75);
  });
});

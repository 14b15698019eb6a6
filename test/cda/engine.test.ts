/**
 * The CDA reference plugin end to end: HTTP ingest → inbox → queue → parse → mapping → validation →
 * the Ente's partition (IRCCS Demo Ospedale Maggiore, 030903), on a real engine (Redis + PostgreSQL).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { REPO_ROOT } from '../../core/config/index.ts';
import { partitionName } from '../../core/storage/index.ts';
import { postMessage, startTestEngine, waitForFinal, type TestEngine } from '../support/engine.ts';

const PLUGIN = 'irccs-demo-documenti-cda';
const ENTE = '030903';
const XML = { 'content-type': 'application/xml' };
const sample = (name: string) => readFileSync(path.join(REPO_ROOT, 'plugins', PLUGIN, 'samples', name));

type Row = { resource_type: string; id: string; version_id: number; resource: Record<string, any> };

describe('CDA documents to the Ente partition (PostgreSQL)', () => {
  let t: TestEngine;
  beforeAll(async () => {
    t = await startTestEngine('postgres');
  });
  afterAll(async () => t.cleanup());

  const rows = async (type?: string): Promise<Row[]> =>
    (await t.engine.db.query<Row>(
      `SELECT resource_type, id, version_id, resource FROM ${partitionName('resource', ENTE)}${type ? ' WHERE resource_type = $1' : ''}`,
      type ? [type] : [],
    )).rows;

  test.each([
    ['lab-referto.xml', 'DiagnosticReport', 16],
    ['ldo-lettera-dimissione.xml', 'MedicationRequest', 17],
    ['vps-verbale-pronto-soccorso.xml', 'Encounter', 16],
  ])('%s is stored, and every clinical resource is reachable from its Composition', async (file, expectedType, count) => {
    const posted = await postMessage(t.url, PLUGIN, sample(file), XML);
    expect(posted.status).toBe(202);
    const trail = await waitForFinal(t.url, posted.body.messageId as string);
    expect(trail.deadLetter).toBeUndefined();
    expect(trail.state).toBe('stored');
    expect(trail.stages.map((s) => s.stage)).toEqual(['received', 'parsed', 'mapped', 'validated', 'stored']);
    expect(trail.resources).toHaveLength(count);
    expect(trail.resources.map((r) => r.resourceType)).toContain(expectedType);

    const stored = await rows();
    const composition = stored.find((r) => r.resource_type === 'Composition' && trail.resources.some((x) => x.id === r.id))!.resource;
    const entries = new Set<string>();
    const collect = (sections: Array<{ entry?: Array<{ reference: string }>; section?: unknown[] }> = []) => {
      for (const section of sections) {
        for (const entry of section.entry ?? []) entries.add(entry.reference);
        collect(section.section as never);
      }
    };
    collect(composition.section);
    const header = new Set(['Composition', 'DocumentReference', 'Patient', 'Organization', 'Practitioner', 'Encounter', 'Location']);
    const clinical = trail.resources.filter((r) => !header.has(r.resourceType));
    expect(clinical.length).toBeGreaterThan(0);
    for (const resource of clinical) expect(entries).toContain(`${resource.resourceType}/${resource.id}`);
    // The Ente's organization is the custodian.
    const organization = stored.find((r) => r.resource_type === 'Organization')!;
    expect(composition.custodian).toEqual({ reference: `Organization/${organization.id}` });
    expect(organization.resource.identifier).toContainEqual({ system: 'https://fhir.siss.regione.lombardia.it/sid/codiceIdentificativoEnte', value: ENTE });
  });

  test('a redelivered document is accepted once; a new version of it updates the same resources', async () => {
    const raw = sample('lab-referto.xml');
    const first = await postMessage(t.url, PLUGIN, raw, XML);
    const again = await postMessage(t.url, PLUGIN, raw, XML);
    expect(again.body.messageId).toBe(first.body.messageId);

    const before = (await rows('Composition')).length;
    const v2 = Buffer.from(
      raw.toString('utf8')
        .replace('extension="LAB.2024.000123.V1"', 'extension="LAB.2024.000123.V2"')
        .replace('<versionNumber value="1"/>', '<versionNumber value="2"/>')
        .replace('<effectiveTime value="20240312103000+0100"/>', '<effectiveTime value="20240312150000+0100"/>')
        .replace('value="92" unit="mg/dL"', 'value="95" unit="mg/dL"'),
    );
    const posted = await postMessage(t.url, PLUGIN, v2, XML);
    expect(posted.body.messageId).not.toBe(first.body.messageId);
    const trail = await waitForFinal(t.url, posted.body.messageId as string);
    expect(trail.state).toBe('stored');
    const compositions = await rows('Composition');
    expect(compositions).toHaveLength(before);
    const composition = compositions.find((r) => r.resource.identifier?.value === 'LAB.2024.000123.V2')!;
    expect(composition.version_id).toBeGreaterThan(1);
    const glucose = (await rows('Observation')).find((r) => r.resource.code.coding[0].code === '2345-7')!;
    expect(glucose.resource.valueQuantity).toEqual({ value: 95, unit: 'mg/dL' });
  });

  test('a truncated document is dead-lettered at the parse stage with a stable code', async () => {
    const raw = sample('vps-verbale-pronto-soccorso.xml');
    const posted = await postMessage(t.url, PLUGIN, raw.subarray(0, Math.floor(raw.length / 2)), XML);
    const trail = await waitForFinal(t.url, posted.body.messageId as string);
    expect(trail.state).toBe('dead-lettered');
    expect(trail.deadLetter).toMatchObject({ stage: 'parse', code: 'PARSE_XML_TRUNCATED' });
  });
});

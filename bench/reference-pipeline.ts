/**
 * The "reference pipeline" of issue 11: the same libraries glued naively — parse → mapping written in
 * plain JavaScript (no JSONata, no validation) → one BullMQ job per message → one multi-row upsert per
 * message — with no durable inbox and no HTTP. It is the practical limit of this machine, measured in
 * the same bench run as the engine so the ratio is meaningful.
 *
 * Run as processes by bench/run.ts: `node --import tsx bench/reference-pipeline.ts producer|worker ...`.
 */
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { XMLParser } from 'fast-xml-parser';
import { parseHl7v2, type Hl7Message, type Hl7Segment } from '../core/parse/index.ts';
import { adtScenario, cdaLabScenario, oruScenario, type BenchScenario } from './scenarios.ts';

type Resource = Record<string, unknown> & { resourceType: string; id: string };

const first = (segment: Hl7Segment | undefined, field: number, component = 1): string | undefined => {
  const value = segment?.[`F${field}`]?.[0]?.[`C${component}`];
  return typeof value === 'string' ? value : value?.S1;
};

/** Hand-written equivalents of the ADT and ORU mappings (same resources, same shapes, no validation). */
export function mapHl7(tree: Hl7Message): Resource[] {
  const pid = (tree.PID as Hl7Segment[])[0]!;
  const pv1 = (tree.PV1 as Hl7Segment[] | undefined)?.[0];
  const ids = pid.F3 ?? [];
  const cf = ids.find((r) => r.C5 === 'NNITA')?.C1 as string | undefined;
  const local = ids.find((r) => r.C5 === 'PI')?.C1 as string | undefined;
  const patientId = `p-${local ?? cf}`;
  const patient: Resource = {
    resourceType: 'Patient', id: patientId,
    meta: { profile: ['https://fhir.siss.regione.lombardia.it/StructureDefinition/RLPatientCore'] },
    identifier: [
      ...(cf ? [{ system: 'http://hl7.it/sid/codiceFiscale', value: cf }] : []),
      ...(local ? [{ use: 'usual', system: 'urn:oid:2.16.840.1.113883.2.9.2.30901.4.1', value: local }] : []),
    ],
    name: [{ use: 'official', family: first(pid, 5, 1), given: [first(pid, 5, 2)].filter(Boolean) }],
    gender: { M: 'male', F: 'female' }[first(pid, 8) ?? ''] ?? 'unknown',
    birthDate: (first(pid, 7) ?? '').replace(/^(\d{4})(\d{2})(\d{2}).*/, '$1-$2-$3'),
    address: (pid.F11 ?? []).map((a) => ({ use: 'billing', line: [a.C1], city: a.C3, postalCode: a.C5, country: a.C6 })),
  };
  const resources: Resource[] = [patient];
  const visit = first(pv1, 19);
  if (visit) {
    resources.push({
      resourceType: 'Encounter', id: `e-${visit}`, status: 'in-progress',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: first(pv1, 2) === 'I' ? 'IMP' : 'AMB' },
      subject: { reference: `Patient/${patientId}` },
      identifier: [{ system: 'urn:oid:2.16.840.1.113883.2.9.2.30901.4.6', value: visit }],
    });
    const ward = first(pv1, 3);
    if (ward) resources.push({ resourceType: 'Location', id: `l-${ward}`, name: ward, status: 'active' });
  }
  const obxs = (tree.OBX as Hl7Segment[] | undefined) ?? [];
  if (obxs.length > 0) {
    const order = first((tree.OBR as Hl7Segment[])[0], 2) ?? visit;
    const observations = obxs.map((obx, i) => ({
      resourceType: 'Observation', id: `o-${order}-${i}`, status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: first(obx, 3, 1), display: first(obx, 3, 2) }] },
      subject: { reference: `Patient/${patientId}` },
      valueQuantity: { value: Number(first(obx, 5)), unit: first(obx, 6), system: 'http://unitsofmeasure.org', code: first(obx, 6) },
      referenceRange: [{ text: first(obx, 7) }],
      interpretation: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation', code: first(obx, 8) }] }],
      effectiveDateTime: (first(obx, 14) ?? '').replace(/^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2}).*/, '$1-$2-$3T$4:$5:$6+01:00'),
    }));
    resources.push({
      resourceType: 'DiagnosticReport', id: `r-${order}`, status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '11502-2' }] }, subject: { reference: `Patient/${patientId}` },
      result: observations.map((o) => ({ reference: `Observation/${o.id}` })),
    }, ...(observations as Resource[]));
  }
  return resources;
}

const xml = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', removeNSPrefix: true, parseTagValue: false, parseAttributeValue: false, jPath: false } as never);

/** Hand-written CDA LAB → Patient + Composition + Observations. */
export function mapCda(raw: Buffer): Resource[] {
  const doc = (xml.parse(raw) as { ClinicalDocument: Record<string, unknown> }).ClinicalDocument;
  const walk = (node: unknown, out: Array<Record<string, unknown>>) => {
    if (Array.isArray(node)) node.forEach((n) => walk(n, out));
    else if (node && typeof node === 'object') {
      const o = node as Record<string, unknown>;
      if (o.observation) (Array.isArray(o.observation) ? o.observation : [o.observation]).forEach((x) => out.push(x as Record<string, unknown>));
      for (const [k, v] of Object.entries(o)) if (k !== 'observation') walk(v, out);
    }
  };
  const observations: Array<Record<string, unknown>> = [];
  walk(doc, observations);
  const docId = JSON.stringify((doc as { id?: unknown }).id ?? '');
  const patientId = `p-${docId.length}-${docId.slice(0, 40)}`.replace(/[^A-Za-z0-9-]/g, '');
  return [
    { resourceType: 'Patient', id: patientId },
    { resourceType: 'Composition', id: `c-${patientId}`, status: 'final', subject: { reference: `Patient/${patientId}` } },
    ...observations.map((o, i) => ({
      resourceType: 'Observation', id: `o-${patientId}-${i}`, status: 'final',
      code: { coding: [o.code ?? {}] }, valueQuantity: o.value ?? {}, subject: { reference: `Patient/${patientId}` },
    })),
  ];
}

function scenarioByName(name: string): BenchScenario {
  const scenario = name === 'adt' ? adtScenario : name === 'oru' ? oruScenario : cdaLabScenario();
  if (!scenario) throw new Error(`no scenario ${name}`);
  return scenario;
}

async function producer(args: string[]): Promise<void> {
  const [scenarioName, redisUrl, prefix, startAt, step] = args as [string, string, string, string, string];
  const scenario = scenarioByName(scenarioName);
  const queue = new Queue('reference', { connection: new Redis(redisUrl, { maxRetriesPerRequest: null }), prefix: `{${prefix}}` });
  const isCda = scenarioName === 'cda';
  let i = Number(startAt);
  const inFlight = new Set<Promise<unknown>>();
  for (;;) {
    const raw = scenario.make(i, 'REF');
    i += Number(step);
    const resources = isCda ? mapCda(raw) : mapHl7(parseHl7v2(raw));
    const added = queue.add('m', { resources }, { removeOnComplete: true, removeOnFail: true });
    inFlight.add(added);
    void added.finally(() => inFlight.delete(added));
    if (inFlight.size >= 50) await Promise.race(inFlight);
  }
}

async function worker(args: string[]): Promise<void> {
  const [redisUrl, prefix, databaseUrl] = args as [string, string, string];
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 10 });
  await pool.query(`CREATE TABLE IF NOT EXISTS ref_resource (resource_type text, id text, resource jsonb, stored_at timestamptz NOT NULL DEFAULT clock_timestamp(), PRIMARY KEY (resource_type, id))`);
  await pool.query(`CREATE TABLE IF NOT EXISTS ref_message (id bigserial PRIMARY KEY, stored_at timestamptz NOT NULL DEFAULT clock_timestamp())`);
  const w = new Worker(
    'reference',
    async (job) => {
      const resources = (job.data as { resources: Resource[] }).resources;
      const values: string[] = [];
      const params: unknown[] = [];
      resources.forEach((r, k) => {
        values.push(`($${k * 3 + 1}, $${k * 3 + 2}, $${k * 3 + 3}::jsonb)`);
        params.push(r.resourceType, r.id, JSON.stringify(r));
      });
      await pool.query(
        `WITH up AS (INSERT INTO ref_resource (resource_type, id, resource) VALUES ${values.join(', ')}
           ON CONFLICT (resource_type, id) DO UPDATE SET resource = EXCLUDED.resource, stored_at = clock_timestamp() RETURNING 1)
         INSERT INTO ref_message DEFAULT VALUES`,
        params,
      );
    },
    { connection: new Redis(redisUrl, { maxRetriesPerRequest: null }), prefix: `{${prefix}}`, concurrency: 10 },
  );
  w.on('error', () => undefined);
  process.stdout.write('reference: ready\n');
  await new Promise(() => undefined);
}

const [role, ...rest] = process.argv.slice(2);
if (role === 'producer') await producer(rest);
else if (role === 'worker') await worker(rest);

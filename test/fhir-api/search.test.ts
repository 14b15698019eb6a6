import express from 'express';
import { createFhirRouter, FhirRepository, parseSearch } from '../../core/fhir-api/index.ts';
import { ResourceStore, type FhirResource } from '../../core/storage/index.ts';
import { openTestDb, STORAGE_KINDS, type TestDb } from '../support/storage.ts';
import { CF_BIANCHI, CF_OID, CF_ROSSI, CF_SYSTEM, clinicalDocument, storeRequest, type ClinicalDocument } from './support/fixtures.ts';
import { ENTE_A, ENTE_B, getJson, outcomeCode, serve, StaticTokenAuthenticator, TEST_TOKENS, type TokenServer } from './support/tokens.ts';

interface Bundle {
  resourceType: string;
  type: string;
  link: Array<{ relation: string; url: string }>;
  entry: Array<{ fullUrl: string; resource: FhirResource; search: { mode: string } }>;
}

const keyOf = (r: FhirResource) => `${r.resourceType}/${r.id}`;
const matches = (b: Bundle) => b.entry.filter((e) => e.search.mode === 'match').map((e) => keyOf(e.resource)).sort();
const includes = (b: Bundle) => b.entry.filter((e) => e.search.mode === 'include').map((e) => keyOf(e.resource)).sort();
const keys = (...resources: FhirResource[]) => resources.map(keyOf).sort();
const q = (value: string) => encodeURIComponent(value);

describe.each(STORAGE_KINDS)('FHIR read and search on %s', (kind) => {
  let t: TestDb;
  let server: TokenServer;
  let rossiA: ClinicalDocument;
  let bianchiA: ClinicalDocument;
  let rossiB: ClinicalDocument;
  const get = <T = Bundle>(path: string, token = 'clinician-a') => getJson<T>(`${server.url}${path}`, token);

  beforeAll(async () => {
    t = await openTestDb(kind);
    const store = new ResourceStore(t.db);
    rossiA = clinicalDocument(ENTE_A, CF_ROSSI, { day: '2024-03-11' });
    bianchiA = clinicalDocument(ENTE_A, CF_BIANCHI, { family: 'BIANCHI', given: 'LAURA', day: '2024-05-20' });
    rossiB = clinicalDocument(ENTE_B, CF_ROSSI, { day: '2024-04-02' });
    await store.storeBatch([storeRequest(ENTE_A, rossiA.all), storeRequest(ENTE_A, bianchiA.all), storeRequest(ENTE_B, rossiB.all)]);
    const app = express();
    app.use(createFhirRouter({ db: t.db, auth: new StaticTokenAuthenticator(TEST_TOKENS) }));
    server = await serve(app);
  });
  afterAll(async () => {
    await server.close();
    await t.cleanup();
  });

  test('read, vread and history of a resource in the Ente partition', async () => {
    const patient = rossiA.patient;
    const read = await get<FhirResource>(`/fhir/${ENTE_A}/Patient/${patient.id}`);
    expect(read.status).toBe(200);
    expect(read.headers.get('content-type')).toMatch(/application\/fhir\+json/);
    expect(read.body.identifier).toEqual([{ system: CF_SYSTEM, value: CF_ROSSI }]);
    expect(read.headers.get('etag')).toBe('W/"1"');

    await new ResourceStore(t.db).storeBatch([storeRequest(ENTE_A, [{ ...patient, name: [{ family: 'ROSSI', given: ['MARIO', 'LUIGI'] }] }])]);
    const history = await get(`/fhir/${ENTE_A}/Patient/${patient.id}/_history`);
    expect(history.body.type).toBe('history');
    expect(history.body.entry.map((e) => e.resource.meta?.versionId)).toEqual(['2', '1']);
    const v1 = await get<FhirResource>(`/fhir/${ENTE_A}/Patient/${patient.id}/_history/1`);
    expect(v1.body.name).toEqual([{ family: 'ROSSI', given: ['MARIO'] }]);
    const v2 = await get<FhirResource>(`/fhir/${ENTE_A}/Patient/${patient.id}/_history/2`);
    expect((v2.body.name as Array<{ given: string[] }>)[0]!.given).toEqual(['MARIO', 'LUIGI']);

    const missing = await get(`/fhir/${ENTE_A}/Patient/no-such-id`);
    expect(missing.status).toBe(404);
    expect(outcomeCode(missing.body)).toBe('FHIR_NOT_FOUND');
    expect((await get(`/fhir/${ENTE_A}/Patient/${patient.id}/_history/9`)).status).toBe(404);
    // The same id does not exist in the other Ente's partition (ids are per Ente), even for a reader of both.
    expect((await get(`/fhir/${ENTE_B}/Patient/${patient.id}`, 'governance')).status).toBe(404);
    // The regional directory answers for the Ente's own Organization the documents reference.
    const custodian = await get<FhirResource>(`/fhir/${ENTE_A}/Organization/ente-${ENTE_A}`);
    expect(custodian.status).toBe(200);
    expect(custodian.body.name).toBe('ASST Demo Milano Nord');
  });

  test('Patient by codice fiscale in every spelling of the system', async () => {
    for (const system of [CF_SYSTEM, CF_OID, `urn:oid:${CF_OID}`]) {
      const found = await get(`/fhir/${ENTE_A}/Patient?identifier=${q(`${system}|${CF_ROSSI}`)}`);
      expect(found.status).toBe(200);
      expect(found.body.type).toBe('searchset');
      expect(matches(found.body)).toEqual(keys(rossiA.patient));
      expect(found.body.entry[0]!.fullUrl).toBe(`${server.url}/fhir/${ENTE_A}/Patient/${rossiA.patient.id}`);
    }
    expect(matches((await get(`/fhir/${ENTE_A}/Patient?identifier=${CF_ROSSI}`)).body)).toEqual(keys(rossiA.patient));
    expect(matches((await get(`/fhir/${ENTE_A}/Patient?identifier=${q(`http://other.example/sid|${CF_ROSSI}`)}`)).body)).toEqual([]);
    expect(matches((await get(`/fhir/${ENTE_A}/Patient?identifier=${q(`${CF_SYSTEM}|${CF_ROSSI},${CF_SYSTEM}|${CF_BIANCHI}`)}`)).body))
      .toEqual(keys(rossiA.patient, bianchiA.patient));
  });

  test('clinical resources by patient.identifier, subject, patient, code, date and _lastUpdated', async () => {
    const byCf = await get(`/fhir/${ENTE_A}/Observation?patient.identifier=${q(`${CF_SYSTEM}|${CF_ROSSI}`)}`);
    expect(matches(byCf.body)).toEqual(keys(...rossiA.observations));
    expect(matches((await get(`/fhir/${ENTE_A}/Condition?subject.identifier=${q(`${CF_OID}|${CF_BIANCHI}`)}`)).body)).toEqual(keys(bianchiA.condition));
    expect(matches((await get(`/fhir/${ENTE_A}/Observation?subject=Patient/${rossiA.patient.id}`)).body)).toEqual(keys(...rossiA.observations));
    expect(matches((await get(`/fhir/${ENTE_A}/Observation?patient=${bianchiA.patient.id}`)).body)).toEqual(keys(...bianchiA.observations));
    expect(matches((await get(`/fhir/${ENTE_A}/Encounter?patient=${bianchiA.patient.id}`)).body)).toEqual(keys(bianchiA.encounter));

    // Codes: the RL API's [OID]|[code] form finds codes stored with the URI, and the reverse.
    const hemoglobin = rossiA.observations[0]!;
    const glucose = rossiA.observations[1]!;
    const rossi = `patient.identifier=${q(`${CF_SYSTEM}|${CF_ROSSI}`)}`;
    expect(matches((await get(`/fhir/${ENTE_A}/Observation?${rossi}&code=${q('http://loinc.org|718-7')}`)).body)).toEqual(keys(hemoglobin));
    expect(matches((await get(`/fhir/${ENTE_A}/Observation?${rossi}&code=${q('2.16.840.1.113883.6.1|718-7')}`)).body)).toEqual(keys(hemoglobin));
    expect(matches((await get(`/fhir/${ENTE_A}/Observation?${rossi}&code=${q('http://loinc.org|2345-7')}`)).body)).toEqual(keys(glucose));
    expect(matches((await get(`/fhir/${ENTE_A}/Observation?${rossi}&code=${q('http://snomed.info/sct|718-7')}`)).body)).toEqual([]);
    expect(matches((await get(`/fhir/${ENTE_A}/Condition?code=${q('2.16.840.1.113883.6.103|428.0')}`)).body)).toEqual(keys(rossiA.condition, bianchiA.condition));

    // Dates: glucose is the whole day 2024-03-11 (Europe/Rome), hemoglobin 09:50 that day.
    expect(matches((await get(`/fhir/${ENTE_A}/Observation?${rossi}&date=2024-03-11`)).body)).toEqual(keys(hemoglobin, glucose));
    expect(matches((await get(`/fhir/${ENTE_A}/Observation?${rossi}&date=${q('2024-03-11T09:50:00+01:00')}`)).body)).toEqual(keys(hemoglobin));
    expect(matches((await get(`/fhir/${ENTE_A}/Observation?${rossi}&date=ge2024-03-11T10:00:00Z`)).body)).toEqual(keys(glucose));
    expect(matches((await get(`/fhir/${ENTE_A}/Observation?date=ge2024-04&date=lt2025`)).body)).toEqual(keys(...bianchiA.observations));
    expect(matches((await get(`/fhir/${ENTE_A}/Observation?date=lt2024-03-11`)).body)).toEqual([]);
    expect(matches((await get(`/fhir/${ENTE_A}/Encounter?date=le2024-03-11T08:30:00%2B01:00`)).body)).toEqual(keys(rossiA.encounter));
    // An unencoded "+" of a time zone (arrives as a space) is repaired.
    expect(matches((await get(`/fhir/${ENTE_A}/Observation?${rossi}&date=2024-03-11T09:50:00+01:00`)).body)).toEqual(keys(hemoglobin));

    const future = new Date(Date.now() + 3_600_000).toISOString();
    expect(matches((await get(`/fhir/${ENTE_A}/Observation?_lastUpdated=gt${q(future)}`)).body)).toEqual([]);
    expect(matches((await get(`/fhir/${ENTE_A}/Observation?_lastUpdated=le${q(future)}&${rossi}`)).body)).toEqual(keys(hemoglobin, glucose));
    expect(matches((await get(`/fhir/${ENTE_A}/Observation?_id=${hemoglobin.id}`)).body)).toEqual(keys(hemoglobin));
  });

  test('_revinclude brings the Compositions (and DocumentReferences) of document-derived resources', async () => {
    const rossi = `patient.identifier=${q(`${CF_SYSTEM}|${CF_ROSSI}`)}`;
    const observations = await get(`/fhir/${ENTE_A}/Observation?${rossi}&_revinclude=Composition:entry`);
    expect(matches(observations.body)).toEqual(keys(...rossiA.observations));
    expect(includes(observations.body)).toEqual(keys(rossiA.composition));

    // Type:patient also finds resources whose subject is the Patient.
    const byPatient = await get(`/fhir/${ENTE_A}/Patient?identifier=${q(`${CF_SYSTEM}|${CF_ROSSI}`)}&_revinclude=Observation:patient`);
    expect(includes(byPatient.body)).toEqual(keys(...rossiA.observations));

    const nested = await get(`/fhir/${ENTE_A}/Condition?${rossi}&_revinclude=Composition:entry&_revinclude:iterate=DocumentReference:related`);
    expect(matches(nested.body)).toEqual(keys(rossiA.condition));
    expect(includes(nested.body)).toEqual(keys(rossiA.composition, rossiA.documentReference));

    // Everything about a patient: the Patient, every resource referring to it, their documents.
    const everything = await get(
      `/fhir/${ENTE_A}/Patient?identifier=${q(`${CF_SYSTEM}|${CF_ROSSI}`)}&_revinclude=*&_revinclude:iterate=Composition:entry&_revinclude:iterate=DocumentReference:related`,
    );
    expect(matches(everything.body)).toEqual(keys(rossiA.patient));
    expect(includes(everything.body)).toEqual(keys(...rossiA.all.filter((r) => r !== rossiA.patient)));
  });

  test('paging: _count and an opaque cursor in the next link walk every match exactly once', async () => {
    const seen: string[] = [];
    let url: string | undefined = `/fhir/${ENTE_A}/Observation?_count=1`;
    let pages = 0;
    while (url) {
      const page: { body: Bundle } = await get(url);
      expect(page.body.entry.length).toBeLessThanOrEqual(1);
      seen.push(...matches(page.body));
      const next = page.body.link.find((l) => l.relation === 'next')?.url;
      expect(page.body.link.find((l) => l.relation === 'self')?.url).toContain(`/fhir/${ENTE_A}/Observation`);
      url = next ? next.slice(server.url.length) : undefined;
      pages++;
    }
    expect(pages).toBe(4); // 4 Observations, one per page; the last page has no next link
    expect(seen.sort()).toEqual(keys(...rossiA.observations, ...bianchiA.observations));

    const first = await get(`/fhir/${ENTE_A}/Observation?_count=2`);
    const cursor = new URL(first.body.link.find((l) => l.relation === 'next')!.url).searchParams.get('_cursor')!;
    const replayed = await get(`/fhir/${ENTE_A}/Condition?_count=2&_cursor=${cursor}`);
    expect(replayed.status).toBe(400);
    expect(outcomeCode(replayed.body)).toBe('FHIR_INVALID_CURSOR');
    expect(outcomeCode((await get(`/fhir/${ENTE_A}/Observation?_count=2&_cursor=not-a-cursor`)).body)).toBe('FHIR_INVALID_CURSOR');
  });

  test('narrow (by key) and broad (ordered walk) query forms return the same pages', async () => {
    const narrow = new FhirRepository(t.db);
    const broad = new FhirRepository(t.db, { candidateLimit: 1 });
    const queries = [
      'code=http://loinc.org|718-7,http://loinc.org|2345-7',
      `patient.identifier=${CF_ROSSI}&date=ge2024-01-01`,
      'date=ge2024-03-01&date=lt2024-06-01&_count=3',
      `identifier=${CF_SYSTEM}|${CF_ROSSI},${CF_SYSTEM}|${CF_BIANCHI}`,
    ];
    for (const query of queries) {
      const type = query.startsWith('identifier') ? 'Patient' : query.startsWith('date') ? 'Encounter' : 'Observation';
      for (const enti of [[ENTE_A], [ENTE_A, ENTE_B]]) {
        const parsed = parseSearch(type, new URLSearchParams(query));
        const a = await narrow.search(parsed, enti, undefined);
        const b = await broad.search(parsed, enti, undefined);
        expect({ query, enti, ids: b.matches.map((m) => m.id), more: b.hasMore }).toEqual({ query, enti, ids: a.matches.map((m) => m.id), more: a.hasMore });
        expect(a.matches.length).toBeGreaterThan(0);
        if (a.hasMore) {
          const next = await broad.search(parsed, enti, a.matches.at(-1)!.cursor);
          expect(next.matches.map((m) => m.id)).toEqual((await narrow.search(parsed, enti, a.matches.at(-1)!.cursor)).matches.map((m) => m.id));
        }
      }
    }
  });

  test('unknown parameters and malformed values are refused with an OperationOutcome', async () => {
    const cases: Array<[string, string]> = [
      [`/fhir/${ENTE_A}/Observation?familyy=ROSSI`, 'FHIR_UNSUPPORTED_PARAMETER'],
      [`/fhir/${ENTE_A}/Observation?date=yesterday`, 'FHIR_INVALID_PARAMETER'],
      [`/fhir/${ENTE_A}/Observation?date=ne2024-01-01`, 'FHIR_UNSUPPORTED_PARAMETER'],
      [`/fhir/${ENTE_A}/Observation?_count=100000`, 'FHIR_INVALID_PARAMETER'],
      [`/fhir/${ENTE_A}/Observation?subject=${q('http://elsewhere.example/Patient/1')}`, 'FHIR_INVALID_PARAMETER'],
      [`/fhir/${ENTE_A}/Observation?_revinclude=Composition`, 'FHIR_INVALID_PARAMETER'],
      [`/fhir/${ENTE_A}/observation`, 'FHIR_INVALID_TYPE'],
      [`/fhir/Patient/${rossiA.patient.id}`, 'FHIR_UNKNOWN_ROUTE'],
    ];
    for (const [path, code] of cases) {
      const response = await get(path);
      expect({ path, code: outcomeCode(response.body) }).toEqual({ path, code });
      expect(response.status).toBeGreaterThanOrEqual(400);
    }
  });

  test('403 outside the token perimeter, each one audited; 401 without a valid token', async () => {
    const audits = async () => (await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'fhir.denied'`)).rows[0]!.n;
    const before = await audits();
    const attempts: Array<[string, string, string]> = [
      [`/fhir/${ENTE_B}/Patient?identifier=${q(`${CF_SYSTEM}|${CF_ROSSI}`)}`, 'clinician-a', 'FHIR_FORBIDDEN_ENTE'],
      [`/fhir/${ENTE_B}/Patient/${rossiB.patient.id}`, 'clinician-a', 'FHIR_FORBIDDEN_ENTE'],
      [`/fhir/${ENTE_B}/Patient/${rossiB.patient.id}/_history/1`, 'clinician-a', 'FHIR_FORBIDDEN_ENTE'],
      [`/fhir/${ENTE_B}/Patient/${rossiB.patient.id}/_history`, 'clinician-a', 'FHIR_FORBIDDEN_ENTE'],
      [`/fhir/999999/Patient/${rossiB.patient.id}`, 'clinician-a', 'FHIR_FORBIDDEN_ENTE'],
      [`/fhir/Patient?identifier=${q(`${CF_SYSTEM}|${CF_ROSSI}`)}`, 'clinician-a', 'FHIR_FORBIDDEN_SOVRA_AZIENDALE'],
      [`/fhir/Patient?identifier=${CF_ROSSI}`, 'reader-all-no-scope', 'FHIR_FORBIDDEN_SOVRA_AZIENDALE'],
      [`/fhir/${ENTE_A}/Patient?identifier=${CF_ROSSI}`, 'author-a', 'FHIR_FORBIDDEN_ROLE'],
      [`/fhir/$stats?period=month&ente=${ENTE_B}`, 'clinician-a', 'FHIR_FORBIDDEN_ENTE'],
    ];
    for (const [path, token, code] of attempts) {
      const response = await get(path, token);
      expect({ path, token, status: response.status, code: outcomeCode(response.body) }).toEqual({ path, token, status: 403, code });
    }
    expect(await audits()).toBe(before + attempts.length);
    const last = await t.db.query<{ actor: string; target: string; ente: string | null; details: { code: string; params: string[] } }>(
      `SELECT actor, target, ente, details FROM audit_log WHERE action = 'fhir.denied' ORDER BY id DESC LIMIT 1`,
    );
    expect(last.rows[0]).toMatchObject({ actor: 'clinician-a', target: 'GET /fhir/$stats', ente: ENTE_B, details: { code: 'FHIR_FORBIDDEN_ENTE', params: ['period', 'ente'] } });
    // Parameter values (patient identifiers) never reach the audit log.
    const all = await t.db.query<{ details: unknown }>(`SELECT details FROM audit_log`);
    expect(JSON.stringify(all.rows)).not.toContain(CF_ROSSI);

    const anonymous = await getJson(`${server.url}/fhir/${ENTE_A}/Patient?identifier=${CF_ROSSI}`);
    expect(anonymous.status).toBe(401);
    expect(outcomeCode(anonymous.body)).toBe('FHIR_UNAUTHENTICATED');
    const wrong = await get(`/fhir/${ENTE_A}/Patient?identifier=${CF_ROSSI}`, 'no-such-token');
    expect(outcomeCode(wrong.body)).toBe('FHIR_INVALID_TOKEN');
  });

  test('sovra-aziendale: the same patient\'s resources in both Enti, each entry naming its partition', async () => {
    const patients = await get(`/fhir/Patient?identifier=${q(`${CF_SYSTEM}|${CF_ROSSI}`)}`, 'governance');
    expect(patients.status).toBe(200);
    expect(matches(patients.body)).toEqual(keys(rossiA.patient, rossiB.patient));
    expect(patients.body.entry.map((e) => e.fullUrl).sort()).toEqual([
      `${server.url}/fhir/${ENTE_A}/Patient/${rossiA.patient.id}`,
      `${server.url}/fhir/${ENTE_B}/Patient/${rossiB.patient.id}`,
    ].sort());
    const observations = await get(`/fhir/Observation?patient.identifier=${q(`${CF_SYSTEM}|${CF_ROSSI}`)}&_revinclude=Composition:entry`, 'clinician-a-sovra');
    expect(matches(observations.body)).toEqual(keys(...rossiA.observations, ...rossiB.observations));
    expect(includes(observations.body)).toEqual(keys(rossiA.composition, rossiB.composition));
    // A sovra-aziendale token may also read another Ente's partition directly; that read is audited.
    expect((await get(`/fhir/${ENTE_B}/Patient/${rossiB.patient.id}`, 'clinician-a-sovra')).status).toBe(200);
    const audit = await t.db.query<{ actor: string; details: { enti: string[] } }>(
      `SELECT actor, details FROM audit_log WHERE action = 'fhir.sovra-aziendale' ORDER BY id`,
    );
    expect(audit.rows.map((r) => r.actor)).toEqual(['governance', 'clinician-a-sovra', 'clinician-a-sovra']);
    expect(audit.rows[0]!.details.enti.sort()).toEqual([ENTE_A, ENTE_B]);
  });

  test('no reference or include crosses partitions, even when rows pointing across were forced in', async () => {
    // Rows no store would accept (the reference guard refuses them), written behind its back:
    // Ente B holds a Composition listing Ente A's Observation and an Observation about Ente A's patient.
    const rogueComposition = {
      resourceType: 'Composition', id: 'rogue-composition', status: 'final', subject: { reference: `Patient/${rossiB.patient.id}` },
      section: [{ entry: [{ reference: `Observation/${rossiA.observations[0]!.id}` }] }],
    };
    const rogueObservation = { resourceType: 'Observation', id: 'rogue-observation', status: 'final', subject: { reference: `Patient/${rossiA.patient.id}` } };
    for (const r of [rogueComposition, rogueObservation]) {
      await t.db.query(
        `INSERT INTO resource (ente, resource_type, id, version_id, version_seq, last_updated, content_hash, resource) VALUES ($1, $2, $3, 1, 1, now(), 'x', $4::jsonb)`,
        [ENTE_B, r.resourceType, r.id, JSON.stringify(r)],
      );
    }
    await t.db.query(`INSERT INTO search_reference (ente, resource_type, id, param, target_type, target_id) VALUES
      ($1, 'Composition', 'rogue-composition', 'entry', 'Observation', $2),
      ($1, 'Observation', 'rogue-observation', 'subject', 'Patient', $3),
      ($1, 'Observation', 'rogue-observation', 'patient', 'Patient', $3)`, [ENTE_B, rossiA.observations[0]!.id!, rossiA.patient.id!]);

    const rossi = `patient.identifier=${q(`${CF_SYSTEM}|${CF_ROSSI}`)}`;
    // Ente A's clinician: A's observations and A's Composition only.
    const inA = await get(`/fhir/${ENTE_A}/Observation?${rossi}&_revinclude=Composition:entry`);
    expect(includes(inA.body)).toEqual(keys(rossiA.composition));
    // Across Enti: B's rogue Composition is not attached to A's Observation.
    const across = await get(`/fhir/Observation?_id=${rossiA.observations[0]!.id}&_revinclude=Composition:entry`, 'governance');
    expect(matches(across.body)).toEqual(keys(rossiA.observations[0]!));
    expect(includes(across.body)).toEqual(keys(rossiA.composition));
    // The chained search resolves the patient in B's own partition: the rogue Observation (about A's patient) stays out.
    const inB = await get(`/fhir/${ENTE_B}/Observation?${rossi}`, 'clinician-b');
    expect(matches(inB.body)).toEqual(keys(...rossiB.observations));
    const everything = await get(`/fhir/Patient?identifier=${q(`${CF_SYSTEM}|${CF_ROSSI}`)}&_revinclude=*`, 'governance');
    const fromB = everything.body.entry.filter((e) => e.fullUrl.includes(`/fhir/${ENTE_B}/`)).map((e) => e.resource.id);
    expect(fromB).not.toContain('rogue-observation');
    const includedA = everything.body.entry.filter((e) => e.fullUrl.includes(`/fhir/${ENTE_A}/`)).map((e) => e.resource.id);
    expect(includedA).not.toContain('rogue-observation');
    // A clinician of A cannot reach B's rows through A's ids either.
    expect(matches((await get(`/fhir/${ENTE_A}/Observation?patient=${rossiA.patient.id}`)).body)).toEqual(keys(...rossiA.observations));
  });

  test('$stats: counts by Ente × type × period, sovra-aziendale or limited to the token\'s Enti', async () => {
    type Parameters = { parameter: Array<{ name: string; valueCode?: string; part?: Array<{ name: string; valueString?: string; valueCode?: string; valueInteger?: number }> }> };
    const rows = (p: Parameters) => p.parameter.filter((x) => x.name === 'count').map((x) => Object.fromEntries(x.part!.map((y) => [y.name, y.valueString ?? y.valueCode ?? y.valueInteger])));
    const all = await get<Parameters>('/fhir/$stats?period=year&type=Observation', 'governance');
    expect(all.status).toBe(200);
    const thisYear = String(new Date().getFullYear());
    expect(rows(all.body)).toEqual(expect.arrayContaining([
      { ente: ENTE_A, type: 'Observation', period: thisYear, count: 4 },
      { ente: ENTE_B, type: 'Observation', period: thisYear, count: expect.any(Number) },
    ]));
    const clinical = await get<Parameters>('/fhir/$stats?period=month&basis=clinical&type=Observation', 'governance');
    expect(rows(clinical.body)).toEqual([
      { ente: ENTE_A, type: 'Observation', period: '2024-03', count: 2 },
      { ente: ENTE_A, type: 'Observation', period: '2024-05', count: 2 },
      { ente: ENTE_B, type: 'Observation', period: '2024-04', count: 2 },
    ]);
    const own = await get<Parameters>('/fhir/$stats?period=month&basis=clinical', 'clinician-a');
    expect(own.body.parameter.find((p) => p.name === 'perimeter')?.valueCode).toBe('aziendale');
    expect(new Set(rows(own.body).map((r) => r.ente))).toEqual(new Set([ENTE_A]));
    expect(rows(own.body)).toContainEqual({ ente: ENTE_A, type: 'Composition', period: '2024-05', count: 1 });
    const bad = await get('/fhir/$stats?period=week', 'governance');
    expect(outcomeCode(bad.body)).toBe('FHIR_INVALID_PARAMETER');
  });
});

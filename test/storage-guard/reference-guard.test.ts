import { StoreError } from '../../core/common/errors.ts';
import { ResourceStore, upsertDirectoryResource, type FhirResource } from '../../core/storage/index.ts';
import { openTestDb, STORAGE_KINDS, type TestDb } from '../support/storage.ts';
import { CF_ROSSI, clinicalDocument, patientResource, storeRequest } from '../fhir-api/support/fixtures.ts';
import { ENTE_A, ENTE_B } from '../fhir-api/support/tokens.ts';

const observation = (id: string, subject: Record<string, unknown>): FhirResource => ({ resourceType: 'Observation', id, status: 'final', subject });

describe.each(STORAGE_KINDS)('tenant-safe references on %s', (kind) => {
  let t: TestDb;
  let store: ResourceStore;
  const patientA = patientResource(ENTE_A, CF_ROSSI, 'ROSSI', 'MARIO');
  const patientB = patientResource(ENTE_B, CF_ROSSI, 'ROSSI', 'MARIO');

  beforeAll(async () => {
    t = await openTestDb(kind);
    store = new ResourceStore(t.db);
    await store.storeBatch([storeRequest(ENTE_A, [patientA]), storeRequest(ENTE_B, [patientB])]);
  });
  afterAll(async () => t.cleanup());

  const refused = async (ente: string, resources: FhirResource[]) => {
    const error = await store.storeBatch([storeRequest(ente, resources)]).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    return error as StoreError;
  };

  test('references inside the message, to stored resources of the Ente and to the regional directory pass', async () => {
    const doc = clinicalDocument(ENTE_A, 'BNCLRA85M41F205X', { family: 'BIANCHI', given: 'LAURA' });
    // The whole document in one message (Composition → entries, custodian → the Ente's L1 Organization in the directory).
    const [stored] = await store.storeBatch([storeRequest(ENTE_A, doc.all)]);
    expect(stored!.resources.every((r) => r.outcome === 'created')).toBe(true);
    // A later message referring to the stored Patient, a contained resource and a logical (identifier-only) reference.
    const later: FhirResource = {
      ...observation('obs-later', { reference: `Patient/${patientA.id}` }),
      contained: [{ resourceType: 'Practitioner', id: 'p1' }],
      performer: [{ reference: '#p1' }, { identifier: { system: 'http://hl7.it/sid/codiceFiscale', value: 'VRDLGU70A01F205Z' } }],
    };
    await store.storeBatch([storeRequest(ENTE_A, [later])]);
    // A directory entry loaded by an operator.
    await upsertDirectoryResource(t.db, { resourceType: 'Organization', id: 'presidio-demo-1', name: 'Presidio Demo' });
    await store.storeBatch([storeRequest(ENTE_B, [{ ...observation('obs-b', { reference: `Patient/${patientB.id}` }), performer: [{ reference: 'Organization/presidio-demo-1' }] }])]);
    // Two messages of one Ente in one batch: the second may refer to what the first creates.
    const p2 = { resourceType: 'Patient', id: 'batch-patient' };
    await store.storeBatch([storeRequest(ENTE_A, [p2]), storeRequest(ENTE_A, [observation('batch-obs', { reference: 'Patient/batch-patient' })])]);
  });

  test('a reference to another Ente\'s resource is refused with STORE_REFERENCE_OUTSIDE_ENTE, permanent, at stage store', async () => {
    const error = await refused(ENTE_A, [observation('obs-cross', { reference: `Patient/${patientB.id}` })]);
    expect(error.code).toBe('STORE_REFERENCE_OUTSIDE_ENTE');
    expect(error.kind).toBe('permanent');
    expect(error.stage).toBe('store');
    expect(error.message).toContain(`Observation/obs-cross Observation.subject → "Patient/${patientB.id}"`);
    expect(error.message).toContain(`Ente ${ENTE_A}'s partition`);
    expect(error.details).toEqual({ violations: [expect.objectContaining({ resource: 'Observation/obs-cross', path: 'Observation.subject', problem: 'not-found' })] });
    // Nothing was written.
    const rows = await t.db.query(`SELECT 1 FROM resource WHERE id = 'obs-cross'`);
    expect(rows.rows).toEqual([]);
    // In a batch of another Ente's message, the resource created there does not count for this one.
    const batch = await store.storeBatch([storeRequest(ENTE_B, [{ resourceType: 'Patient', id: 'only-in-b' }]), storeRequest(ENTE_A, [observation('o', { reference: 'Patient/only-in-b' })])])
      .then(() => undefined, (e: unknown) => e as StoreError);
    expect(batch?.code).toBe('STORE_REFERENCE_OUTSIDE_ENTE');
  });

  test('dangling ids, absolute URLs, urns and malformed references are refused; every violation is listed', async () => {
    const error = await refused(ENTE_A, [{
      resourceType: 'Encounter', id: 'enc-bad', status: 'finished', class: { code: 'AMB' },
      subject: { reference: 'Patient/does-not-exist' },
      location: [{ location: { reference: 'https://fhir.elsewhere.example/Location/1' } }],
      serviceProvider: { reference: 'urn:uuid:9f1c7d0e-0000-4000-8000-000000000000' },
      partOf: { reference: 'not a reference' },
      participant: [{ individual: { reference: 'Organization/not-in-directory' } }],
    }]);
    expect((error.details as { violations: Array<{ path: string; problem: string }> }).violations.map((v) => [v.path, v.problem])).toEqual([
      ['Encounter.location[0].location', 'absolute-url'],
      ['Encounter.serviceProvider', 'urn'],
      ['Encounter.partOf', 'malformed'],
      ['Encounter.subject', 'not-found'],
      ['Encounter.participant[0].individual', 'not-found'],
    ]);
    expect(error.message).toMatch(/^5 references outside Ente 030901/);
  });
});

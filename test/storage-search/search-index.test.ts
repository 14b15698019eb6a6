import { extractSearchEntries, fhirDateRange, normalizeSystem } from '../../core/storage/index.ts';
import { equivalentSystems } from '../../core/fhir-api/index.ts';
import { CF_ROSSI, clinicalDocument } from '../fhir-api/support/fixtures.ts';

describe('search index extraction', () => {
  const doc = clinicalDocument('030901', CF_ROSSI, { day: '2024-03-11' });

  test('tokens: identifiers and codes with urn:oid: stripped', () => {
    expect(extractSearchEntries(doc.patient).tokens).toEqual([{ param: 'identifier', system: 'http://hl7.it/sid/codiceFiscale', code: CF_ROSSI }]);
    expect(extractSearchEntries(doc.observations[1]!).tokens).toEqual([{ param: 'code', system: '2.16.840.1.113883.6.1', code: '2345-7' }]);
    expect(extractSearchEntries(doc.composition).tokens).toEqual([
      { param: 'identifier', system: '2.16.840.1.113883.2.9.2.30.4.4', code: 'DOC-RSSMRA80A01H501U' },
      { param: 'type', system: 'http://loinc.org', code: '11502-2' },
    ]);
    expect(normalizeSystem('urn:oid:1.2.3')).toBe('1.2.3');
  });

  test('references: subject, patient, encounter; Composition entries at every section depth; DocumentReference related', () => {
    const obs = extractSearchEntries(doc.observations[0]!).references;
    expect(obs).toEqual([
      { param: 'subject', targetType: 'Patient', targetId: doc.patient.id },
      { param: 'encounter', targetType: 'Encounter', targetId: doc.encounter.id },
    ]);
    expect(extractSearchEntries({ resourceType: 'AllergyIntolerance', patient: { reference: 'Patient/p1' } }).references)
      .toEqual([{ param: 'patient', targetType: 'Patient', targetId: 'p1' }]);
    const entries = extractSearchEntries(doc.composition).references.filter((r) => r.param === 'entry').map((r) => `${r.targetType}/${r.targetId}`);
    expect(entries.sort()).toEqual([doc.report, ...doc.observations, doc.condition].map((r) => `${r.resourceType}/${r.id}`).sort());
    expect(extractSearchEntries(doc.documentReference).references).toContainEqual({ param: 'related', targetType: 'Composition', targetId: doc.composition.id });
    // Custodian/author point to the directory: not search parameters here, so not indexed.
    expect(extractSearchEntries(doc.composition).references.some((r) => r.targetType === 'Organization')).toBe(false);
  });

  test('dates: ranges by precision in Europe/Rome; Periods with open ends', () => {
    expect(fhirDateRange('2024')).toEqual({ low: '2023-12-31T23:00:00.000Z', high: '2024-12-31T23:00:00.000Z' });
    expect(fhirDateRange('2024-03')).toEqual({ low: '2024-02-29T23:00:00.000Z', high: '2024-03-31T22:00:00.000Z' });
    // 31 March 2024 is the switch to summer time: a 23-hour day.
    expect(fhirDateRange('2024-03-31')).toEqual({ low: '2024-03-30T23:00:00.000Z', high: '2024-03-31T22:00:00.000Z' });
    expect(fhirDateRange('2024-03-11T09:50:00+01:00')).toEqual({ low: '2024-03-11T08:50:00.000Z', high: '2024-03-11T08:50:01.000Z' });
    expect(fhirDateRange('2024-03-11T09:50:00.250Z')).toEqual({ low: '2024-03-11T09:50:00.250Z', high: '2024-03-11T09:50:00.251Z' });
    expect(fhirDateRange('2024-02-30')).toBeUndefined();
    expect(fhirDateRange('11/03/2024')).toBeUndefined();
    expect(extractSearchEntries(doc.encounter).dates).toEqual([{ param: 'date', low: '2024-03-11T07:00:00.000Z', high: '2024-03-11T11:00:01.000Z' }]);
    expect(extractSearchEntries({ resourceType: 'Encounter', period: { start: '2024-03-11' } }).dates)
      .toEqual([{ param: 'date', low: '2024-03-10T23:00:00.000Z', high: 'infinity' }]);
    expect(extractSearchEntries({ resourceType: 'Condition', onsetDateTime: '2020', recordedDate: '2024-03-11' }).dates.map((d) => d.param))
      .toEqual(['onset-date', 'recorded-date']);
  });

  test('query systems expand to every spelling of the same system', () => {
    expect(equivalentSystems('http://hl7.it/sid/codiceFiscale').sort()).toEqual(['2.16.840.1.113883.2.9.4.3.2', 'http://hl7.it/sid/codiceFiscale']);
    expect(equivalentSystems('urn:oid:2.16.840.1.113883.6.1').sort()).toEqual(['2.16.840.1.113883.6.1', 'http://loinc.org']);
    expect(equivalentSystems('2.16.840.1.113883.6.103').sort()).toEqual(['2.16.840.1.113883.6.103', 'http://hl7.org/fhir/sid/icd-9', 'http://hl7.org/fhir/sid/icd-9-cm']);
    expect(equivalentSystems('http://example.invalid/sid')).toEqual(['http://example.invalid/sid']);
  });
});

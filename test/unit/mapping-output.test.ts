import { isCreateIfAbsent, normalizeMappingOutput, pruneForFhir } from '../../core/mapping/index.ts';
import { MappingError } from '../../core/common/errors.ts';

describe('mapping output normalisation', () => {
  test('empty strings, nulls, empty arrays and empty objects are removed (FHIR ele-1)', () => {
    expect(pruneForFhir({ a: '', b: null, c: [], d: {}, e: [{}, '', 'x'], f: { g: [] }, h: 0, i: false, j: 'ok' })).toEqual({ e: ['x'], h: 0, i: false, j: 'ok' });
  });

  test('a Bundle, an array or one resource are accepted; entries with ifNoneExist are conditional creates', () => {
    const bundle = {
      resourceType: 'Bundle',
      entry: [
        { resource: { resourceType: 'Patient', id: 'p1', name: [] }, request: { method: 'POST', ifNoneExist: 'identifier=x|1' } },
        { resource: { resourceType: 'Observation', id: 'o1', status: 'final' } },
        { resource: null },
      ],
    };
    const resources = normalizeMappingOutput(bundle, 'm');
    expect(resources.map((r) => r.id)).toEqual(['p1', 'o1']);
    expect(resources[0]).toEqual({ resourceType: 'Patient', id: 'p1' });
    expect(resources.map(isCreateIfAbsent)).toEqual([true, false]);
    expect(normalizeMappingOutput([{ resourceType: 'Patient', id: 'a' }], 'm')).toHaveLength(1);
    expect(normalizeMappingOutput({ resourceType: 'Patient', id: 'a' }, 'm')).toHaveLength(1);
  });

  test('what is not FHIR resources is a mapping error with a readable reason', () => {
    expect(() => normalizeMappingOutput('text', 'm.jsonata')).toThrow(MappingError);
    expect(() => normalizeMappingOutput([{ id: 'x' }], 'm.jsonata')).toThrow(/output item 0 is not a FHIR resource/);
    expect(() => normalizeMappingOutput([{ resourceType: 'Patient' }], 'm.jsonata')).toThrow(/has no valid id/);
    expect(() => normalizeMappingOutput(undefined, 'm.jsonata')).toThrow(/produced no output/);
    expect(() => normalizeMappingOutput({ resourceType: 'Bundle', entry: [] }, 'm.jsonata')).toThrow(/produced no resources/);
  });
});

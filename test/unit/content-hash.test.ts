import { createHash } from 'node:crypto';
import { contentHash } from '../../core/storage/index.ts';
import type { FhirResource } from '../../core/storage/index.ts';

/** The formula every stored content_hash was computed with: a change to it would make every stored row look changed. */
function storedFormula(resource: FhirResource): string {
  const { meta, ...rest } = resource;
  const kept = meta ? { profile: meta.profile, tag: meta.tag, security: meta.security } : undefined;
  return createHash('sha256').update(JSON.stringify(kept ? { ...rest, meta: kept } : rest)).digest('hex');
}

describe('contentHash', () => {
  const samples: Array<[string, FhirResource]> = [
    ['no meta', { resourceType: 'Patient', id: 'p1', name: [{ family: 'ROSSI' }] }],
    ['meta first, with server fields', {
      resourceType: 'Observation', meta: { profile: ['http://example.org/p'], versionId: '3', lastUpdated: '2024-01-01T00:00:00Z' },
      id: 'o1', status: 'final', valueQuantity: { value: 1.5, unit: 'mg' },
    } as FhirResource],
    ['empty meta', { resourceType: 'Location', id: 'l1', meta: {} } as FhirResource],
    ['meta with tag and security', {
      resourceType: 'Encounter', id: 'e1', status: 'finished',
      meta: { tag: [{ system: 's', code: 'c' }], security: [{ code: 'N' }], source: 'urn:uuid:x' },
    } as FhirResource],
    ['undefined members', { resourceType: 'Patient', id: 'p2', gender: undefined, meta: { profile: undefined } } as unknown as FhirResource],
  ];

  it.each(samples)('is the formula stored rows were hashed with (%s)', (_label, resource) => {
    expect(contentHash(resource)).toBe(storedFormula(resource));
  });

  it('ignores the server-managed meta fields and sees a content change', () => {
    const base: FhirResource = { resourceType: 'Patient', id: 'p3', gender: 'male', meta: { profile: ['http://example.org/p'] } } as FhirResource;
    const stamped = { ...base, meta: { profile: ['http://example.org/p'], versionId: '7', lastUpdated: '2025-02-02T00:00:00Z', source: 'urn:uuid:y' } } as FhirResource;
    expect(contentHash(stamped)).toBe(contentHash(base));
    expect(contentHash({ ...base, gender: 'female' } as FhirResource)).not.toBe(contentHash(base));
  });
});

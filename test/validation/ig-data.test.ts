/** The committed ig/ data is consistent with its manifest and carries the overrides. */
import { readFileSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { DEFAULT_IG_DIR } from '../../core/validation/index.ts';

interface Element {
  id: string;
  fixedCode?: string;
  fixedString?: string;
  slicing?: { discriminator: Array<{ type: string; path: string }> };
  binding?: { valueSet?: string };
  constraint?: Array<{ key: string; expression: string }>;
}
const read = <T>(rel: string): T => JSON.parse(readFileSync(path.join(DEFAULT_IG_DIR, rel), 'utf8')) as T;
const manifest = read<{ profiles: Array<{ url: string; file: string; snapshotSha256: string; overrides: string[]; source: string }>; failed: Array<{ url: string; reason: string }> }>('manifest.json');
const element = (profile: string, id: string): Element | undefined =>
  read<{ snapshot: { element: Element[] } }>(`profiles/${profile}.json`).snapshot.element.find((e) => e.id === id);

describe('ig/ data', () => {
  it('every profile file matches the hash in the manifest', () => {
    for (const p of manifest.profiles) {
      const text = readFileSync(path.join(DEFAULT_IG_DIR, p.file));
      expect({ file: p.file, sha: createHash('sha256').update(text).digest('hex') }).toEqual({ file: p.file, sha: p.snapshotSha256 });
    }
  });

  it('builds all 14 CORE profiles', () => {
    expect(manifest.profiles.filter((p) => p.source.includes('/CORE/')).length).toBe(14);
  });

  it('applies the override list to the snapshots', () => {
    expect(element('RLPatientCore', 'Patient.telecom:telefono.system')?.fixedCode).toBe('phone');
    expect(element('RLPatientCore', 'Patient.telecom:email.system')?.fixedCode).toBe('email');
    expect(element('RLPatientCore', 'Patient.contact.name.family')?.fixedString).toBeUndefined();
    expect(element('RLPatientCore', 'Patient.identifier:codiceFiscale')?.constraint?.find((c) => c.key === 'rl-pat-codiceFiscale')?.expression).toMatch(/^value\./);
    expect(element('RLPatientCore', 'Patient.maritalStatus')?.binding?.valueSet).toBe('http://hl7.it/fhir/ValueSet/maritalStatus');
    expect(element('RLOrganizationCore', 'Organization.telecom:mail.system')?.fixedCode).toBe('email');
    expect(element('RLOrganizationCore', 'Organization.telecom')?.slicing?.discriminator).toEqual([{ type: 'value', path: 'system' }]);
    const patient = manifest.profiles.find((p) => p.url.endsWith('/RLPatientCore'));
    expect(patient?.overrides).toContain('patient-telecom-telefono-system');
  });

  it('indexes the local value sets, including the supplemented CriticitaClinica', () => {
    const vs = read<Record<string, Record<string, string[] | '*'>>>('terminology/valuesets.json');
    expect(vs['http://hl7.org/fhir/ValueSet/administrative-gender']?.['http://hl7.org/fhir/administrative-gender']).toEqual(['female', 'male', 'other', 'unknown']);
    expect(vs['https://fhir.siss.regione.lombardia.it/ValueSet/DDC-DescL1']?.['https://fhir.siss.regione.lombardia.it/CodeSystem/DDC-DescL1']).toContain('ASST');
    expect(vs['https://fhir.siss.regione.lombardia.it/ValueSet/CriticitaClinica']?.['urn:oid:2.16.840.1.113883.2.9.77.22.11.10']).toEqual(['LA18821-1', 'LA28752-6']);
  });

  it('stays small', () => {
    const total = manifest.profiles.reduce((n, p) => n + statSync(path.join(DEFAULT_IG_DIR, p.file)).size, 0);
    expect(total).toBeLessThan(2_000_000);
  });
});

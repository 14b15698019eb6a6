import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { authoringPathOf, fhirPathToKeys, hl7Names, jsonataPath, jsonPointer, resolveAuthoringPath, UnsafePathError } from '../../core/workbench/index.ts';

describe('resolveAuthoringPath: nothing outside mappings/ and plugins/', () => {
  let root: string;
  let roots: { mappings: string; plugins: string };
  beforeAll(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'cdr-wb-paths-'));
    roots = { mappings: path.join(root, 'mappings'), plugins: path.join(root, 'plugins') };
    mkdirSync(path.join(roots.mappings, 'hl7v2'), { recursive: true });
    mkdirSync(path.join(roots.plugins, 'p1'), { recursive: true });
    writeFileSync(path.join(root, 'secret.txt'), 'outside');
    writeFileSync(path.join(roots.mappings, 'hl7v2', 'a.jsonata'), '1');
    symlinkSync(path.join(root, 'secret.txt'), path.join(roots.mappings, 'hl7v2', 'link.jsonata'));
    symlinkSync(root, path.join(roots.plugins, 'p1', 'up'));
    symlinkSync(path.join(root, 'nowhere'), path.join(roots.mappings, 'dangling.jsonata'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  test('accepts files of the two areas and names them as the page does', () => {
    expect(resolveAuthoringPath(roots, 'mappings/hl7v2/a.jsonata')).toEqual({ area: 'mappings', relative: 'mappings/hl7v2/a.jsonata', absolute: path.join(roots.mappings, 'hl7v2', 'a.jsonata') });
    expect(resolveAuthoringPath(roots, 'plugins/p1/new/x.hl7').absolute).toBe(path.join(roots.plugins, 'p1', 'new', 'x.hl7'));
    expect(authoringPathOf(roots, path.join(roots.plugins, 'p1', 'plugin.json'))).toBe('plugins/p1/plugin.json');
    expect(authoringPathOf(roots, path.join(root, 'secret.txt'))).toBeUndefined();
  });

  test.each([
    ['../secret.txt'],
    ['mappings/../secret.txt'],
    ['mappings/hl7v2/../../secret.txt'],
    ['mappings/./hl7v2/a.jsonata'],
    ['/etc/passwd'],
    [path.join(os.tmpdir(), 'secret.txt')],
    ['C:/Windows/win.ini'],
    ['mappings/%2e%2e/secret.txt'],
    ['mappings/%252e%252e/secret.txt'],
    ['mappings/..%2fsecret.txt'],
    ['mappings\\..\\secret.txt'],
    ['mappings//hl7v2/a.jsonata'],
    ['mappings/hl7v2/a.jsonata\u0000.txt'],
    ['mappings/.hidden'],
    ['secret.txt'],
    ['config/default.json'],
    ['mappings'],
    [''],
    ['mappings/hl7v2/link.jsonata'],
    ['plugins/p1/up/secret.txt'],
    ['mappings/dangling.jsonata'],
  ])('refuses %j', (requested) => {
    expect(() => resolveAuthoringPath(roots, requested)).toThrow(UnsafePathError);
  });
});

describe('path helpers', () => {
  test('jsonataPath quotes names that are not plain', () => {
    expect(jsonataPath(['PID', 0, 'F3', 1, 'C1'])).toBe('PID[0].F3[1].C1');
    expect(jsonataPath(['ClinicalDocument', '@id', 'root'])).toBe('ClinicalDocument.`@id`.root');
    expect(jsonataPath([])).toBe('$');
  });

  test('hl7Names folds repetitions', () => {
    expect(hl7Names(['PID', 0, 'F3', 1, 'C4', 'S2'])).toEqual({ field: 'PID-3', leaf: 'PID-3.4.2' });
    expect(hl7Names(['OBX', 3, 'F5', 0, 'C1'])).toEqual({ field: 'OBX-5', leaf: 'OBX-5.1' });
    expect(hl7Names(['_meta', 'version'])).toBeUndefined();
  });

  test('fhirPathToKeys finds the element, a choice type, and stops at the deepest existing element', () => {
    const resource = { resourceType: 'Observation', identifier: [{ system: 's' }], valueQuantity: { value: 1 }, code: { coding: { code: 'x' } } };
    expect(fhirPathToKeys('Observation.identifier[0].system', resource)).toEqual(['identifier', 0, 'system']);
    expect(fhirPathToKeys('Observation.value[x]', resource)).toEqual(['valueQuantity']);
    expect(fhirPathToKeys('Observation.identifier[0].value', resource)).toEqual(['identifier', 0]);
    expect(fhirPathToKeys('Observation.code.coding[0].code', resource)).toEqual(['code', 'coding', 'code']);
    expect(fhirPathToKeys('Observation', resource)).toEqual([]);
    expect(jsonPointer(['entry', 0, 'resource', 'a/b'])).toBe('/entry/0/resource/a~1b');
  });
});

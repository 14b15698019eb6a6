import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import jsonata from 'jsonata';
import { renderFunctionDocs } from '../../core/mapping/functions/docs.ts';
import { functionBindings, MappingFunctionError, newMappingScope, runInMappingScope } from '../../core/mapping/index.ts';
import { parseHl7v2 } from '../../core/parse/index.ts';
import { buildFunctionLibrary } from '../../core/mapping/functions/index.ts';

const bindings = functionBindings({ ente: '030901', timeZone: 'Europe/Rome' });
type Fn = (...args: unknown[]) => unknown;
const call = (name: string, ...args: unknown[]) => (bindings[name] as Fn)(...args);

/** Calls a function inside a mapping scope and returns its result with the warnings it recorded. */
function scoped(name: string, ...args: unknown[]): { result: unknown; warnings: string[] } {
  const scope = newMappingScope();
  const result = runInMappingScope(scope, () => call(name, ...args));
  return { result, warnings: scope.warnings };
}

/** A message through the real HL7 v2 parser, then a JSONata expression over its tree. */
async function evaluate(expression: string, segments: string[]): Promise<unknown> {
  const raw = Buffer.from(['MSH|^~\\&|LAB|ASST|CDR|RL|20240311095000||ORU^R01^ORU_R01|M1|P|2.5', ...segments].join('\r'));
  return jsonata(expression).evaluate(parseHl7v2(raw), bindings);
}

describe('HL7 DTM → FHIR (time.ts, read in the plugin zone)', () => {
  it('keeps the precision and gives the Europe/Rome offset of the date (winter, summer), or the offset sent', () => {
    expect(call('dateTime', '2024')).toBe('2024');
    expect(call('dateTime', '202403')).toBe('2024-03');
    expect(call('dateTime', '20240311')).toBe('2024-03-11');
    expect(call('dateTime', '202403110950')).toBe('2024-03-11T09:50:00+01:00');
    expect(call('dateTime', '20240711095012')).toBe('2024-07-11T09:50:12+02:00');
    expect(call('dateTime', '20240711095012-0500')).toBe('2024-07-11T09:50:12-05:00');
    expect(call('date', '20240311095000')).toBe('2024-03-11');
    expect(call('instant', '20240311')).toBeUndefined();
    expect(() => call('dateTime', '2024-03-11')).toThrow(MappingFunctionError);
  });
});

describe('$hl7Name / $hl7Address / $hl7Telecom', () => {
  it('XPN → HumanName with use from XPN-7', () => {
    expect(call('hl7Name', { C1: 'ROSSI', C2: 'MARIO', C3: 'LUIGI', C5: 'DOTT.', C7: 'L' })).toEqual({ use: 'official', family: 'ROSSI', given: ['MARIO', 'LUIGI'], prefix: ['DOTT.'] });
    expect(call('hl7Name', { C1: { S1: 'DE ROSSI', S2: 'DE' }, C2: 'ANNA', C7: 'M' })).toEqual({ use: 'maiden', family: 'DE ROSSI', given: ['ANNA'] });
    expect(call('hl7Name', [{ C1: 'A' }, { C1: 'B', C7: 'D' }])).toEqual([{ family: 'A' }, { use: 'usual', family: 'B' }]);
    expect(call('hl7Name', undefined)).toBeUndefined();
  });

  it('XAD → Address with the RLPatientCore use slices (L billing, H home, C temp) or a given map', () => {
    const xad = { C1: { S1: 'VIA DELLE PROVE 1' }, C2: 'SCALA B', C3: 'MILANO', C4: 'MI', C5: '20100', C6: 'IT', C7: 'L' };
    expect(call('hl7Address', xad)).toEqual({ use: 'billing', line: ['VIA DELLE PROVE 1', 'SCALA B'], city: 'MILANO', district: 'MI', postalCode: '20100', country: 'IT' });
    expect(call('hl7Address', { C3: 'LODI', C7: 'H' })).toEqual({ use: 'home', city: 'LODI' });
    expect(call('hl7Address', { C3: 'LODI', C7: 'H' }, { H: 'temp' })).toEqual({ use: 'temp', city: 'LODI' });
    expect(call('hl7Address', { C3: 'LODI', C7: 'ZZ' })).toEqual({ city: 'LODI' });
  });

  it('XTN → ContactPoint: phone, e-mail, fax, mobile; nothing without a value', () => {
    expect(call('hl7Telecom', { C2: 'PRN', C3: 'PH', C12: '0212345678' }, 'work')).toEqual({ system: 'phone', value: '0212345678', use: 'home' });
    expect(call('hl7Telecom', { C2: 'NET', C3: 'Internet', C4: 'a@example.invalid' }, 'home')).toEqual({ system: 'email', value: 'a@example.invalid', use: 'home' });
    expect(call('hl7Telecom', { C2: 'WPN', C3: 'FX', C6: '02', C7: '5550000' })).toEqual({ system: 'fax', value: '02 5550000', use: 'work' });
    expect(call('hl7Telecom', { C3: 'CP', C1: '3330000000' }, 'home')).toEqual({ system: 'phone', value: '3330000000', use: 'mobile' });
    expect(call('hl7Telecom', { C2: 'PRN' })).toBeUndefined();
  });
});

describe('Italian identifiers', () => {
  it('accepts a valid codice fiscale (16 characters, omocodia, 11-digit temporary) without warnings', () => {
    for (const cf of ['RSSMRA80A01H501U', 'rssmra80a01f205x', 'RSSMRA80A01H50MM', '12345678903']) {
      const { result, warnings } = scoped('codiceFiscale', cf);
      expect(result).toEqual({ system: 'http://hl7.it/sid/codiceFiscale', value: cf.toUpperCase() });
      expect(warnings).toEqual([]);
      expect(call('isCodiceFiscale', cf)).toBe(true);
    }
  });

  it('keeps an invalid codice fiscale and records a warning naming the expected check character', () => {
    const { result, warnings } = scoped('codiceFiscale', 'RSSMRA80A01H501X');
    expect(result).toEqual({ system: 'http://hl7.it/sid/codiceFiscale', value: 'RSSMRA80A01H501X' });
    expect(warnings).toEqual(['codice fiscale "RSSMRA80A01H501X" is not valid (the check character should be U): kept as sent']);
    expect(call('isCodiceFiscale', 'RSSMRA80A01H501X')).toBe(false);
    expect(call('isCodiceFiscale', '12345678901')).toBe(false);
    expect(scoped('codiceFiscale', 'NOT-A-CF').warnings[0]).toMatch(/neither 16 characters/);
    expect(scoped('codiceFiscale', undefined).result).toBeUndefined();
  });

  it('builds STP, ENI and TEAM identifiers with the RLPatientCore slice systems, warning on a wrong shape', () => {
    expect(scoped('stpIdentifier', 'STP0301080000001')).toEqual({ result: { system: 'http://terminology.hl7.it/ValueSet/uri-idStp', value: 'STP0301080000001' }, warnings: [] });
    expect(scoped('eniIdentifier', 'ENI0301080000001')).toEqual({ result: { system: 'http://terminology.hl7.it/ValueSet/uri-idEni', value: 'ENI0301080000001' }, warnings: [] });
    expect(scoped('teamIdentifier', '80380000000000000001')).toEqual({ result: { system: 'https://fhir.siss.regione.lombardia.it/sid/tesseraTeam', value: '80380000000000000001' }, warnings: [] });
    expect(scoped('stpIdentifier', 'STP12').warnings).toEqual(['STP code "STP12" is not valid (expected STP followed by 13 digits): kept as sent']);
    expect(scoped('teamIdentifier', '123').warnings).toHaveLength(1);
  });

  it('CX → Identifier by the assigning authority (OID through the identifier table, MEF → codice fiscale)', () => {
    expect(call('hl7Identifier', { C1: 'RSSMRA80A01H501U', C4: 'MEF', C5: 'NNITA' })).toEqual({ system: 'http://hl7.it/sid/codiceFiscale', value: 'RSSMRA80A01H501U' });
    expect(call('hl7Identifier', { C1: 'PZ1', C4: { S1: 'ASST', S2: '2.16.840.1.113883.2.9.2.30901.4.1', S3: 'ISO' } })).toEqual({ system: 'urn:oid:2.16.840.1.113883.2.9.2.30901.4.1', value: 'PZ1' });
    expect(call('hl7Identifier', { C1: 'X', C4: { S2: '1.2.3' } })).toEqual({ system: 'urn:oid:1.2.3', value: 'X' });
    expect(call('hl7Identifier', { C1: 'X', C4: 'LOCAL' })).toEqual({ value: 'X' });
  });
});

describe('codes, numbers, units, results', () => {
  it('CWE → Coding / CodeableConcept with table 0396 systems; local systems carry no system', () => {
    expect(call('hl7Coding', { C1: '2345-7', C2: 'Glucose', C3: 'LN' })).toEqual({ system: 'http://loinc.org', code: '2345-7', display: 'Glucose' });
    expect(call('hl7Coding', { C1: 'F', C3: 'HL70001' })).toEqual({ system: 'http://terminology.hl7.org/CodeSystem/v2-0001', code: 'F' });
    expect(call('hl7CodeableConcept', { C1: 'GLU', C2: 'Glicemia', C3: '99LAB', C4: '2345-7', C5: 'Glucose', C6: 'LN' })).toEqual({
      coding: [{ code: 'GLU', display: 'Glicemia' }, { system: 'http://loinc.org', code: '2345-7', display: 'Glucose' }],
    });
    expect(call('hl7CodeableConcept', { C2: 'solo testo' })).toEqual({ text: 'solo testo' });
  });

  it('NM → number, a decimal comma accepted, text refused', () => {
    expect(call('hl7Number', '5,4')).toBe(5.4);
    expect(call('hl7Number', { C1: '-0.5' })).toBe(-0.5);
    expect(() => call('hl7Number', 'abc')).toThrow(MappingFunctionError);
  });

  it('$ucum converts laboratory spellings and warns on an unknown unit (kept as text)', () => {
    expect(scoped('ucum', 'mg/dl')).toEqual({ result: { unit: 'mg/dl', system: 'http://unitsofmeasure.org', code: 'mg/dL' }, warnings: [] });
    expect(call('ucum', '10^3/uL')).toEqual({ unit: '10^3/uL', system: 'http://unitsofmeasure.org', code: '10*3/uL' });
    expect(call('ucum', 'UI/L')).toEqual({ unit: 'UI/L', system: 'http://unitsofmeasure.org', code: '[IU]/L' });
    const unknown = scoped('ucum', 'gocce');
    expect(unknown.result).toEqual({ unit: 'gocce' });
    expect(unknown.warnings).toEqual(['unit "gocce" has no UCUM code in the library\'s unit table: kept as text only']);
  });

  it('NM + OBX-6 → Quantity; OBX-7 → referenceRange; SN → quantity with comparator, range or ratio', () => {
    expect(call('hl7Quantity', '98', { C1: 'mg/dL', C3: 'UCUM' })).toEqual({ value: 98, unit: 'mg/dL', system: 'http://unitsofmeasure.org', code: 'mg/dL' });
    expect(call('hl7Quantity', '98', { C1: 'mg/dl', C3: '99LAB' })).toEqual({ value: 98, unit: 'mg/dl', system: 'http://unitsofmeasure.org', code: 'mg/dL' });
    const unit = { C1: 'mmol/L', C3: 'UCUM' };
    const mmol = { unit: 'mmol/L', system: 'http://unitsofmeasure.org', code: 'mmol/L' };
    expect(call('hl7ReferenceRange', '3.5-5.0', unit)).toEqual({ low: { value: 3.5, ...mmol }, high: { value: 5, ...mmol }, text: '3.5-5.0' });
    expect(call('hl7ReferenceRange', '< 5', unit)).toEqual({ high: { value: 5, ...mmol }, text: '< 5' });
    expect(call('hl7ReferenceRange', 'negativo')).toEqual({ text: 'negativo' });
    expect(call('hl7StructuredNumeric', { C1: '<', C2: '0.5' }, unit)).toEqual({ valueQuantity: { value: 0.5, comparator: '<', ...mmol } });
    expect(call('hl7StructuredNumeric', { C2: '10', C3: '-', C4: '20' }, unit)).toEqual({ valueRange: { low: { value: 10, ...mmol }, high: { value: 20, ...mmol } } });
    expect(call('hl7StructuredNumeric', { C2: '1', C3: ':', C4: '160' })).toEqual({ valueRatio: { numerator: { value: 1 }, denominator: { value: 160 } } });
  });

  it('abnormal flags → v3-ObservationInterpretation; an unknown flag is text plus a warning', () => {
    expect(call('hl7Interpretation', 'H')).toEqual({ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation', code: 'H', display: 'High' }] });
    expect(call('hl7Interpretation', { C1: 'LL' })).toEqual({ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation', code: 'LL', display: 'Critical low' }] });
    expect(scoped('hl7Interpretation', 'ZZ')).toEqual({ result: { text: 'ZZ' }, warnings: [expect.stringContaining('"ZZ"')] });
  });

  it('works in a JSONata expression over a parsed ORU message', async () => {
    const result = await evaluate("{ 'q': $hl7Quantity(OBX[0].F5.C1, OBX[0].F6), 'i': $hl7Interpretation(OBX[0].F8), 'n': $hl7Name(PID.F5[0]) }", [
      'PID|1||PZ1^^^ASST^PI||DEMO^PAZIENTE^^^^^L',
      'OBX|1|NM|GLU^Glicemia^99LAB||110|mg/dl^^99LAB|70-100|H|||F',
    ]);
    expect(result).toEqual({
      q: { value: 110, unit: 'mg/dl', system: 'http://unitsofmeasure.org', code: 'mg/dL' },
      i: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation', code: 'H', display: 'High' }] },
      n: { use: 'official', family: 'DEMO', given: ['PAZIENTE'] },
    });
  });

  it('$warn records the message in the scope and gives no value', () => {
    expect(scoped('warn', 'PV1-19 missing')).toEqual({ result: undefined, warnings: ['PV1-19 missing'] });
  });
});

describe('docs/functions.md', () => {
  it('is generated from the metadata and up to date (npx cdr functions --write-docs)', () => {
    const written = readFileSync(path.join(process.cwd(), 'docs', 'functions.md'), 'utf8');
    expect(written).toBe(renderFunctionDocs());
  });

  it('documents every library function with a doc and an example', () => {
    const library = buildFunctionLibrary({ ente: '030901', timeZone: 'Europe/Rome' });
    const docs = renderFunctionDocs(library);
    for (const f of library) {
      expect(docs).toContain(`\`$${f.name}\``);
      expect(f.doc.length).toBeGreaterThan(20);
    }
    expect(library.filter((f) => /^hl7|codiceFiscale|ucum/.test(f.name)).every((f) => f.example)).toBe(true);
  });
});

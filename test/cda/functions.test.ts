import { describe, expect, it } from '@jest/globals';
import jsonata from 'jsonata';
import { functionBindings, MappingFunctionError } from '../../core/mapping/index.ts';
import { parseCda } from '../../core/parse/index.ts';

const bindings = functionBindings({ ente: '030903', timeZone: 'Europe/Rome' });
type Fn = (...args: unknown[]) => unknown;
const call = (name: string, ...args: unknown[]) => (bindings[name] as Fn)(...args);

/** Evaluates a JSONata expression against a CDA fragment parsed by the real parser. */
async function evaluate(expression: string, body: string): Promise<unknown> {
  const raw = Buffer.from(`<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><code code="11502-2"/>${body}</ClinicalDocument>`);
  return jsonata(expression).evaluate(parseCda(raw).tree, bindings);
}

describe('$text', () => {
  it('reads a string, the "_" of an element with attributes, each item of an array', () => {
    expect(call('text', 'abc')).toBe('abc');
    expect(call('text', { qualifier: 'BR', _: 'Rossi' })).toBe('Rossi');
    expect(call('text', { code: 'x' })).toBeUndefined();
    expect(call('text', ['a', { _: 'b' }, ''])).toEqual(['a', 'b']);
    expect(call('text', undefined)).toBeUndefined();
  });
});

describe('$cdaIdentifier', () => {
  it('maps known CDA roots to the RL systems (config/identifier-systems.json), with the Ente resolved', () => {
    expect(call('cdaIdentifier', { root: '2.16.840.1.113883.2.9.4.3.2', extension: 'RSSMRA80A01H501U' })).toEqual({ system: 'http://hl7.it/sid/codiceFiscale', value: 'RSSMRA80A01H501U' });
    expect(call('cdaIdentifier', { root: '2.16.840.1.113883.2.9.2.30903.4.6', extension: '2024000789' })).toEqual({
      system: 'urn:oid:2.16.840.1.113883.2.9.2.30903.4.6', value: '2024000789',
    });
    expect(call('cdaIdentifier', { root: '2.16.840.1.113883.2.9.4.1.2', extension: '030903' })).toEqual({
      system: 'https://www.hl7.it/fhir/terminology/ValueSet/minsan-idStrutture', value: '030903',
    });
  });

  it('gives urn:oid systems for other OIDs, identifies by the root alone without extension, nothing for a nullFlavor', () => {
    expect(call('cdaIdentifier', { root: '1.2.3.4', extension: 'X' })).toEqual({ system: 'urn:oid:1.2.3.4', value: 'X' });
    expect(call('cdaIdentifier', { root: '1.2.3.4' })).toEqual({ system: 'urn:ietf:rfc:3986', value: 'urn:oid:1.2.3.4' });
    expect(call('cdaIdentifier', { root: 'AB2C5E2F-0E4B-4DB4-8E29-3C5B2B7E0A11' })).toEqual({ system: 'urn:ietf:rfc:3986', value: 'urn:uuid:ab2c5e2f-0e4b-4db4-8e29-3c5b2b7e0a11' });
    expect(call('cdaIdentifier', { nullFlavor: 'NI' })).toBeUndefined();
    expect(call('cdaIdentifier', [{ root: '1.2', extension: 'a' }, { nullFlavor: 'UNK' }, { root: '1.3', extension: 'b' }])).toEqual([
      { system: 'urn:oid:1.2', value: 'a' }, { system: 'urn:oid:1.3', value: 'b' },
    ]);
  });
});

describe('codes', () => {
  it('maps OIDs to FHIR URIs (LOINC, ICD-9-CM, ATC, SNOMED, HL7 v3) and keeps Italian national systems as urn:oid', () => {
    expect(call('cdaSystem', '2.16.840.1.113883.6.1')).toBe('http://loinc.org');
    expect(call('cdaSystem', '2.16.840.1.113883.6.103')).toBe('http://hl7.org/fhir/sid/icd-9-cm');
    expect(call('cdaSystem', '2.16.840.1.113883.6.73')).toBe('http://www.whocc.no/atc');
    expect(call('cdaSystem', '2.16.840.1.113883.6.96')).toBe('http://snomed.info/sct');
    expect(call('cdaSystem', '2.16.840.1.113883.5.83')).toBe('http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation');
    expect(call('cdaSystem', '2.16.840.1.113883.2.9.6.1.5')).toBe('urn:oid:2.16.840.1.113883.2.9.6.1.5');
  });

  it('builds a CodeableConcept with the translations and the original text; a nullFlavor code has no coding', () => {
    const cd = {
      code: '2160-0', codeSystem: '2.16.840.1.113883.6.1', displayName: ' Creatinina ', originalText: 'creatinina sierica',
      translation: [{ code: 'L1', codeSystem: '1.2.3' }, { nullFlavor: 'OTH' }],
    };
    expect(call('cdaCodeableConcept', cd)).toEqual({
      coding: [{ system: 'http://loinc.org', code: '2160-0', display: 'Creatinina' }, { system: 'urn:oid:1.2.3', code: 'L1' }],
      text: 'creatinina sierica',
    });
    expect(call('cdaCodeableConcept', { nullFlavor: 'NA' })).toBeUndefined();
    expect(call('cdaCodeableConcept', { nullFlavor: 'OTH', originalText: 'altro' })).toEqual({ text: 'altro' });
  });
});

describe('quantities and times', () => {
  it('PQ → Quantity with a numeric value; a value that is not a number is an error, never dropped', () => {
    expect(call('cdaQuantity', { type: 'PQ', value: '1.32', unit: 'mg/dL' })).toEqual({ value: 1.32, unit: 'mg/dL' });
    expect(call('cdaQuantity', { type: 'PQ', nullFlavor: 'NA' })).toBeUndefined();
    expect(() => call('cdaQuantity', { value: '>5', unit: 'mg' })).toThrow(MappingFunctionError);
  });

  it('IVL_PQ → Range', () => {
    expect(call('cdaRange', { low: { value: '70', unit: 'mg/dL' }, high: { value: '110', unit: 'mg/dL' } })).toEqual({
      low: { value: 70, unit: 'mg/dL' }, high: { value: 110, unit: 'mg/dL' },
    });
    expect(call('cdaRange', { high: { value: '60', unit: 'a' } })).toEqual({ high: { value: 60, unit: 'a' } });
  });

  it('TS and IVL_TS → dateTime and Period, keeping the precision and reading local times in the plugin zone', () => {
    expect(call('cdaDateTime', { value: '20240312103000+0100' })).toBe('2024-03-12T10:30:00+01:00');
    expect(call('cdaDateTime', { value: '20240712103000' })).toBe('2024-07-12T10:30:00+02:00');
    expect(call('cdaDateTime', { value: '19800101' })).toBe('1980-01-01');
    expect(call('cdaDateTime', { low: { value: '20240101' } })).toBe('2024-01-01');
    expect(call('cdaDateTime', { nullFlavor: 'UNK' })).toBeUndefined();
    expect(call('cdaPeriod', { low: { value: '20240301' }, high: { value: '202403101200+0100' } })).toEqual({ start: '2024-03-01', end: '2024-03-10T12:00:00+01:00' });
    expect(call('cdaPeriod', { value: '20240301' })).toEqual({ start: '2024-03-01' });
    expect(() => call('cdaDateTime', { value: 'ieri' })).toThrow(MappingFunctionError);
  });
});

describe('names, addresses, telecoms', () => {
  it('PN → HumanName (family parts joined); an unstructured name → text', () => {
    expect(call('cdaName', { use: 'L', family: ['DE', 'ROSSI'], given: ['MARIO', 'LUIGI'], prefix: ['Dott.'] })).toEqual({
      use: 'official', family: 'DE ROSSI', given: ['MARIO', 'LUIGI'], prefix: ['Dott.'],
    });
    expect(call('cdaName', 'Mario Rossi')).toEqual({ text: 'Mario Rossi' });
    expect(call('cdaName', { family: [{ qualifier: 'BR', _: 'Bianchi' }] })).toEqual({ family: 'Bianchi' });
  });

  it('AD → Address, with an optional use map', () => {
    const ad = { use: 'H', streetAddressLine: ['Via Esempio 1'], city: 'Milano', county: 'MI', postalCode: '20121', country: '100', censusTract: '015146' };
    expect(call('cdaAddress', ad)).toEqual({ use: 'home', line: ['Via Esempio 1'], city: 'Milano', district: 'MI', postalCode: '20121', country: '100' });
    expect(call('cdaAddress', ad, { H: 'billing' })).toMatchObject({ use: 'billing' });
    expect(call('cdaAddress', { streetName: 'Via Roma', houseNumber: '3' })).toEqual({ line: ['Via Roma 3'] });
    expect(call('cdaAddress', { nullFlavor: 'UNK' })).toBeUndefined();
  });

  it('TEL → ContactPoint by URL scheme', () => {
    expect(call('cdaTelecom', { use: 'MC', value: 'tel:+393330000001' })).toEqual({ system: 'phone', value: '+393330000001', use: 'mobile' });
    expect(call('cdaTelecom', { use: 'HP', value: 'mailto:a@example.invalid' })).toEqual({ system: 'email', value: 'a@example.invalid', use: 'home' });
    expect(call('cdaTelecom', { value: 'fax:02123' })).toEqual({ system: 'fax', value: '02123' });
    expect(call('cdaTelecom', { value: 'https://example.invalid/x' })).toEqual({ system: 'url', value: 'https://example.invalid/x' });
  });
});

describe('narrative functions', () => {
  const narrative = '<paragraph ID="p1">Dolore <content styleCode="Bold Xfoo">toracico</content> &amp; dispnea</paragraph><list listType="ordered"><item ID="i1">uno</item></list>';

  it('$narrative gives an XHTML div', () => {
    expect(call('narrative', narrative)).toBe(
      '<div xmlns="http://www.w3.org/1999/xhtml"><p id="p1">Dolore <span class="Xfoo" style="font-weight: bold">toracico</span> &amp; dispnea</p><ol><li id="i1">uno</li></ol></div>',
    );
    expect(call('narrative', { mediaType: 'text/x-hl7-text+xml', _: '<paragraph>x</paragraph>' })).toBe('<div xmlns="http://www.w3.org/1999/xhtml"><p>x</p></div>');
    expect(call('narrative', '<paragraph>  </paragraph>')).toBeUndefined();
  });

  it('$narrative maps links, captions, footnotes and tables, drops multimedia and unknown markup but keeps their text', () => {
    const raw = [
      '<cda:paragraph xmlns:cda="urn:hl7-org:v3"><caption>Nota</caption>vedi <linkHtml href="https://example.invalid/x" onclick="evil()">qui</linkHtml>',
      '<footnoteRef IDREF="f1"/><footnote ID="f1">fonte</footnote></cda:paragraph>',
      '<table><caption>Esami</caption><tbody><tr><td colspan="2" onmouseover="x" styleCode="Italics">a &lt; b</td></tr></tbody></table>',
      '<renderMultiMedia referencedObject="img1"><caption>immagine</caption></renderMultiMedia><unknown>testo <![CDATA[<b>crudo</b>]]></unknown><br/>',
    ].join('');
    expect(call('narrative', raw)).toBe(
      '<div xmlns="http://www.w3.org/1999/xhtml"><p><span>Nota</span>vedi <a href="https://example.invalid/x">qui</a><sup></sup><span id="f1">fonte</span></p>' +
        '<table><caption>Esami</caption><tbody><tr><td colspan="2" style="font-style: italic">a &lt; b</td></tr></tbody></table>' +
        'testo &lt;b&gt;crudo&lt;/b&gt;<br/></div>',
    );
  });

  it('$narrativeText and $narrativeLookup give plain text', () => {
    expect(call('narrativeText', narrative)).toBe('Dolore toracico & dispnea\nuno');
    expect(call('narrativeLookup', narrative, '#i1')).toBe('uno');
    expect(call('narrativeLookup', narrative, { value: '#p1' })).toBe('Dolore toracico & dispnea');
    expect(call('narrativeLookup', narrative, '#missing')).toBeUndefined();
  });

  it('a malformed narrative is a mapping function error', () => {
    expect(() => call('narrative', '<paragraph>open')).toThrow(MappingFunctionError);
  });
});

describe('$prune', () => {
  it('drops empty arrays, objects, strings and nulls, keeps false and 0', () => {
    expect(call('prune', { a: [], b: {}, c: '', d: null, e: [{}, { f: [] }], g: false, h: 0, i: [{ j: 'x', k: [] }] })).toEqual({ g: false, h: 0, i: [{ j: 'x' }] });
  });
});

describe('through JSONata on a parsed CDA', () => {
  it('reads identifiers, codes, values and times in a mapping', async () => {
    const body = `
      <recordTarget><patientRole><id root="2.16.840.1.113883.2.9.4.3.2" extension="RSSMRA80A01H501U"/></patientRole></recordTarget>
      <component><structuredBody><component><section><text><paragraph ID="n">nota</paragraph></text>
        <entry><observation><code code="2345-7" codeSystem="2.16.840.1.113883.6.1"/><effectiveTime value="20240312091500+0100"/>
          <value xsi:type="PQ" value="92" unit="mg/dL"/></observation></entry>
      </section></component></structuredBody></component>`;
    const result = await evaluate(
      `(
        $o := ClinicalDocument.component.structuredBody.component.section.entry.observation;
        {
          'id': $cdaIdentifier(ClinicalDocument.recordTarget.patientRole.id),
          'code': $cdaCodeableConcept($o.code),
          'value': $cdaQuantity($o.value[type = 'PQ'][0]),
          'at': $cdaDateTime($o.effectiveTime),
          'note': $narrativeLookup(ClinicalDocument.component.structuredBody.component.section.text, '#n')
        }
      )`,
      body,
    );
    expect(result).toEqual({
      id: [{ system: 'http://hl7.it/sid/codiceFiscale', value: 'RSSMRA80A01H501U' }],
      code: { coding: [{ system: 'http://loinc.org', code: '2345-7' }] },
      value: { value: 92, unit: 'mg/dL' },
      at: '2024-03-12T09:15:00+01:00',
      note: 'nota',
    });
  });
});

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { ParseError } from '../../core/common/errors.ts';
import { cdaFormat, formatParser } from '../../core/parse/index.ts';
import { pluginManifestSchema } from '../../core/plugins/index.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SHARED = process.env.CDR_SHARED_DIR ? path.resolve(process.env.CDR_SHARED_DIR) : path.resolve(REPO, '..', 'shared');
const SAMPLES = path.join(REPO, 'plugins', 'irccs-demo-documenti-cda', 'samples');
const manifest = pluginManifestSchema.parse(JSON.parse(readFileSync(path.join(REPO, 'plugins', 'irccs-demo-documenti-cda', 'plugin.json'), 'utf8')));
const lab = readFileSync(path.join(SAMPLES, 'lab-referto.xml'));

type Tree = { ClinicalDocument: Record<string, any> };

function parseFailure(run: () => unknown): ParseError {
  try {
    run();
  } catch (error) {
    if (error instanceof ParseError) return error;
    throw error;
  }
  throw new Error('expected a ParseError');
}

describe('CDA format parser', () => {
  it('is registered for the "cda" format', () => {
    expect(formatParser('cda')).toBe(cdaFormat);
  });

  it('routes on the LOINC document code; the source id is id + setId + version; the source time is effectiveTime', () => {
    const parsed = cdaFormat.parse(lab, manifest);
    expect(parsed.routeKey).toBe('11502-2');
    expect(parsed.sourceMessageId).toBe(
      '2.16.840.1.113883.2.9.2.30903.4.4^LAB.2024.000123.V1|setId=2.16.840.1.113883.2.9.2.30903.4.4^LAB.2024.000123|version=1',
    );
    expect(parsed.sourceTime).toBe('20240312103000+0100');
  });

  it('reads the same facts in the envelope without parsing', () => {
    const parsed = cdaFormat.parse(lab, manifest);
    expect(cdaFormat.envelope(lab)).toEqual({
      routeKey: parsed.routeKey,
      sourceMessageId: parsed.sourceMessageId,
      sourceTime: parsed.sourceTime,
      sendingApplication: null,
      sendingFacility: null,
    });
  });

  it('a new version of the document has a new source id, a redelivery the same one', () => {
    const v2 = Buffer.from(
      lab.toString('utf8').replace('extension="LAB.2024.000123.V1"', 'extension="LAB.2024.000123.V2"').replace('<versionNumber value="1"/>', '<versionNumber value="2"/>'),
    );
    expect(cdaFormat.envelope(v2).sourceMessageId).not.toBe(cdaFormat.envelope(lab).sourceMessageId);
    expect(cdaFormat.envelope(v2).sourceMessageId).toContain('|setId=2.16.840.1.113883.2.9.2.30903.4.4^LAB.2024.000123|version=2');
    expect(cdaFormat.envelope(Buffer.from(lab)).sourceMessageId).toBe(cdaFormat.envelope(lab).sourceMessageId);
  });

  it('builds the documented tree: arrays for repeatable elements, xsi:type as "type", narrative kept raw', () => {
    const doc = (cdaFormat.parse(lab, manifest).tree as Tree).ClinicalDocument;
    expect(doc.templateId).toEqual([{ root: '2.16.840.1.113883.2.9.10.1.1', extension: '1.3' }]);
    expect(doc.code).toEqual({ code: '11502-2', codeSystem: '2.16.840.1.113883.6.1', codeSystemName: 'LOINC', displayName: 'Referto di laboratorio' });
    expect(doc.recordTarget[0].patientRole.id.map((i: { extension: string }) => i.extension)).toEqual(['RSSMRA80A01H501U', 'PZ0000456']);
    expect(doc.recordTarget[0].patientRole.patient.name).toEqual([{ family: ['ROSSI'], given: ['MARIO'] }]);
    const section = doc.component[0].structuredBody.component[0].section;
    expect(typeof section.text).toBe('string');
    expect(section.text).toMatch(/^<table border="1">/);
    expect(section.text).toContain('<content styleCode="Bold">1.32</content>');
    const observation = section.entry[0].act.entryRelationship[1].observation;
    expect(observation.value).toEqual([{ type: 'PQ', value: '1.32', unit: 'mg/dL' }]);
    expect(observation.code.translation).toEqual([{ code: '0090.1234', codeSystem: '2.16.840.1.113883.2.9.2.30903.6.11', displayName: 'CREATININA' }]);
    expect(observation.entryRelationship[0].act.text).toEqual({ reference: [{ value: '#nota-crea' }] });
  });

  it('refuses documents that are not CDA, not in the HL7 v3 namespace, or without a document code', () => {
    expect(parseFailure(() => cdaFormat.parse(Buffer.from('<ADT_A01 xmlns="urn:hl7-org:v2xml"/>'), manifest)).code).toBe('PARSE_CDA_NOT_CLINICAL_DOCUMENT');
    expect(parseFailure(() => cdaFormat.parse(Buffer.from('<ClinicalDocument><code code="1"/></ClinicalDocument>'), manifest)).code).toBe('PARSE_CDA_NAMESPACE');
    const noCode = parseFailure(() => cdaFormat.parse(Buffer.from('<ClinicalDocument xmlns="urn:hl7-org:v3"><code nullFlavor="NI"/></ClinicalDocument>'), manifest));
    expect(noCode.code).toBe('PARSE_CDA_NO_CODE');
    expect(noCode.kind).toBe('permanent');
  });

  it('refuses a truncated document (a cut transfer is never half-stored)', () => {
    const cut = lab.subarray(0, Math.floor(lab.length * 0.7));
    expect(parseFailure(() => cdaFormat.parse(cut, manifest)).code).toBe('PARSE_XML_TRUNCATED');
    expect(cdaFormat.envelope(cut).routeKey).toBe('11502-2');
  });

  it('refuses every truncation of a document: a cut transfer never parses as a shorter document', () => {
    const codes = new Set<string>();
    for (let cut = 1; cut < lab.length - 1; cut += 7) {
      codes.add(parseFailure(() => cdaFormat.parse(lab.subarray(0, cut), manifest)).code);
    }
    // A cut inside a multi-byte character is an encoding error, before the prolog ends there is no root yet.
    expect([...codes].sort()).toEqual(expect.arrayContaining(['PARSE_XML_TRUNCATED']));
    expect([...codes].filter((c) => !['PARSE_XML_TRUNCATED', 'PARSE_XML_NO_ROOT', 'PARSE_XML_ENCODING'].includes(c))).toEqual([]);
  });

  it('checks the namespaces the plugin declares', () => {
    const strict = pluginManifestSchema.parse({ ...manifest, parser: { xml: { namespaces: { '': 'urn:example:other' } } } });
    expect(parseFailure(() => cdaFormat.parse(lab, strict)).code).toBe('PARSE_XML_NAMESPACE');
  });

  it.each([
    ['empty', Buffer.alloc(0)],
    ['garbage', Buffer.from([0xff, 0x00, 0x13, 0x80, 0x3c, 0x3c, 0x3e])],
    ['HL7 v2', Buffer.from('MSH|^~\\&|A|B|C|D|20240101||ADT^A01|1|P|2.5\r')],
    ['an unclosed comment', Buffer.from('<!-- <ClinicalDocument')],
  ])('the envelope of %s input never throws', (_name, raw) => {
    expect(cdaFormat.envelope(raw)).toEqual({ routeKey: null, sourceMessageId: null, sourceTime: null, sendingApplication: null, sendingFacility: null });
  });
});

/** Every CDA in the shared corpus and national examples: parse never fails unexpectedly and the envelope agrees. */
describe('shared CDA corpus (optional: read from the shared folder)', () => {
  const roots = [path.join(SHARED, 'corpus', 'cda'), path.join(SHARED, 'ig', 'it-fse-esempi', 'doc', 'esempi', 'CDA')].filter((d) => existsSync(d));
  if (roots.length === 0) process.stdout.write(`parser.test: ${SHARED} has no CDA corpus; skipping (set CDR_SHARED_DIR)\n`);
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const full = path.join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (/\.(xml|ccda)$/.test(name)) files.push(full);
    }
  };
  roots.forEach(walk);
  const run = files.length > 0 ? it : it.skip;

  run('every full ClinicalDocument parses and its envelope matches the parse', () => {
    let parsed = 0;
    for (const file of files) {
      const raw = readFileSync(file);
      let result;
      try {
        result = cdaFormat.parse(raw, manifest);
      } catch (error) {
        // Fragments (no root ClinicalDocument, no namespace, no code) are refused with a stable code, never anything else.
        expect(error).toBeInstanceOf(ParseError);
        expect(['PARSE_CDA_NOT_CLINICAL_DOCUMENT', 'PARSE_CDA_NAMESPACE', 'PARSE_CDA_NO_CODE', 'PARSE_XML_NAMESPACE']).toContain((error as ParseError).code);
        continue;
      }
      parsed++;
      const envelope = cdaFormat.envelope(raw);
      expect({ file, routeKey: envelope.routeKey, id: envelope.sourceMessageId, time: envelope.sourceTime }).toEqual({
        file, routeKey: result.routeKey, id: result.sourceMessageId, time: result.sourceTime,
      });
    }
    expect(parsed).toBeGreaterThan(20);
  });
});

import { describe, expect, it } from '@jest/globals';
import iconv from 'iconv-lite';
import { ParseError } from '../../core/common/errors.ts';
import { formatParser, xmlFormat } from '../../core/parse/index.ts';
import { pluginManifestSchema, type PluginManifest } from '../../core/plugins/index.ts';

const manifest = (xml: Record<string, unknown> = {}): PluginManifest =>
  pluginManifestSchema.parse({ id: 'xml-test', version: '1', ente: '030903', format: 'xml', parser: { xml }, routes: [{ match: '*', mapping: 'x.jsonata' }] });

function parseFailure(run: () => unknown): ParseError {
  try {
    run();
  } catch (error) {
    if (error instanceof ParseError) return error;
    throw error;
  }
  throw new Error('expected a ParseError');
}

const BATCH = `<?xml version="1.0" encoding="UTF-8"?>
<!-- export notturno -->
<tr:TriageExport xmlns:tr="urn:example:triage" data="2024-04-10">
  <tr:Testata><tr:Sistema>PS-DEMO</tr:Sistema></tr:Testata>
  <tr:Accesso id="A1"><tr:Paziente cf="RSSMRA80A01H501U"/><tr:Codice>2</tr:Codice></tr:Accesso>
  <tr:Accesso id="A2"><tr:Paziente cf="BNCGLI85M50F205W"/><tr:Codice>4</tr:Codice><tr:Nota>perché &amp; però</tr:Nota></tr:Accesso>
  <tr:Altro><tr:Accesso id="not-a-record"/></tr:Altro>
  <tr:Accesso id="A3"/>
</tr:TriageExport>`;

describe('generic XML format', () => {
  it('is registered for the "xml" format and routes on the root element', () => {
    expect(formatParser('xml')).toBe(xmlFormat);
    const parsed = xmlFormat.parse(Buffer.from('<Referto><Esame codice="01">Glicemia</Esame></Referto>'), manifest());
    expect(parsed).toEqual({ tree: { Referto: { Esame: { codice: '01', _: 'Glicemia' } } }, routeKey: 'Referto', sourceMessageId: null, sourceTime: null });
  });

  it('the envelope reads the root element name past the prolog, and never throws', () => {
    expect(xmlFormat.envelope(Buffer.from(BATCH)).routeKey).toBe('TriageExport');
    expect(xmlFormat.envelope(Buffer.from('<!DOCTYPE a SYSTEM "a.dtd"><?pi?><!-- c --><a/>')).routeKey).toBe('a');
    expect(xmlFormat.envelope(Buffer.from('<!DOCTYPE a [<!ELEMENT a ANY>]><a/>')).routeKey).toBe('a');
    for (const garbage of ['', 'plain text', '<!-- never closed', '<', '\u0000\u0001']) {
      expect(xmlFormat.envelope(Buffer.from(garbage))).toEqual({ routeKey: null, sourceMessageId: null, sourceTime: null, sendingApplication: null, sendingFacility: null });
    }
  });

  it('makes the plugin\'s arrayElements arrays', () => {
    const parsed = xmlFormat.parse(Buffer.from('<R><Esame>1</Esame></R>'), manifest({ arrayElements: ['Esame'] }));
    expect(parsed.tree).toEqual({ R: { Esame: ['1'] } });
  });

  it('checks the root namespace against parser.xml.namespaces and the depth against parser.xml.maxDepth', () => {
    const strict = manifest({ namespaces: { tr: 'urn:example:triage' } });
    expect(xmlFormat.parse(Buffer.from(BATCH), strict).routeKey).toBe('TriageExport');
    expect(parseFailure(() => xmlFormat.parse(Buffer.from('<TriageExport/>'), strict)).code).toBe('PARSE_XML_NAMESPACE');
    expect(parseFailure(() => xmlFormat.parse(Buffer.from('<a xmlns="urn:other"/>'), strict)).code).toBe('PARSE_XML_NAMESPACE');
    expect(parseFailure(() => xmlFormat.parse(Buffer.from('<a><b><c/></b></a>'), manifest({ maxDepth: 2 }))).code).toBe('PARSE_XML_TOO_DEEP');
  });
});

describe('batch exports: split on parser.xml.recordPath', () => {
  const batch = manifest({ recordPath: 'TriageExport.Accesso', arrayElements: ['Paziente'] });

  it('returns the raw record elements only at the record path, each a standalone document', () => {
    const records = xmlFormat.split!(Buffer.from(BATCH), batch);
    expect(records.map((r) => r.toString('utf8'))).toEqual([
      '<tr:Accesso xmlns:tr="urn:example:triage" id="A1"><tr:Paziente cf="RSSMRA80A01H501U"/><tr:Codice>2</tr:Codice></tr:Accesso>',
      '<tr:Accesso xmlns:tr="urn:example:triage" id="A2"><tr:Paziente cf="BNCGLI85M50F205W"/><tr:Codice>4</tr:Codice><tr:Nota>perché &amp; però</tr:Nota></tr:Accesso>',
      '<tr:Accesso xmlns:tr="urn:example:triage" id="A3"/>',
    ]);
  });

  it('each record parses on its own and routes on the record element', () => {
    const [first, second] = xmlFormat.split!(Buffer.from(BATCH), batch);
    expect(xmlFormat.parse(first!, batch)).toMatchObject({ routeKey: 'Accesso', tree: { Accesso: { id: 'A1', Paziente: [{ cf: 'RSSMRA80A01H501U' }], Codice: '2' } } });
    expect(xmlFormat.envelope(second!).routeKey).toBe('Accesso');
    expect(xmlFormat.parse(second!, manifest({ recordPath: 'TriageExport.Accesso', namespaces: { tr: 'urn:example:triage' } })).tree).toMatchObject({
      Accesso: { Nota: 'perché & però' },
    });
  });

  it('transcodes records of a Latin-1 batch to UTF-8', () => {
    const latin1 = iconv.encode('<?xml version="1.0" encoding="ISO-8859-1"?><E><R n="è"/></E>', 'latin1');
    const [record] = xmlFormat.split!(latin1, manifest({ recordPath: 'E.R' }));
    expect(record!.toString('utf8')).toBe('<R n="è"/>');
  });

  it('leaves a single record, or a plugin without recordPath, as one message; a batch without records gives none', () => {
    const one = Buffer.from('<Accesso id="A9"/>');
    expect(xmlFormat.split!(one, batch)).toEqual([one]);
    const raw = Buffer.from(BATCH);
    expect(xmlFormat.split!(raw, manifest())).toEqual([raw]);
    expect(xmlFormat.split!(Buffer.from('<TriageExport><Testata/></TriageExport>'), batch)).toEqual([]);
  });

  it('refuses a document that is not the batch, a malformed batch; the manifest refuses a path without a record level', () => {
    expect(parseFailure(() => xmlFormat.split!(Buffer.from('<Other><Accesso/></Other>'), batch)).code).toBe('PARSE_XML_RECORD_PATH');
    expect(parseFailure(() => xmlFormat.split!(Buffer.from(BATCH.slice(0, 300)), batch)).code).toBe('PARSE_XML_TRUNCATED');
    // A path without a record level never reaches the parser: the manifest schema refuses it.
    expect(() => manifest({ recordPath: 'Accesso' })).toThrow(/dotted element path/);
    expect(parseFailure(() => xmlFormat.split!(Buffer.from(`${BATCH}<!DOCTYPE x [<!ENTITY e "x">]>`), batch)).code).toBe('PARSE_XML_MALFORMED');
  });
});

import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadSettings, REPO_ROOT } from '../../core/config/index.ts';
import { CoverageCollector } from '../../scripts/corpus/coverage.ts';
import { detectFormat, rootElementName } from '../../scripts/corpus/detect.ts';
import { nationalAgreement } from '../../scripts/corpus/national.ts';
import { formatCorpusReport } from '../../scripts/corpus/report.ts';
import { normaliseReason, runCorpus, type CorpusReport } from '../../scripts/corpus/run.ts';

const A01 = readFileSync(path.join(REPO_ROOT, 'plugins', 'asst-demo-nord-adt', 'samples', 'adt-a01.hl7'), 'utf8');
const IG_DIR = path.join(REPO_ROOT, 'ig');

describe('format detection', () => {
  test('HL7 v2 plain, MLLP-framed and batched; CDA in UTF-8 and UTF-16; other XML; anything else', () => {
    expect(detectFormat(Buffer.from(A01))).toBe('hl7v2');
    expect(detectFormat(Buffer.from(`\x0b${A01}\x1c\r`))).toBe('hl7v2');
    expect(detectFormat(Buffer.from(`FHS|^~\\&|X\rBHS|^~\\&|X\r${A01}`))).toBe('hl7v2');
    const cda = '<?xml version="1.0"?>\n<!-- a comment -->\n<?xml-stylesheet href="x.xsl"?>\n<ClinicalDocument xmlns="urn:hl7-org:v3"><id/></ClinicalDocument>';
    expect(detectFormat(Buffer.from(`\ufeff${cda}`))).toBe('cda');
    expect(detectFormat(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(cda, 'utf16le')]))).toBe('cda');
    expect(detectFormat(Buffer.from('<!DOCTYPE x [ <!ENTITY e "v"> ]><v3:ClinicalDocument xmlns:v3="urn:hl7-org:v3"/>'))).toBe('cda');
    expect(detectFormat(Buffer.from('<EsportazioneTriage xmlns="urn:x"><Accesso/></EsportazioneTriage>'))).toBe('xml');
    expect(rootElementName('<?xml version="1.0"?><pst:Accesso xmlns:pst="urn:x"/>')).toBe('Accesso');
    expect(detectFormat(Buffer.from('{"resourceType": "Bundle"}'))).toBeUndefined();
    expect(detectFormat(Buffer.from('PID|1||X'))).toBeUndefined();
  });
});

describe('grouping of failure reasons', () => {
  test('values, ids and positions are blanked, names of fields and codes are kept', () => {
    expect(normaliseReason('mappings/x.jsonata:12:7: JSONata D3137: PV1-2 patient class "Z" has no mapping')).toBe(
      'mappings/x.jsonata:L:C: JSONata D3137: PV1-2 patient class "…" has no mapping',
    );
    expect(normaliseReason('not valid UTF-8 (byte 0xfd at offset 1234)')).toBe(normaliseReason('not valid UTF-8 (byte 0xfd at offset 99)'));
    expect(normaliseReason('Condition/0123456789abcdef0123456789abcdef missing')).toBe('Condition/<id> missing');
    expect(normaliseReason('no id with root 2.16.840.1.113883.2.9.4.3.2 in 3 ids; expected 1..* value(s), found 0')).toBe(
      'no id with root 2.16.840.1.113883.2.9.4.3.2 in N ids; expected 1..* value(s), found N',
    );
  });
});

describe('IG coverage', () => {
  test('elements and identifier/address slices populated, per profile; resources without a snapshot apart', () => {
    const coverage = new CoverageCollector(IG_DIR);
    const profile = 'https://fhir.siss.regione.lombardia.it/StructureDefinition/RLPatientCore';
    coverage.add({
      resourceType: 'Patient', id: 'a', meta: { profile: [profile] },
      identifier: [{ system: 'http://hl7.it/sid/codiceFiscale', value: 'RSSMRA80A01H501U' }],
      name: [{ family: 'ROSSI' }], address: [{ use: 'billing', city: 'MONZA' }], deceasedBoolean: false,
    });
    coverage.add({ resourceType: 'Patient', id: 'b', meta: { profile: [profile] }, identifier: [{ system: 'http://terminology.hl7.it/ValueSet/uri-idStp', value: 'STP1' }] });
    coverage.add({ resourceType: 'Observation', id: 'o', status: 'final' });
    const [patient] = coverage.results();
    expect(patient!.resources).toBe(2);
    expect(patient!.populated.get('identifier')).toBe(2);
    expect(patient!.populated.get('identifier:codiceFiscale')).toBe(1);
    expect(patient!.populated.get('identifier:codiceSTP')).toBe(1);
    expect(patient!.populated.get('identifier:anpr')).toBeUndefined();
    expect(patient!.populated.get('address:residenzaAnagraficaCittadino')).toBe(1);
    expect(patient!.populated.get('address:domicilioCittadino')).toBeUndefined();
    expect(patient!.populated.get('name.family')).toBe(1);
    expect(patient!.populated.get('deceased[x]')).toBe(1);
    expect(patient!.elements.map((e) => e.id)).toEqual(expect.arrayContaining(['maritalStatus', 'generalPractitioner', 'extension:cittadinanza']));
    expect(patient!.elements.map((e) => e.id)).not.toContain('meta');
    expect(coverage.unprofiled.get('Observation')).toBe(1);
  });
});

describe('a corpus run over a folder', () => {
  let dir: string;
  let report: CorpusReport;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'cdr-corpus-'));
    mkdirSync(path.join(dir, 'sub'));
    writeFileSync(path.join(dir, 'adt-a01.hl7'), A01);
    writeFileSync(path.join(dir, 'sub', 'mfn.hl7'), 'MSH|^~\\&|LIS|X|CDR|RL|20240311||MFN^M02|L1|P|2.5\rPID|1||X1^^^X^PI\rOBR|1\r');
    writeFileSync(path.join(dir, 'sub', 'mfn-2.hl7'), 'MSH|^~\\&|LIS|X|CDR|RL|20240311||MFN^M02|L2|P|2.5\rPID|1||X2^^^X^PI\r');
    writeFileSync(path.join(dir, 'bad-class.hl7'), A01.replace(/PV1\|1\|I\|/, 'PV1|1|Z|'));
    writeFileSync(path.join(dir, 'bad-class-2.hl7'), A01.replace(/PV1\|1\|I\|/, 'PV1|1|Q|').replace(/\|(MSG-[A-Z0-9-]+)\|P\|/, '|OTHER|P|'));
    writeFileSync(path.join(dir, 'truncated.hl7'), 'MSH|^~\\&|X\r');
    writeFileSync(path.join(dir, 'adt-a01.expected.json'), '{}');
    writeFileSync(path.join(dir, 'notes.md'), '# notes');
    writeFileSync(path.join(dir, 'blob.bin'), 'hello');
    report = await runCorpus(loadSettings(), { dir, igDir: IG_DIR });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('counts every stage, groups failures by reason and unrouted messages by type', () => {
    expect(report.files).toBe(9);
    expect(report.skipped).toEqual({ notMessages: 2, unrecognised: 1 });
    expect(report.byFormat.hl7v2).toBe(6);
    expect([report.messages, report.parsed, report.routed, report.mapped, report.valid]).toEqual([6, 5, 3, 1, 1]);
    expect(report.noRoute).toEqual([expect.objectContaining({ reason: 'hl7v2 MFN^M02', count: 2 })]);
    expect(report.failures.parse).toEqual([expect.objectContaining({ count: 1, reason: expect.stringMatching(/^PARSE_NO_MESSAGE_TYPE/) })]);
    expect(report.failures.map).toEqual([
      expect.objectContaining({ count: 2, reason: expect.stringMatching(/PV1-2 patient class "…" has no FHIR Encounter.class mapping/) }),
    ]);
    expect(report.plugins).toEqual({ 'asst-demo-nord-adt': 3 }); // the MFN (no plugin routes it) and the truncated file are read without a plugin
    expect(report.resources).toBe(3);
    expect(report.coverage.map((c) => c.url.split('/').pop())).toEqual(['RLEncounterCore', 'RLLocationCore', 'RLPatientCore']);
  });

  test('prints the funnel, the reasons and the coverage', () => {
    const text = formatCorpusReport(report);
    expect(text).toMatch(/^input\s+6\s+100\.0%/m);
    expect(text).toMatch(/^routed\s+3\s+50\.0%\s+2 no route, 0 other/m);
    expect(text).toMatch(/^valid\s+1\s+16\.7%\s+0/m);
    expect(text).toMatch(/no route \(format and message\/document type\): 2 in 1 group\(s\)\n\s+2 {2}hl7v2 MFN\^M02 {3}\[e\.g\. sub\/mfn-2\.hl7\]/);
    expect(text).toMatch(/RLPatientCore \(Patient\): 1 resource\(s\), \d+\/\d+ elements and slices populated/);
    expect(text).toMatch(/slices: .*identifier:codiceFiscale 100\.0%/);
    expect(text).toMatch(/not populated: .*maritalStatus/);
  });

  test('npm run corpus runs the same from the command line', async () => {
    const { stdout, code } = await new Promise<{ stdout: string; code: number }>((resolve) => {
      execFile(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'scripts', 'corpus.ts'), dir, '--no-progress', '--no-coverage'], { cwd: REPO_ROOT, timeout: 120_000 },
        (error, out) => resolve({ stdout: out, code: error ? Number(error.code ?? 1) : 0 }));
    });
    expect(code).toBe(0);
    expect(stdout).toMatch(new RegExp(`^corpus ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: 9 files \\(hl7v2 6; skipped 2 non-message files, 1 unrecognised\\)`));
    expect(stdout).toMatch(/^mapped\s+1\s+16\.7%\s+0 hook, 2 map/m);
    expect(stdout).not.toMatch(/IG coverage/);
  });
});

/** The national examples are read from ../shared when present (never copied into the repository). */
const SHARED = process.env.CDR_SHARED_DIR ? path.resolve(process.env.CDR_SHARED_DIR) : path.resolve(REPO_ROOT, '..', 'shared');
const NATIONAL_EXAMPLES = path.join(SHARED, 'ig', 'it-fse-esempi');
const haveExamples = existsSync(NATIONAL_EXAMPLES);
if (!haveExamples) process.stdout.write(`corpus.test: ${NATIONAL_EXAMPLES} not found; skipping the national-gateway agreement (set CDR_SHARED_DIR)\n`);

(haveExamples ? describe : describe.skip)('agreement with the national gateway on its example CDAs', () => {
  test('every example our plugins map is compared with the gateway bundle beside it', async () => {
    const agreement = await nationalAgreement();
    expect(agreement.available).toBe(true);
    const report = await runCorpus(loadSettings(), { dir: NATIONAL_EXAMPLES, igDir: IG_DIR, onMapped: (file, resources) => agreement.onMapped(file, resources) });
    const lines = agreement.lines(NATIONAL_EXAMPLES);
    expect(lines[0]).toMatch(/agreement with the national FSE gateway/);
    const documents = lines.filter((l) => /^ {2}doc\/esempi\/CDA\/\w+\.xml \d+\/\d+ \(\d+\.\d%\)$/.test(l));
    expect(documents).toHaveLength(report.mapped);
    expect(report.mapped).toBeGreaterThan(0);
    expect(lines.at(-1)).toMatch(new RegExp(`overall: \\d+/\\d+ facts agree \\(\\d+\\.\\d%\\) over ${report.mapped} document\\(s\\) mapped`));
  });
});

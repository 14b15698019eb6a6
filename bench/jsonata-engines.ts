/**
 * Messages per second of the JSONata interpreter (jsonata 2.2.2, expression compiled once, `await evaluate()`)
 * against the compiled engine (`compileJsonata(...).evaluateSync`), on realistic mappings.
 *
 *   npx tsx bench/jsonata-engines.ts [--seconds 1] [--runs 3]
 *
 * Each engine is warmed up, then measured `runs` times for `seconds` each in the same process; the median is kept.
 * Before timing, both engines' results are checked to be the same JSON.
 */
import { isDeepStrictEqual } from 'node:util';
import { fileURLToPath } from 'node:url';
import jsonata from 'jsonata';
import { compileJsonata, setJsonataFallbackListener } from '../core/mapping/compiler/index.ts';

export interface BenchCase {
  name: string;
  expression: string;
  input: unknown;
  bindings?: Record<string, unknown>;
}

export interface BenchResult {
  name: string;
  interpreterPerSec: number;
  compiledPerSec: number;
  ratio: number;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

async function measure(seconds: number, once: () => unknown): Promise<number> {
  const deadline = performance.now() + seconds * 1000;
  const start = performance.now();
  let count = 0;
  let batch = 1;
  while (performance.now() < deadline) {
    for (let i = 0; i < batch; i++) {
      const r = once();
      if (r instanceof Promise) await r;
    }
    count += batch;
    if (batch < 1024) batch *= 2;
  }
  return count / ((performance.now() - start) / 1000);
}

const asJson = (v: unknown): unknown => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));

export async function benchJsonataEngines(
  cases: BenchCase[],
  opts: { seconds?: number; runs?: number } = {},
): Promise<BenchResult[]> {
  const seconds = opts.seconds ?? 1;
  const runs = Math.max(3, opts.runs ?? 3);
  const results: BenchResult[] = [];
  for (const c of cases) {
    const interpreted = jsonata(c.expression);
    const compiled = compileJsonata(c.expression);
    if (compiled.evaluateSync === undefined) {
      throw new Error(`${c.name}: not compiled (${compiled.fallback?.message ?? 'unknown reason'})`);
    }
    const evaluateSync = compiled.evaluateSync.bind(compiled);
    const expected = asJson(await interpreted.evaluate(c.input, c.bindings));
    const actual = asJson(evaluateSync(c.input, c.bindings));
    if (!isDeepStrictEqual(actual, expected)) throw new Error(`${c.name}: compiled result differs from the interpreter's`);

    const runInterpreter = (): Promise<unknown> => interpreted.evaluate(c.input, c.bindings);
    const runCompiled = (): unknown => evaluateSync(c.input, c.bindings);
    // warm-up: let both reach optimised code before measuring
    await measure(Math.min(0.5, seconds), runInterpreter);
    await measure(Math.min(0.5, seconds), runCompiled);
    const interp: number[] = [];
    const comp: number[] = [];
    for (let r = 0; r < runs; r++) {
      interp.push(await measure(seconds, runInterpreter));
      comp.push(await measure(seconds, runCompiled));
    }
    const interpreterPerSec = median(interp);
    const compiledPerSec = median(comp);
    results.push({ name: c.name, interpreterPerSec, compiledPerSec, ratio: compiledPerSec / interpreterPerSec });
  }
  return results;
}

// ---------------------------------------------------------------------------------------------------------------
// built-in realistic cases (the engine's HL7 v2 tree: segments and fields are arrays, components C1..Cn strings)

/** A small function library like the one the engine binds into mappings. */
export const mappingFunctions: Record<string, unknown> = {
  hl7Date: (v: unknown) =>
    typeof v === 'string' && v.length >= 8 ? `${v.slice(0, 4)}-${v.slice(4, 6)}-${v.slice(6, 8)}` : undefined,
  hl7DateTime: (v: unknown) => {
    if (typeof v !== 'string' || v.length < 8) return undefined;
    const date = `${v.slice(0, 4)}-${v.slice(4, 6)}-${v.slice(6, 8)}`;
    return v.length >= 12 ? `${date}T${v.slice(8, 10)}:${v.slice(10, 12)}:${v.length >= 14 ? v.slice(12, 14) : '00'}+01:00` : date;
  },
  resourceId: (type: unknown, value: unknown) => {
    let h = 2166136261;
    for (const ch of `${String(type)}|${String(value)}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
    return `${String(type).toLowerCase()}-${(h >>> 0).toString(16)}`;
  },
};

const c = (C1: string, extra: Record<string, string> = {}) => ({ C1, ...extra });

export const adtA01Input = {
  MSH: [{ F3: [c('ADT_LOMB')], F4: [c('OSP_NIGUARDA')], F7: [c('20240315103000')], F9: [{ C1: 'ADT', C2: 'A01' }], F10: [c('123')], F12: [c('2.5')] }],
  EVN: [{ F2: [c('20240315103000')] }],
  PID: [
    {
      F3: [
        { C1: 'RSSMRA80A01H501U', C4: 'MEF', C5: 'NNITA' },
        { C1: '0012345678', C4: 'OSP_NIGUARDA', C5: 'PI' },
      ],
      F5: [{ C1: 'ROSSI', C2: 'MARIO', C3: 'GIUSEPPE' }],
      F7: [c('19800101')],
      F8: [c('M')],
      F11: [{ C1: 'VIA ROMA 1', C3: 'MILANO', C4: 'MI', C5: '20121', C6: 'ITA' }],
      F13: [{ C1: '+39021234567' }, { C1: '' }],
    },
  ],
  PV1: [{ F2: [c('I')], F3: [{ C1: 'CARD', C2: '101', C3: 'B' }], F19: [c('2024000123')], F44: [c('20240315103000')] }],
};

const adtA01Mapping = `(
  $pid := PID[0];
  $pv1 := PV1[0];
  $patientId := $resourceId('Patient', $pid.F3[C5 = 'NNITA'].C1);
  {
    "resourceType": "Bundle",
    "type": "transaction",
    "entry": [
      {
        "fullUrl": "urn:uuid:" & $patientId,
        "resource": {
          "resourceType": "Patient",
          "id": $patientId,
          "identifier": $map($pid.F3, function($id) {{
            "system": $id.C4 = "MEF" ? "http://hl7.it/sid/codiceFiscale" : "urn:oid:2.16.840.1.113883.2.9.4.3.2." & $id.C4,
            "value": $id.C1
          }}),
          "name": $pid.F5.{ "use": "official", "family": C1, "given": [C2, C3][$ != ""] },
          "gender": ($g := $pid.F8.C1; $g = "M" ? "male" : $g = "F" ? "female" : "unknown"),
          "birthDate": $hl7Date($pid.F7.C1),
          "address": $pid.F11.{ "line": [C1], "city": C3, "district": C4, "postalCode": C5, "country": C6 },
          "telecom": $pid.F13[C1 != ""].{ "system": "phone", "value": C1 }
        },
        "request": { "method": "PUT", "url": "Patient/" & $patientId }
      },
      {
        "resource": {
          "resourceType": "Encounter",
          "id": $resourceId('Encounter', $pv1.F19.C1),
          "status": MSH.F9.C2 = "A03" ? "finished" : "in-progress",
          "class": {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": $pv1.F2.C1 = "I" ? "IMP" : $pv1.F2.C1 = "E" ? "EMER" : "AMB"
          },
          "subject": { "reference": "Patient/" & $patientId },
          "period": { "start": $hl7DateTime($pv1.F44.C1) },
          "location": [{ "location": { "display": $join([$pv1.F3.C1, $pv1.F3.C2, $pv1.F3.C3], " - ") } }],
          "serviceProvider": { "identifier": { "value": MSH.F4.C1 } }
        },
        "request": { "method": "PUT", "url": "Encounter/" & $resourceId('Encounter', $pv1.F19.C1) }
      }
    ]
  }
)`;

const analytes: Array<[string, string, string, string, string, string]> = [
  ['718-7', 'Emoglobina', '13.5', 'g/dL', '12-16', 'N'],
  ['789-8', 'Eritrociti', '4.6', '10*6/uL', '4.2-5.4', 'N'],
  ['4544-3', 'Ematocrito', '41', '%', '37-47', 'N'],
  ['787-2', 'MCV', '89', 'fL', '80-99', 'N'],
  ['6690-2', 'Leucociti', '11.2', '10*3/uL', '4-10', 'H'],
  ['777-3', 'Piastrine', '250', '10*3/uL', '150-400', 'N'],
  ['2345-7', 'Glucosio', '102', 'mg/dL', '70-100', 'H'],
  ['2160-0', 'Creatinina', '0.9', 'mg/dL', '0.6-1.2', 'N'],
  ['3094-0', 'Azotemia', '35', 'mg/dL', '10-50', 'N'],
  ['2951-2', 'Sodio', '140', 'mmol/L', '135-145', 'N'],
  ['2823-3', 'Potassio', '4.1', 'mmol/L', '3.5-5.1', 'N'],
  ['1920-8', 'AST', 'non eseguito', '', '', ''],
];

export const oruR01Input = {
  MSH: [{ F9: [{ C1: 'ORU', C2: 'R01' }], F10: [c('456')] }],
  PID: adtA01Input.PID,
  OBR: [{ F3: [c('LAB-2024-0042')], F4: [{ C1: '24323-8', C2: 'Pannello metabolico' }], F7: [c('20240315081500')] }],
  OBX: analytes.map(([code, display, value, unit, range, flag], i) => ({
    _i: 7 + i,
    F2: [c(unit === '' ? 'ST' : 'NM')],
    F3: [{ C1: code, C2: display, C3: 'LN' }],
    F5: [c(value)],
    F6: [c(unit)],
    F7: [c(range)],
    F8: [c(flag)],
    F11: [c('F')],
  })),
};

const oruR01Mapping = `(
  $patientRef := "Patient/" & $resourceId('Patient', PID.F3[C5 = 'NNITA'].C1);
  $obr := OBR[0];
  $reportId := $resourceId('DiagnosticReport', $obr.F3.C1);
  $observations := $map(OBX, function($o, $i) {{
    "resourceType": "Observation",
    "id": $reportId & "-obs-" & $string($i + 1),
    "status": $o.F11.C1 = "F" ? "final" : "preliminary",
    "code": { "coding": [{
      "system": $o.F3.C3 = "LN" ? "http://loinc.org" : "urn:oid:" & $o.F3.C3,
      "code": $o.F3.C1,
      "display": $o.F3.C2
    }] },
    "subject": { "reference": $patientRef },
    "effectiveDateTime": $hl7DateTime($obr.F7.C1),
    "valueQuantity": $o.F2.C1 = "NM" ? {
      "value": $number($o.F5.C1),
      "unit": $o.F6.C1,
      "system": "http://unitsofmeasure.org",
      "code": $o.F6.C1
    },
    "valueString": $o.F2.C1 = "ST" ? $o.F5.C1,
    "referenceRange": $o.F7.C1 ? [{ "text": $o.F7.C1 }],
    "interpretation": $o.F8.C1 ? [{ "coding": [{
      "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
      "code": $o.F8.C1
    }] }],
    "extension": [{ "url": "urn:cdr:obx-position", "valueInteger": $o._i }]
  }});
  [{
    "resourceType": "DiagnosticReport",
    "id": $reportId,
    "status": "final",
    "code": { "coding": [{ "system": "http://loinc.org", "code": $obr.F4.C1, "display": $obr.F4.C2 }] },
    "subject": { "reference": $patientRef },
    "effectiveDateTime": $hl7DateTime($obr.F7.C1),
    "result": $observations.{ "reference": "Observation/" & id }
  }] ~> $append($observations)
)`;

const sections: Array<[string, string, number]> = [
  ['8716-3', 'Parametri vitali', 10],
  ['30954-2', 'Esami di laboratorio', 14],
  ['10160-0', 'Terapia farmacologica', 8],
  ['11450-4', 'Problemi', 8],
];

export const cdaInput = {
  ClinicalDocument: {
    id: { '@root': '2.16.840.1.113883.2.9.2.30.4.4', '@extension': 'DOC-77' },
    title: 'Lettera di dimissione ospedaliera',
    effectiveTime: { '@value': '20240320120000+0100' },
    recordTarget: {
      patientRole: {
        id: [
          { '@root': '2.16.840.1.113883.2.9.4.3.2', '@extension': 'RSSMRA80A01H501U' },
          { '@root': '2.16.840.1.113883.2.9.2.30', '@extension': '0012345678' },
        ],
        patient: {
          name: { family: 'ROSSI', given: ['MARIO', 'GIUSEPPE'] },
          administrativeGenderCode: { '@code': 'M' },
          birthTime: { '@value': '19800101' },
        },
      },
    },
    component: {
      structuredBody: {
        component: sections.map(([code, title, n], s) => ({
          section: {
            code: { '@code': code, '@codeSystem': '2.16.840.1.113883.6.1' },
            title,
            entry: Array.from({ length: n }, (_, i) => ({
              observation: {
                '@classCode': 'OBS',
                id: { '@root': `obs-${s}-${i}` },
                code: {
                  '@code': `${1000 + s * 100 + i}-${i % 10}`,
                  '@codeSystem': i % 3 === 0 ? '2.16.840.1.113883.2.9.77' : '2.16.840.1.113883.6.1',
                  '@displayName': `${title} voce ${i + 1}`,
                },
                effectiveTime: { '@value': `2024031${s}0${i % 10}3000` },
                value:
                  i % 4 === 3
                    ? { '@xsi:type': 'ST', '#text': `nota ${i}` }
                    : { '@xsi:type': 'PQ', '@value': String(10 + i * 1.5), '@unit': 'mg/dL' },
              },
            })),
          },
        })),
      },
    },
  },
};

const cdaMapping = `(
  $doc := ClinicalDocument;
  $patient := $doc.recordTarget.patientRole;
  $cf := $patient.id[\`@root\` = "2.16.840.1.113883.2.9.4.3.2"].\`@extension\`;
  $sections := $doc.component.structuredBody.component.section;
  {
    "resourceType": "Bundle",
    "type": "document",
    "identifier": { "system": "urn:oid:" & $doc.id.\`@root\`, "value": $doc.id.\`@extension\` },
    "entry": [
      {
        "resource": {
          "resourceType": "Patient",
          "id": $resourceId("Patient", $cf),
          "identifier": $patient.id.{ "system": "urn:oid:" & \`@root\`, "value": \`@extension\` },
          "name": [{ "family": $patient.patient.name.family, "given": [$patient.patient.name.given] }],
          "gender": $patient.patient.administrativeGenderCode.\`@code\` = "M" ? "male" : "female",
          "birthDate": $hl7Date($patient.patient.birthTime.\`@value\`)
        }
      },
      {
        "resource": {
          "resourceType": "Composition",
          "title": $doc.title,
          "date": $hl7DateTime($doc.effectiveTime.\`@value\`),
          "subject": { "reference": "Patient/" & $resourceId("Patient", $cf) },
          "section": $sections.{
            "title": title,
            "code": { "coding": [{ "system": "http://loinc.org", "code": code.\`@code\` }] },
            "entry": entry.observation.{ "reference": "Observation/" & id.\`@root\` }
          }
        }
      },
      $sections.entry.observation.{
        "resource": {
          "resourceType": "Observation",
          "id": id.\`@root\`,
          "status": "final",
          "code": { "coding": [{
            "system": code.\`@codeSystem\` = "2.16.840.1.113883.6.1" ? "http://loinc.org" : "urn:oid:" & code.\`@codeSystem\`,
            "code": code.\`@code\`,
            "display": code.\`@displayName\`
          }] },
          "effectiveDateTime": $hl7DateTime(effectiveTime.\`@value\`),
          "valueQuantity": value.\`@xsi:type\` = "PQ" ? { "value": $number(value.\`@value\`), "unit": value.\`@unit\` },
          "valueString": value.\`@xsi:type\` = "ST" ? value.\`#text\`
        }
      }
    ]
  }
)`;

export const builtinCases: BenchCase[] = [
  { name: 'ADT^A01 → Patient + Encounter', expression: adtA01Mapping, input: adtA01Input, bindings: mappingFunctions },
  { name: 'ORU^R01 (12 OBX) → DiagnosticReport + 12 Observation', expression: oruR01Mapping, input: oruR01Input, bindings: mappingFunctions },
  { name: 'CDA (40 entries) → Bundle', expression: cdaMapping, input: cdaInput, bindings: mappingFunctions },
];

function formatTable(results: BenchResult[]): string {
  const rows = results.map((r) => [
    r.name,
    Math.round(r.interpreterPerSec).toLocaleString('en-US'),
    Math.round(r.compiledPerSec).toLocaleString('en-US'),
    `${r.ratio.toFixed(1)}×`,
  ]);
  const header = ['case', 'interpreter msg/s', 'compiled msg/s', 'ratio'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (cells: string[]): string => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  return [fmt(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmt)].join('\n');
}

async function main(): Promise<void> {
  const arg = (name: string): number | undefined => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? Number(process.argv[i + 1]) : undefined;
  };
  setJsonataFallbackListener(undefined);
  const seconds = arg('--seconds') ?? 1;
  const runs = arg('--runs') ?? 3;
  process.stdout.write(`jsonata 2.2.2 interpreter vs compiled engine (median of ${runs} runs × ${seconds}s, node ${process.version})\n\n`);
  const results = await benchJsonataEngines(builtinCases, { seconds, runs });
  process.stdout.write(formatTable(results) + '\n');
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  });
}

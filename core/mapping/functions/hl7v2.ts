import { codeSystemUri } from './cda.ts';
import { identifierSystems, resolveSystem } from './identifiers.ts';
import { recordMappingWarning, recordUnmappedCode } from './scope.ts';
import { MappingFunctionError, type MappingFunction, type MappingFunctionContext } from './types.ts';
import { compact, each, isNode, type Node } from './values.ts';

/**
 * HL7 v2 data types → FHIR R4 data types, for mappings reading the HL7 v2 tree (docs/parsed-trees.md):
 * a field repetition is `{C1, C2...}`, a component a string or `{S1, S2...}`. Every function gives no
 * value for a missing input and, given an array (several repetitions), converts each one.
 * Data problems (an invalid codice fiscale, an unknown unit or flag) never fail the message: they are
 * recorded as trail warnings (core/mapping/functions/scope.ts) and the value is kept as sent.
 */

type Json = unknown;


/** A component's text: the string, or the first subcomponent of a component that has subcomponents. */
export function componentText(value: unknown): string | undefined {
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (isNode(value)) return componentText(value.S1);
  return undefined;
}

function component(node: unknown, n: number): string | undefined {
  return isNode(node) ? componentText(node[`C${n}`]) : undefined;
}

/** A field value given either as a repetition object (text in C1) or as a plain string. */
function scalar(value: unknown): string | undefined {
  if (Array.isArray(value)) return scalar(value[0]);
  return typeof value === 'string' ? componentText(value) : component(value, 1);
}



function present(values: Array<string | undefined>): string[] {
  return values.filter((v): v is string => v !== undefined && v !== '');
}

// ---------- names (XPN) ----------

/** XPN-7 name type (HL7 table 0200) → HumanName.use (HL7 v2-to-FHIR ConceptMap "NameType"). */
const NAME_USE: Record<string, string> = { L: 'official', D: 'usual', M: 'maiden', B: 'official', N: 'nickname', A: 'usual', S: 'anonymous', T: 'temp', C: 'old' };

export function hl7Name(xpn: unknown): Json {
  if (!isNode(xpn)) return undefined;
  return compact({
    use: NAME_USE[component(xpn, 7) ?? ''],
    family: component(xpn, 1),
    given: present([component(xpn, 2), component(xpn, 3)]),
    prefix: present([component(xpn, 5), component(xpn, 6)]),
    suffix: present([component(xpn, 4)]),
  });
}

// ---------- addresses (XAD) ----------

/**
 * XAD-7 address type (HL7 table 0190) → Address.use. RLPatientCore slices addresses by use: residenza
 * anagrafica = billing (type L, legal address), domicilio = home (H), locazione temporanea = temp (C).
 */
export const DEFAULT_ADDRESS_USE: Readonly<Record<string, string>> = { L: 'billing', H: 'home', C: 'temp', B: 'work', O: 'work', BA: 'old', BDL: 'old' };

export function hl7Address(xad: unknown, useMap?: unknown): Json {
  if (!isNode(xad)) return undefined;
  const uses = isNode(useMap) ? (useMap as Record<string, string>) : DEFAULT_ADDRESS_USE;
  const type = component(xad, 7);
  return compact({
    use: type ? uses[type] : undefined,
    line: present([component(xad, 1), component(xad, 2)]),
    city: component(xad, 3),
    district: component(xad, 4),
    postalCode: component(xad, 5),
    country: component(xad, 6),
  });
}

// ---------- telecoms (XTN) ----------

export function hl7Telecom(xtn: unknown, defaultUse?: unknown): Json {
  if (!isNode(xtn)) return undefined;
  const useCode = component(xtn, 2);
  const equipment = component(xtn, 3);
  const isEmail = equipment === 'Internet' || equipment === 'X.400' || useCode === 'NET';
  const phone = component(xtn, 12) ?? (component(xtn, 7) ? present([component(xtn, 5), component(xtn, 6), component(xtn, 7)]).join(' ') : undefined) ?? component(xtn, 1);
  const value = isEmail ? (component(xtn, 4) ?? component(xtn, 1)) : phone;
  if (!value) return undefined;
  const system = isEmail ? 'email' : equipment === 'FX' ? 'fax' : equipment === 'BP' ? 'pager' : 'phone';
  // XTN-2 (table 0201): WPN work, PRN/ORN home, EMR emergency; a cellular phone (XTN-3 CP) is "mobile".
  const use = equipment === 'CP' ? 'mobile' : useCode === 'WPN' ? 'work' : useCode === 'PRN' || useCode === 'ORN' ? 'home' : typeof defaultUse === 'string' ? defaultUse : undefined;
  return compact({ system, value, use });
}

// ---------- identifiers ----------

const ODD_VALUES: Record<string, number> = {
  0: 1, 1: 0, 2: 5, 3: 7, 4: 9, 5: 13, 6: 15, 7: 17, 8: 19, 9: 21,
  A: 1, B: 0, C: 5, D: 7, E: 9, F: 13, G: 15, H: 17, I: 19, J: 21, K: 2, L: 4, M: 18,
  N: 20, O: 11, P: 3, Q: 6, R: 8, S: 12, T: 14, U: 16, V: 10, W: 22, X: 25, Y: 24, Z: 23,
};
/** 16-character codice fiscale; digit positions accept the omocodia letters L-V. */
const CF16 = /^[A-Z]{6}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]$/;
/** 11-digit temporary codice fiscale (codice fiscale provvisorio, same check digit as the partita IVA). */
const CF11 = /^\d{11}$/;

/** Why a codice fiscale is not valid, or undefined when it is (format and check character). */
export function codiceFiscaleProblem(raw: string): string | undefined {
  const cf = raw.trim().toUpperCase();
  if (CF11.test(cf)) {
    let sum = 0;
    for (let i = 0; i < 10; i++) {
      const digit = Number(cf[i]);
      if (i % 2 === 0) sum += digit;
      else sum += digit * 2 > 9 ? digit * 2 - 9 : digit * 2;
    }
    const check = (10 - (sum % 10)) % 10;
    return check === Number(cf[10]) ? undefined : `the check digit should be ${check}`;
  }
  if (!CF16.test(cf)) return 'it is neither 16 characters in the codice fiscale pattern nor an 11-digit temporary code';
  let sum = 0;
  for (let i = 0; i < 15; i++) {
    const c = cf[i]!;
    sum += i % 2 === 0 ? ODD_VALUES[c]! : /\d/.test(c) ? Number(c) : c.charCodeAt(0) - 65;
  }
  const check = String.fromCharCode(65 + (sum % 26));
  return check === cf[15] ? undefined : `the check character should be ${check}`;
}

function identifierOf(concept: string, value: unknown, ente: string, label: string, problem: (v: string) => string | undefined): Json {
  const text = scalar(value);
  if (!text) return undefined;
  const normalized = text.trim().toUpperCase();
  const why = problem(normalized);
  if (why) recordMappingWarning(`${label} "${normalized}" is not valid (${why}): kept as sent`);
  return { system: resolveSystem(concept, 'rl', ente), value: normalized };
}

const STP = /^STP\d{13}$/;
const ENI = /^ENI\d{13}$/;
const TEAM = /^\d{20}$/;

/** CX-4 assigning authority (its universal id, else its namespace id) → the RL identifier system. */
function authoritySystems(ente: string): Map<string, string> {
  const systems = new Map<string, string>([['MEF', resolveSystem('codiceFiscale', 'rl', ente)!], ['SSN', resolveSystem('codiceFiscale', 'rl', ente)!]]);
  for (const concept of Object.keys(identifierSystems())) {
    const rl = resolveSystem(concept, 'rl', ente);
    const root = resolveSystem(concept, 'cdaRoot', ente);
    if (rl && root && !systems.has(root)) systems.set(root, rl);
  }
  return systems;
}

export function hl7Identifier(cx: unknown, ente: string): Json {
  if (!isNode(cx)) return undefined;
  const value = component(cx, 1);
  if (!value) return undefined;
  const authority = cx.C4;
  const universalId = isNode(authority) ? componentText(authority.S2) : undefined;
  const namespace = componentText(authority);
  const systems = authoritySystems(ente);
  const system = (universalId && (systems.get(universalId) ?? codeSystemUri(universalId))) ?? (namespace ? systems.get(namespace) : undefined);
  return compact({ system, value });
}

// ---------- codes (CE / CWE / CNE) ----------

/** HL7 table 0396 coding system names → FHIR URIs (local "99zzz" / "L" systems have none). */
const V2_CODE_SYSTEMS: Record<string, string> = {
  LN: 'http://loinc.org', SCT: 'http://snomed.info/sct', SNM: 'http://snomed.info/sct', UCUM: 'http://unitsofmeasure.org',
  I9: 'http://hl7.org/fhir/sid/icd-9-cm', I9C: 'http://hl7.org/fhir/sid/icd-9-cm', I10: 'http://hl7.org/fhir/sid/icd-10',
  ATC: 'http://www.whocc.no/atc', AIC: 'urn:oid:2.16.840.1.113883.2.9.6.1.5',
};

export function v2SystemUri(name: string | undefined): string | undefined {
  if (!name) return undefined;
  if (V2_CODE_SYSTEMS[name]) return V2_CODE_SYSTEMS[name];
  const table = /^HL7(\d{4})$/.exec(name);
  if (table) return `http://terminology.hl7.org/CodeSystem/v2-${table[1]}`;
  if (/^[0-2](\.(0|[1-9]\d*))+$/.test(name)) return codeSystemUri(name);
  return undefined; // local (99zzz, L) or unknown: the coding keeps code and display only
}

function codingAt(cwe: Node, offset: number): Json {
  return compact({ system: v2SystemUri(component(cwe, offset + 3)), code: component(cwe, offset + 1), display: component(cwe, offset + 2) });
}

export function hl7Coding(cwe: unknown): Json {
  return isNode(cwe) && component(cwe, 1) ? codingAt(cwe, 0) : undefined;
}

export function hl7CodeableConcept(cwe: unknown): Json {
  if (!isNode(cwe)) return undefined;
  const codings = [component(cwe, 1) ? codingAt(cwe, 0) : undefined, component(cwe, 4) ? codingAt(cwe, 3) : undefined].filter((c) => c !== undefined);
  const text = component(cwe, 9) ?? (codings.length === 0 ? component(cwe, 2) : undefined);
  return compact({ coding: codings, text });
}

// ---------- numbers, units, quantities ----------

export function hl7Number(value: unknown): number | undefined {
  const text = scalar(value);
  if (text === undefined) return undefined;
  const n = Number(text.trim().replace(',', '.'));
  if (text.trim() === '' || !Number.isFinite(n)) throw new MappingFunctionError(`$hl7Number: "${text}" is not a number (HL7 NM)`, 'hl7Number');
  return n;
}

/**
 * Units as laboratories write them → their UCUM code. Keys are lower case; values are valid UCUM.
 * A unit that is not here and not a known UCUM code keeps its text (Quantity.unit) without a code.
 */
const UCUM_ALIASES: Record<string, string> = {
  'mg/dl': 'mg/dL', 'g/dl': 'g/dL', 'g/l': 'g/L', 'mg/l': 'mg/L', 'ug/l': 'ug/L', 'µg/l': 'ug/L', 'ng/ml': 'ng/mL', 'pg/ml': 'pg/mL',
  'ug/dl': 'ug/dL', 'µg/dl': 'ug/dL', 'mmol/l': 'mmol/L', 'umol/l': 'umol/L', 'µmol/l': 'umol/L', 'nmol/l': 'nmol/L', 'pmol/l': 'pmol/L',
  'meq/l': 'meq/L', 'mosm/kg': 'mosm/kg', 'u/l': 'U/L', 'ui/l': '[IU]/L', 'iu/l': '[IU]/L', 'mui/l': 'm[IU]/L', 'miu/l': 'm[IU]/L',
  'uui/ml': 'u[IU]/mL', 'µui/ml': 'u[IU]/mL', 'uiu/ml': 'u[IU]/mL', 'ui/ml': '[IU]/mL', 'u/ml': 'U/mL', 'ku/l': 'kU/L',
  '%': '%', 'fl': 'fL', 'pg': 'pg', 'mm/h': 'mm/h', 'mm/1h': 'mm/h', 'sec': 's', 's': 's', 'min': 'min', 'ratio': '{ratio}', 'inr': '{INR}',
  '10^3/ul': '10*3/uL', '10^3/µl': '10*3/uL', '10*3/ul': '10*3/uL', 'x10^3/ul': '10*3/uL', '10^6/ul': '10*6/uL', '10^6/µl': '10*6/uL',
  '10*6/ul': '10*6/uL', 'x10^6/ul': '10*6/uL', '10^9/l': '10*9/L', '10*9/l': '10*9/L', '10^12/l': '10*12/L', '10*12/l': '10*12/L',
  '/ul': '/uL', '/µl': '/uL', 'mmhg': 'mm[Hg]', 'kg': 'kg', 'g': 'g', 'cm': 'cm', 'm': 'm', 'ml': 'mL', 'l': 'L', 'ml/min': 'mL/min',
  'ml/min/1.73m2': 'mL/min/{1.73_m2}', 'ml/min/1,73m2': 'mL/min/{1.73_m2}', 'cel': 'Cel', '°c': 'Cel', 'bpm': '/min', '/min': '/min', 'kg/m2': 'kg/m2',
};

export function ucum(unit: unknown): Json {
  const text = scalar(unit);
  if (!text) return undefined;
  const code = UCUM_ALIASES[text.trim().toLowerCase()];
  if (!code) {
    recordMappingWarning(`unit "${text}" has no UCUM code in the library's unit table: kept as text only`);
    return { unit: text };
  }
  return { unit: text, system: 'http://unitsofmeasure.org', code };
}

/** OBX-6 (CE/CWE): the identifier, unless it is a local code with a UCUM-looking text. */
function unitOf(field: unknown): Node | undefined {
  const units = Array.isArray(field) ? field[0] : field;
  if (!isNode(units)) return typeof units === 'string' ? (ucum(units) as Node) : undefined;
  const id = component(units, 1);
  const system = component(units, 3);
  if (id && system === 'UCUM') return { unit: component(units, 2) ?? id, system: 'http://unitsofmeasure.org', code: id };
  return ucum(id ?? component(units, 2)) as Node | undefined;
}

export function hl7Quantity(value: unknown, units?: unknown): Json {
  const n = hl7Number(value);
  if (n === undefined) return undefined;
  return { value: n, ...(unitOf(units) ?? {}) };
}

const RANGE = /^\s*(-?\d+(?:[.,]\d+)?)\s*[-–]\s*(-?\d+(?:[.,]\d+)?)\s*$/;
const BOUND = /^\s*(<=?|>=?)\s*(-?\d+(?:[.,]\d+)?)\s*$/;

/** OBX-7 reference range ("3.5-5.0", "<5", ">=10", or text) → an Observation.referenceRange element. */
export function hl7ReferenceRange(text: unknown, units?: unknown): Json {
  const raw = scalar(text);
  if (!raw) return undefined;
  const unit = unitOf(units) ?? {};
  const q = (v: string) => ({ value: Number(v.replace(',', '.')), ...unit });
  const range = RANGE.exec(raw);
  if (range) return { low: q(range[1]!), high: q(range[2]!), text: raw };
  const bound = BOUND.exec(raw);
  if (bound) return bound[1]!.startsWith('<') ? { high: q(bound[2]!), text: raw } : { low: q(bound[2]!), text: raw };
  return { text: raw };
}

/**
 * SN structured numeric (comparator ^ num1 ^ separator ^ num2) → the Observation value:
 * `{valueQuantity}` (with comparator), `{valueRange}` for "-", `{valueRatio}` for ":" or "/".
 */
export function hl7StructuredNumeric(field: unknown, units?: unknown): Json {
  const sn = Array.isArray(field) ? field[0] : field;
  if (!isNode(sn)) return undefined;
  const comparator = component(sn, 1);
  const num1 = component(sn, 2);
  const separator = component(sn, 3);
  const num2 = component(sn, 4);
  const unit = unitOf(units) ?? {};
  const q = (v: string | undefined) => (v === undefined ? undefined : { value: hl7Number(v)!, ...unit });
  if (separator === '-' && num2 !== undefined) return { valueRange: compact({ low: q(num1), high: q(num2) }) };
  if ((separator === ':' || separator === '/') && num2 !== undefined) {
    return { valueRatio: { numerator: { value: hl7Number(num1 ?? '1')! }, denominator: { value: hl7Number(num2)! } } };
  }
  if (num1 === undefined) return undefined;
  const fhirComparator = comparator === '<>' || comparator === '=' ? undefined : comparator;
  return { valueQuantity: compact({ value: hl7Number(num1), comparator: fhirComparator, ...unit }) };
}

// ---------- abnormal flags ----------

/**
 * HL7 table 0078 abnormal flags that exist with the same code and meaning in
 * v3-ObservationInterpretation (the FHIR R4 interpretation code system).
 */
const INTERPRETATION: Record<string, string> = {
  L: 'Low', H: 'High', LL: 'Critical low', HH: 'Critical high', '<': 'Off scale low', '>': 'Off scale high', N: 'Normal',
  A: 'Abnormal', AA: 'Critical abnormal', U: 'Significant change up', D: 'Significant change down', B: 'Better', W: 'Worse',
  S: 'Susceptible', R: 'Resistant', I: 'Intermediate', MS: 'moderately susceptible', VS: 'very susceptible',
  POS: 'Positive', NEG: 'Negative', IND: 'Indeterminate', DET: 'Detected', ND: 'Not detected', E: 'Equivocal',
};

export function hl7Interpretation(flag: unknown): Json {
  const code = scalar(flag);
  if (!code) return undefined;
  const display = INTERPRETATION[code];
  if (!display) {
    recordMappingWarning(`abnormal flag "${code}" is not in HL7 table 0078 as mapped to v3-ObservationInterpretation: kept as text`);
    return { text: code };
  }
  return { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation', code, display }] };
}

// ---------- the library entries ----------

export function hl7v2Functions(context: MappingFunctionContext): MappingFunction[] {
  const fn = (f: (...args: never[]) => unknown) => f as MappingFunction['implementation'];
  return [
    {
      name: 'hl7Text',
      signature: '<x-:x>',
      doc: 'The text of an HL7 v2 component: the string itself, or its first subcomponent (S1) when it has subcomponents. Arrays give the text of each.',
      example: '$hl7Text(PID.F5.C1)',
      implementation: fn((value: unknown) => each(value, componentText)),
    },
    {
      name: 'hl7Name',
      signature: '<x-:x>',
      doc: 'XPN → HumanName: family (XPN-1), given (XPN-2, XPN-3), suffix (XPN-4), prefix (XPN-5, XPN-6), use from XPN-7 (L official, D usual, M maiden, N nickname...).',
      example: '$hl7Name(PID.F5[0])',
      implementation: fn((xpn: unknown) => each(xpn, hl7Name)),
    },
    {
      name: 'hl7Address',
      signature: '<x-o?:x>',
      doc: 'XAD → Address: line (XAD-1, XAD-2), city, district (province), postalCode, country; use from XAD-7 through the map given as second argument or the RLPatientCore default (L residenza → billing, H domicilio → home, C temporary → temp, B/O → work).',
      example: '$hl7Address(PID.F11)',
      implementation: fn((xad: unknown, useMap?: unknown) => each(xad, (a) => hl7Address(a, useMap))),
    },
    {
      name: 'hl7Telecom',
      signature: '<x-s?:x>',
      doc: 'XTN → ContactPoint: e-mail (XTN-3 Internet/X.400 or XTN-2 NET, address in XTN-4), fax (FX), pager (BP) or phone (XTN-12, else XTN-5..7, else XTN-1); use from XTN-2 (WPN work, PRN home) or mobile for XTN-3 CP, else the default given.',
      example: "$hl7Telecom(PID.F13, 'home')",
      implementation: fn((xtn: unknown, defaultUse?: unknown) => each(xtn, (t) => hl7Telecom(t, defaultUse))),
    },
    {
      name: 'hl7Identifier',
      signature: '<x-:x>',
      doc: 'CX → Identifier: value CX-1; system from the assigning authority CX-4 (its universal id OID through config/identifier-systems.json, else urn:oid; "MEF"/"SSN" namespace → codice fiscale).',
      example: '$hl7Identifier(PID.F3)',
      implementation: fn((cx: unknown) => each(cx, (c) => hl7Identifier(c, context.ente))),
    },
    {
      name: 'codiceFiscale',
      signature: '<x-:o>',
      doc: 'Codice fiscale Identifier (system http://hl7.it/sid/codiceFiscale), upper-cased. The check character (16 characters, omocodia letters allowed) or check digit (11-digit temporary code) is verified: an invalid code is kept as sent and recorded as a trail warning, never dropped and never a failure (the source registry is the authority; dropping it would hide the patient from CF searches).',
      example: '$codiceFiscale("RSSMRA80A01H501U") = {"system": "http://hl7.it/sid/codiceFiscale", "value": "RSSMRA80A01H501U"}',
      implementation: fn((value: unknown) => identifierOf('codiceFiscale', value, context.ente, 'codice fiscale', codiceFiscaleProblem)),
    },
    {
      name: 'isCodiceFiscale',
      signature: '<x-:b>',
      doc: 'true when the value is a codice fiscale with a correct check character (16 characters) or check digit (11-digit temporary code).',
      example: '$isCodiceFiscale("RSSMRA80A01H501X") = false',
      implementation: fn((value: unknown) => {
        const text = scalar(value);
        return text ? codiceFiscaleProblem(text) === undefined : false;
      }),
    },
    {
      name: 'stpIdentifier',
      signature: '<x-:o>',
      doc: 'STP (Straniero Temporaneamente Presente) Identifier with the RLPatientCore system; the code is "STP" + 3-digit region + 3-digit ASL + 7-digit number: another shape is kept and recorded as a trail warning.',
      example: '$stpIdentifier("STP0301080000001")',
      implementation: fn((value: unknown) => identifierOf('stp', value, context.ente, 'STP code', (v) => (STP.test(v) ? undefined : 'expected STP followed by 13 digits'))),
    },
    {
      name: 'eniIdentifier',
      signature: '<x-:o>',
      doc: 'ENI (Europeo Non Iscritto) Identifier with the RLPatientCore system; the code is "ENI" + 13 digits: another shape is kept and recorded as a trail warning.',
      example: '$eniIdentifier("ENI0301080000001")',
      implementation: fn((value: unknown) => identifierOf('eni', value, context.ente, 'ENI code', (v) => (ENI.test(v) ? undefined : 'expected ENI followed by 13 digits'))),
    },
    {
      name: 'teamIdentifier',
      signature: '<x-:o>',
      doc: 'Tessera TEAM (European health insurance card) Identifier with the RLPatientCore system; the card number has 20 digits: another shape is kept and recorded as a trail warning.',
      example: '$teamIdentifier("80380000000000000001")',
      implementation: fn((value: unknown) => identifierOf('tesseraTeam', value, context.ente, 'TEAM card number', (v) => (TEAM.test(v) ? undefined : 'expected 20 digits'))),
    },
    {
      name: 'hl7Coding',
      signature: '<x-:x>',
      doc: 'CE/CWE/CNE → Coding: code (C1), display (C2), system from the coding system name C3 (HL7 table 0396: LN, SCT, I9C, I10, UCUM, HL7nnnn → v2-nnnn, an OID; local 99zzz systems give no system).',
      example: '$hl7Coding(OBX.F3)',
      implementation: fn((cwe: unknown) => each(cwe, hl7Coding)),
    },
    {
      name: 'hl7CodeableConcept',
      signature: '<x-:x>',
      doc: 'CE/CWE/CNE → CodeableConcept: the primary (C1-C3) and alternate (C4-C6) codings; text from C9 (original text), or C2 when there is no code.',
      example: '$hl7CodeableConcept(OBR.F4)',
      implementation: fn((cwe: unknown) => each(cwe, hl7CodeableConcept)),
    },
    {
      name: 'hl7Number',
      signature: '<x-:n>',
      doc: 'HL7 NM → number (a decimal comma is accepted); text that is not a number fails the mapping.',
      example: '$hl7Number("5,4") = 5.4',
      implementation: fn((value: unknown) => hl7Number(value)),
    },
    {
      name: 'ucum',
      signature: '<x-:o>',
      doc: 'A unit as written by the source → {unit, system: UCUM, code}; common laboratory spellings (mg/dl, 10^3/ul, UI/L...) are converted to their UCUM code. A unit outside the table keeps its text without a code and is recorded as a trail warning.',
      example: '$ucum("mg/dl") = {"unit": "mg/dl", "system": "http://unitsofmeasure.org", "code": "mg/dL"}',
      implementation: fn((unit: unknown) => ucum(unit)),
    },
    {
      name: 'hl7Quantity',
      signature: '<x-x?:o>',
      doc: 'NM value + units (OBX-6 CE: a UCUM code when C3 is UCUM, else the unit through $ucum) → Quantity.',
      example: '$hl7Quantity(OBX.F5.C1, OBX.F6)',
      implementation: fn((value: unknown, units?: unknown) => hl7Quantity(value, units)),
    },
    {
      name: 'hl7ReferenceRange',
      signature: '<x-x?:o>',
      doc: 'OBX-7 reference range → Observation.referenceRange: "3.5-5.0" gives low and high, "<5" high, ">10" low (with the OBX-6 unit); the original text is kept in text.',
      example: '$hl7ReferenceRange(OBX.F7, OBX.F6)',
      implementation: fn((text: unknown, units?: unknown) => hl7ReferenceRange(text, units)),
    },
    {
      name: 'hl7StructuredNumeric',
      signature: '<x-x?:o>',
      doc: 'SN (comparator ^ num1 ^ separator ^ num2) → {valueQuantity} with comparator ("<", ">=", ...), {valueRange} for "-", {valueRatio} for ":" or "/"; merge it into the Observation.',
      example: '$hl7StructuredNumeric(OBX.F5, OBX.F6)',
      implementation: fn((sn: unknown, units?: unknown) => hl7StructuredNumeric(sn, units)),
    },
    {
      name: 'hl7Interpretation',
      signature: '<x-:o>',
      doc: 'OBX-8 abnormal flag (HL7 table 0078) → CodeableConcept in v3-ObservationInterpretation (same codes in R4); an unknown flag is kept as text and recorded as a trail warning.',
      example: '$hl7Interpretation("H")',
      implementation: fn((flag: unknown) => hl7Interpretation(flag)),
    },
    {
      name: 'unmappedCode',
      signature: '<x-s:x>',
      doc: 'For a mapping\'s own code table ($lookup) that has no entry for a code: records the "unmapped code" trail warning and counts it like a $translate miss; gives no value. The second argument names the table.',
      example: "$lookup($dispositions, $code) ? $lookup($dispositions, $code) : $unmappedCode($code, 'the SDO discharge table')",
      implementation: fn((code: unknown, table: string) => {
        const text = scalar(code);
        if (text) recordUnmappedCode(text, table);
        return undefined;
      }),
    },
    {
      name: 'warn',
      signature: '<s:x>',
      doc: 'Records a warning in the trail of the message being mapped and gives no value (use it for data kept as sent but worth a look).',
      example: "$exists(PV1.F19) ? $encounter : $warn('PV1-19 missing: no Encounter')",
      implementation: fn((message: string) => {
        recordMappingWarning(message);
        return undefined;
      }),
    },
  ];
}

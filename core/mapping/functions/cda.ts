import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseHl7Timestamp, toFhirDateTime } from '../../common/time.ts';
import { REPO_ROOT } from '../../config/load.ts';
import { cdaNarrativeToText, cdaNarrativeToXhtml } from '../../parse/cda/narrative.ts';
import { decodeXmlEntities, tokenizeXml } from '../../parse/xml/index.ts';
import { identifierSystems, resolveSystem } from './identifiers.ts';
import { MappingFunctionError, type MappingFunction, type MappingFunctionContext } from './types.ts';
import { compact, each, isNode, pruneCopyOnWrite, type Node } from './values.ts';

/**
 * CDA R2 data types → FHIR R4 data types, for mappings reading the CDA tree (docs/parsed-trees.md).
 * Every function takes the tree node as parsed (attributes as keys, text under `_` or as a string) and
 * gives no value for a missing node or a nullFlavor. Given an array, a function converts each item
 * and returns the array of results (JSONata sequences), so `$cdaIdentifier(patientRole.id)` is the
 * whole identifier list. Plain synchronous functions of their arguments (the compiled engine calls them).
 */

type Json = unknown;

// ---------- tree helpers ----------


/** The text of a tree node: a string as is, an element with attributes by its `_`. */
export function nodeText(value: unknown): string | undefined {
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (isNode(value) && typeof value._ === 'string' && value._ !== '') return value._;
  return undefined;
}

function attr(node: unknown, name: string): string | undefined {
  if (!isNode(node)) return undefined;
  const value = node[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function first(value: unknown): unknown {
  return Array.isArray(value) ? value[0] : value;
}

function asArray(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

function texts(value: unknown): string[] {
  return asArray(value).map(nodeText).filter((t): t is string => t !== undefined);
}



// ---------- code systems ----------

interface CodeSystemRow {
  uri: string;
  name?: string;
}

let codeSystemTable: Map<string, string> | undefined;

/** config/code-systems.json: CDA codeSystem OID → FHIR URI. */
export function codeSystemUris(): ReadonlyMap<string, string> {
  if (!codeSystemTable) {
    const raw = JSON.parse(readFileSync(path.join(REPO_ROOT, 'config', 'code-systems.json'), 'utf8')) as Record<string, unknown>;
    codeSystemTable = new Map(
      Object.entries(raw)
        .filter(([key]) => !key.startsWith('$'))
        .map(([oid, row]) => [oid, (row as CodeSystemRow).uri]),
    );
  }
  return codeSystemTable;
}

const OID = /^[0-2](\.(0|[1-9]\d*))+$/;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export function codeSystemUri(oid: string): string {
  const known = codeSystemUris().get(oid);
  if (known) return known;
  if (OID.test(oid)) return `urn:oid:${oid}`;
  if (UUID.test(oid)) return `urn:uuid:${oid.toLowerCase()}`;
  return oid;
}

// ---------- identifiers ----------

const identifierRootCache = new Map<string, Map<string, string>>();

/** CDA root (as resolved for this Ente) → the RL identifier system, from config/identifier-systems.json. */
function identifierRoots(ente: string): Map<string, string> {
  let roots = identifierRootCache.get(ente);
  if (!roots) {
    roots = new Map();
    for (const concept of Object.keys(identifierSystems())) {
      const root = resolveSystem(concept, 'cdaRoot', ente);
      const system = resolveSystem(concept, 'rl', ente);
      if (root && system && !roots.has(root)) roots.set(root, system);
    }
    identifierRootCache.set(ente, roots);
  }
  return roots;
}

export function cdaIdentifier(ii: unknown, ente: string): Json {
  if (!isNode(ii)) return undefined;
  const root = attr(ii, 'root');
  const extension = attr(ii, 'extension');
  if (!root) return undefined;
  if (!extension) return { system: 'urn:ietf:rfc:3986', value: OID.test(root) ? `urn:oid:${root}` : UUID.test(root) ? `urn:uuid:${root.toLowerCase()}` : root };
  return { system: identifierRoots(ente).get(root) ?? codeSystemUri(root), value: extension };
}

// ---------- codes ----------

export function cdaCoding(cd: unknown): Json {
  if (!isNode(cd)) return undefined;
  const code = attr(cd, 'code');
  if (!code) return undefined;
  const system = attr(cd, 'codeSystem');
  return compact({
    system: system ? codeSystemUri(system) : undefined,
    version: attr(cd, 'codeSystemVersion'),
    code,
    display: attr(cd, 'displayName')?.trim() || undefined,
  });
}

export function cdaCodeableConcept(cd: unknown): Json {
  if (!isNode(cd)) return undefined;
  const codings = [cdaCoding(cd), ...asArray(cd.translation).map(cdaCoding)].filter((c) => c !== undefined);
  return compact({ coding: codings, text: nodeText(cd.originalText) });
}

// ---------- quantities and times ----------

export function cdaQuantity(pq: unknown): Json {
  if (!isNode(pq)) return undefined;
  const raw = attr(pq, 'value');
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value)) {
    throw new MappingFunctionError(`$cdaQuantity: the value "${raw}" is not a number`, 'cdaQuantity');
  }
  const unit = attr(pq, 'unit');
  return compact({ value, unit });
}

export function cdaRange(ivl: unknown): Json {
  if (!isNode(ivl)) return undefined;
  return compact({ low: cdaQuantity(first(ivl.low)), high: cdaQuantity(first(ivl.high)) });
}

function dateTime(value: string | undefined, timeZone: string, fn: string): string | undefined {
  if (value === undefined) return undefined;
  const parsed = parseHl7Timestamp(value, timeZone);
  if (!parsed) throw new MappingFunctionError(`$${fn}: "${value}" is not a CDA timestamp (YYYY[MM[DD[HH[MM[SS]]]]][+/-ZZZZ])`, fn);
  return toFhirDateTime(parsed);
}

/** TS → dateTime; for an interval (IVL_TS) its value, else its low, else its high. */
export function cdaDateTime(ts: unknown, timeZone: string): Json {
  if (typeof ts === 'string') return dateTime(ts || undefined, timeZone, 'cdaDateTime');
  if (!isNode(ts)) return undefined;
  const value = attr(ts, 'value') ?? attr(first(ts.low), 'value') ?? attr(first(ts.center), 'value') ?? attr(first(ts.high), 'value');
  return dateTime(value, timeZone, 'cdaDateTime');
}

/** IVL_TS → Period (low → start, high → end); a plain TS gives a Period that starts at its value. */
export function cdaPeriod(ivl: unknown, timeZone: string): Json {
  if (!isNode(ivl)) return undefined;
  const start = attr(first(ivl.low), 'value') ?? attr(ivl, 'value') ?? attr(first(ivl.center), 'value');
  return compact({ start: dateTime(start, timeZone, 'cdaPeriod'), end: dateTime(attr(first(ivl.high), 'value'), timeZone, 'cdaPeriod') });
}

// ---------- names, addresses, telecoms ----------

const NAME_USES: Record<string, string> = { L: 'official', P: 'nickname', A: 'nickname', ASGN: 'usual', C: 'official' };

export function cdaName(pn: unknown): Json {
  if (typeof pn === 'string') return pn ? { text: pn } : undefined;
  if (!isNode(pn)) return undefined;
  const family = texts(pn.family).join(' ');
  const given = texts(pn.given);
  const named = compact({
    use: NAME_USES[attr(pn, 'use') ?? ''],
    family: family || undefined,
    given,
    prefix: texts(pn.prefix),
    suffix: texts(pn.suffix),
  });
  if (named && (named.family || named.given)) return named;
  const text = nodeText(pn);
  return text ? compact({ use: NAME_USES[attr(pn, 'use') ?? ''], text }) : undefined;
}

const ADDRESS_USES: Record<string, string> = { H: 'home', HP: 'home', HV: 'home', WP: 'work', DIR: 'work', PUB: 'work', TMP: 'temp', BAD: 'old', OLD: 'old' };

export function cdaAddress(ad: unknown, useMap?: unknown): Json {
  if (!isNode(ad)) return undefined;
  const uses = isNode(useMap) ? (useMap as Record<string, string>) : ADDRESS_USES;
  const use = (attr(ad, 'use') ?? '').split(/\s+/).map((u) => uses[u]).find((u) => typeof u === 'string');
  let lines = texts(ad.streetAddressLine);
  if (lines.length === 0) {
    const street = [nodeText(first(ad.streetName)), nodeText(first(ad.houseNumber))].filter(Boolean).join(' ');
    if (street) lines = [street];
  }
  const address = compact({
    line: lines,
    city: nodeText(first(ad.city)),
    district: nodeText(first(ad.county)),
    state: nodeText(first(ad.state)),
    postalCode: nodeText(first(ad.postalCode)),
    country: nodeText(first(ad.country)),
  });
  return address ? { ...(use ? { use } : {}), ...address } : undefined;
}

const TELECOM_USES: Record<string, string> = { H: 'home', HP: 'home', HV: 'home', WP: 'work', DIR: 'work', PUB: 'work', MC: 'mobile', PG: 'mobile', TMP: 'temp', BAD: 'old' };
const TELECOM_SYSTEMS: Record<string, string> = { tel: 'phone', fax: 'fax', mailto: 'email', http: 'url', https: 'url', sms: 'sms' };

export function cdaTelecom(tel: unknown, useMap?: unknown): Json {
  const value = attr(tel, 'value');
  // The caller's use map replaces the default: an Organization's telecom can never be "home" (FHIR org-3)
  const uses = isNode(useMap) ? (useMap as Record<string, string>) : TELECOM_USES;
  if (!value) return undefined;
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(value)?.[1]?.toLowerCase();
  const system = scheme ? (TELECOM_SYSTEMS[scheme] ?? 'other') : 'phone';
  const bare = scheme && system !== 'url' ? value.slice(scheme.length + 1).replace(/^\/\//, '') : value;
  const use = (attr(tel, 'use') ?? '').split(/\s+/).map((u) => uses[u]).find((u) => typeof u === 'string');
  return compact({ system, value: bare.trim(), use });
}

// ---------- narrative ----------

function narrativeSource(text: unknown): string | undefined {
  const node = first(text);
  if (typeof node === 'string') return node;
  return nodeText(node);
}

function narrativeOrFail<T>(fn: string, convert: () => T): T {
  try {
    return convert();
  } catch (error) {
    throw new MappingFunctionError(`$${fn}: the narrative is not well-formed markup: ${(error as Error).message}`, fn);
  }
}

/** The plain text of the element with ID `reference` ("#x" or "x") inside a narrative block. */
export function narrativeLookup(text: unknown, reference: unknown): Json {
  const raw = narrativeSource(text);
  const target = typeof reference === 'string' ? reference.replace(/^#/, '') : nodeText(reference)?.replace(/^#/, '') ?? attr(reference, 'value')?.replace(/^#/, '');
  if (!raw || !target) return undefined;
  const wrapped = `<n>${raw}</n>`;
  let depth = 0;
  let start = -1;
  let result: string | undefined;
  narrativeOrFail('narrativeLookup', () =>
    tokenizeXml(wrapped, { maxDepth: 256 }, {
      wantAttributes: true,
      onOpen(event, attributes) {
        if (result !== undefined) return;
        if (start >= 0) {
          depth++;
          return;
        }
        for (let a = 0; a < (attributes?.length ?? 0); a += 2) {
          if (attributes![a] === 'ID' && decodeXmlEntities(attributes![a + 1]!) === target) {
            start = event.contentStart;
            depth = 1;
          }
        }
      },
      onClose(_event, closeStart) {
        if (start < 0 || result !== undefined) return;
        if (--depth === 0) result = cdaNarrativeToText(wrapped.slice(start, closeStart)) ?? '';
      },
    }),
  );
  return result || undefined;
}

// ---------- output clean-up ----------

/**
 * Removes what FHIR JSON forbids and JSONata constructors readily produce: empty arrays, empty
 * objects, empty strings, null. Recursive; `false` and 0 stay.
 */
export function prune(value: unknown): unknown {
  return pruneCopyOnWrite(value, (scalar) => (scalar === '' ? undefined : scalar));
}

// ---------- the library entries ----------

export function cdaFunctions(context: MappingFunctionContext): MappingFunction[] {
  const fn = (f: (...args: never[]) => unknown) => f as MappingFunction['implementation'];
  return [
    {
      name: 'prune',
      signature: '<x-:x>',
      doc: 'Removes empty arrays, empty objects, empty strings and nulls, recursively (FHIR JSON allows none of them); apply it to each resource a mapping returns.',
      example: "[$patient, $encounter].{ 'resource': $prune($) }",
      implementation: fn((value: unknown) => prune(value)),
    },
    {
      name: 'text',
      signature: '<x-:x>',
      doc: 'The text of a parsed XML element: the string itself, or `_` of an element that also has attributes (docs/parsed-trees.md). Arrays give the text of each.',
      example: '$text(ClinicalDocument.title)',
      implementation: fn((node: unknown) => each(node, nodeText)),
    },
    {
      name: 'narrative',
      signature: '<x-:s>',
      doc: 'A CDA narrative block (section.text) → FHIR Narrative XHTML `<div xmlns="http://www.w3.org/1999/xhtml">…</div>`; no value when it holds no text.',
      example: "{ 'status': 'generated', 'div': $narrative(section.text) }",
      implementation: fn((text: unknown) => {
        const raw = narrativeSource(text);
        return raw ? narrativeOrFail('narrative', () => cdaNarrativeToXhtml(raw)) : undefined;
      }),
    },
    {
      name: 'narrativeText',
      signature: '<x-:s>',
      doc: 'The plain text of a CDA narrative block (tags removed, one line per paragraph/row/item), e.g. for a note.',
      implementation: fn((text: unknown) => {
        const raw = narrativeSource(text);
        return raw ? narrativeOrFail('narrativeText', () => cdaNarrativeToText(raw)) : undefined;
      }),
    },
    {
      name: 'narrativeLookup',
      signature: '<xx:s>',
      doc: 'The plain text of the element with the given ID ("#REF_1", or a CDA `reference` element) inside a narrative block: resolves entry text references.',
      example: '$narrativeLookup(section.text, entry.observation.text.reference)',
      implementation: fn((text: unknown, reference: unknown) => narrativeLookup(text, first(reference))),
    },
    {
      name: 'cdaIdentifier',
      signature: '<x-:x>',
      doc: 'CDA II → Identifier. The root is mapped to the RL system through config/identifier-systems.json (cdaRoot), else urn:oid:<root>; an II without extension identifies by its root (system urn:ietf:rfc:3986).',
      example: '$cdaIdentifier(recordTarget.patientRole.id)',
      implementation: fn((ii: unknown) => each(ii, (node) => cdaIdentifier(node, context.ente))),
    },
    {
      name: 'cdaSystem',
      signature: '<s-:s>',
      doc: 'A CDA codeSystem OID → FHIR code system URI (config/code-systems.json: LOINC, SNOMED CT, ICD-9-CM, ATC, HL7 v3...); unknown OIDs give urn:oid:<oid>.',
      example: '$cdaSystem("2.16.840.1.113883.6.1") = "http://loinc.org"',
      implementation: fn((oid: unknown) => each(oid, (o) => (typeof o === 'string' && o ? codeSystemUri(o) : undefined))),
    },
    {
      name: 'cdaCoding',
      signature: '<x-:x>',
      doc: 'CDA CD/CE/CV → Coding (system through $cdaSystem, code, display from displayName). No value without a code (nullFlavor).',
      implementation: fn((cd: unknown) => each(cd, cdaCoding)),
    },
    {
      name: 'cdaCodeableConcept',
      signature: '<x-:x>',
      doc: 'CDA CD/CE → CodeableConcept: the code and its translations as codings, originalText as text.',
      example: '$cdaCodeableConcept(observation.code)',
      implementation: fn((cd: unknown) => each(cd, cdaCodeableConcept)),
    },
    {
      name: 'cdaQuantity',
      signature: '<x-:x>',
      doc: 'CDA PQ → Quantity {value (number), unit}. A value that is not a number is an error (never dropped silently).',
      example: '$cdaQuantity(observation.value[type="PQ"])',
      implementation: fn((pq: unknown) => each(pq, cdaQuantity)),
    },
    {
      name: 'cdaRange',
      signature: '<x-:x>',
      doc: 'CDA IVL_PQ → Range {low, high}.',
      implementation: fn((ivl: unknown) => each(ivl, cdaRange)),
    },
    {
      name: 'cdaDateTime',
      signature: '<x-:s>',
      doc: "CDA TS (element or value) → FHIR dateTime in the plugin's time zone; for an IVL_TS its value, else low, else high.",
      example: '$cdaDateTime(observation.effectiveTime)',
      implementation: fn((ts: unknown) => each(ts, (node) => cdaDateTime(node, context.timeZone))),
    },
    {
      name: 'cdaPeriod',
      signature: '<x-:o>',
      doc: 'CDA IVL_TS → Period {start (low), end (high)}; a TS with only a value gives a Period starting then.',
      implementation: fn((ivl: unknown) => each(ivl, (node) => cdaPeriod(node, context.timeZone))),
    },
    {
      name: 'cdaName',
      signature: '<x-:x>',
      doc: 'CDA PN/EN → HumanName {family (parts joined), given[], prefix[], suffix[]}; an unstructured name gives {text}.',
      implementation: fn((pn: unknown) => each(pn, cdaName)),
    },
    {
      name: 'cdaAddress',
      signature: '<x-o?:x>',
      doc: 'CDA AD → Address {use, line (streetAddressLine), city, district (county), state, postalCode, country}. The optional second argument maps CDA use codes to FHIR ones (default H/HP → home, WP → work, TMP → temp).',
      example: "$cdaAddress(patientRole.addr, {'H': 'billing', 'HP': 'home', 'TMP': 'temp'})",
      implementation: fn((ad: unknown, useMap?: unknown) => each(ad, (node) => cdaAddress(node, useMap))),
    },
    {
      name: 'cdaTelecom',
      signature: '<x-o?:x>',
      doc: 'CDA TEL → ContactPoint: system from the URL scheme (tel → phone, mailto → email, fax, http → url), value without the scheme, use (H/HP → home, WP → work, MC → mobile). The optional second argument maps CDA use codes to FHIR ones and replaces the default (codes it does not list give no use): an Organization passes {"WP": "work"}, since its telecom can never be "home" (FHIR org-3).',
      example: "$cdaTelecom(representedCustodianOrganization.telecom, {'WP': 'work'})",
      implementation: fn((tel: unknown, useMap?: unknown) => each(tel, (node) => cdaTelecom(node, useMap))),
    },
  ];
}

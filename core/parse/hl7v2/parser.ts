import { ParseError } from '../../common/errors.ts';
import { decodeHl7Bytes, type CharacterEncodingOption } from './charset.ts';
import type { Hl7Component, Hl7Delimiters, Hl7Field, Hl7Message, Hl7Meta, Hl7Repetition, Hl7Segment } from './types.ts';

export interface Hl7ParseOptions {
  encoding?: CharacterEncodingOption;
  /** MSH-12 versions accepted; others are a parse error. Default 2.1–2.8 (with minor versions). */
  acceptedVersions?: string[];
}

export const DEFAULT_HL7_VERSIONS = ['2.1', '2.2', '2.3', '2.3.1', '2.4', '2.5', '2.5.1', '2.6', '2.7', '2.7.1', '2.8', '2.8.1', '2.8.2'];

const SEGMENT_NAME = /^[A-Z][A-Z0-9]{2}$/;
const MLLP_FRAMING = /^[\x0b\s]+|[\x1c\x0d\x0a\s]+$/g;

/** Strips a BOM, MLLP framing and surrounding whitespace; splits on CR, LF or CRLF. */
export function splitSegments(text: string): string[] {
  let body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  body = body.replace(MLLP_FRAMING, '');
  return body.split(/\r\n|\r|\n/).filter((line) => line.length > 0);
}

export function readDelimiters(mshLine: string): Hl7Delimiters {
  if (!mshLine.startsWith('MSH') || mshLine.length < 8) {
    throw new ParseError('the message does not start with a complete MSH segment', { code: 'PARSE_NO_MSH' });
  }
  const field = mshLine[3]!;
  const encoding = mshLine.slice(4, mshLine.indexOf(field, 4) < 0 ? undefined : mshLine.indexOf(field, 4));
  const [component, repetition, escape, subcomponent] = [encoding[0], encoding[1], encoding[2], encoding[3] ?? '&'];
  const all = [field, component, repetition, escape, subcomponent];
  if (all.some((c) => c === undefined || /[A-Za-z0-9\s]/.test(c)) || new Set(all).size !== all.length) {
    throw new ParseError(`MSH-1/MSH-2 do not define valid delimiters ("${mshLine.slice(3, 8)}"): expected something like "|^~\\&"`, {
      code: 'PARSE_BAD_DELIMITERS',
    });
  }
  return { field, component: component!, repetition: repetition!, escape: escape!, subcomponent };
}

/** Resolves HL7 escape sequences in one leaf value. */
export function unescapeHl7(value: string, d: Hl7Delimiters): string {
  if (value.indexOf(d.escape) < 0) return value;
  let out = '';
  let i = 0;
  while (i < value.length) {
    const ch = value[i]!;
    if (ch !== d.escape) {
      out += ch;
      i++;
      continue;
    }
    const end = value.indexOf(d.escape, i + 1);
    if (end < 0) {
      out += value.slice(i);
      break;
    }
    const seq = value.slice(i + 1, end);
    switch (seq[0]) {
      case 'F': out += seq.length === 1 ? d.field : `${d.escape}${seq}${d.escape}`; break;
      case 'S': out += seq.length === 1 ? d.component : `${d.escape}${seq}${d.escape}`; break;
      case 'T': out += seq.length === 1 ? d.subcomponent : `${d.escape}${seq}${d.escape}`; break;
      case 'R': out += seq.length === 1 ? d.repetition : `${d.escape}${seq}${d.escape}`; break;
      case 'E': out += seq.length === 1 ? d.escape : `${d.escape}${seq}${d.escape}`; break;
      case 'X': out += decodeHexEscape(seq.slice(1)); break;
      case 'H': case 'N': break; // highlighting on/off: no meaning in FHIR text
      case '.': out += seq === '.br' ? '\n' : ''; break; // formatting commands: keep line breaks only
      default: out += `${d.escape}${seq}${d.escape}`;
    }
    i = end + 1;
  }
  return out;
}

function decodeHexEscape(hex: string): string {
  if (!/^([0-9A-Fa-f]{2})+$/.test(hex)) return '';
  return Buffer.from(hex, 'hex').toString('latin1');
}

function parseComponent(raw: string, d: Hl7Delimiters): Hl7Component | undefined {
  if (raw === '' || raw === '""') return undefined;
  if (raw.indexOf(d.subcomponent) < 0) return unescapeHl7(raw, d);
  const parts = raw.split(d.subcomponent);
  const sub: Record<string, string> = {};
  let any = false;
  for (let k = 0; k < parts.length; k++) {
    const v = parts[k]!;
    if (v !== '' && v !== '""') {
      sub[`S${k + 1}`] = unescapeHl7(v, d);
      any = true;
    }
  }
  return any ? (sub as Hl7Component) : undefined;
}

function parseRepetition(raw: string, d: Hl7Delimiters): Hl7Repetition {
  const repetition: Record<string, Hl7Component> = {};
  const components = raw.split(d.component);
  for (let c = 0; c < components.length; c++) {
    const value = parseComponent(components[c]!, d);
    if (value !== undefined) repetition[`C${c + 1}`] = value;
  }
  return repetition as Hl7Repetition;
}

function parseField(raw: string, d: Hl7Delimiters): Hl7Field | undefined {
  if (raw === '' || raw === '""') return undefined;
  const repetitions = raw.split(d.repetition).map((r) => parseRepetition(r, d));
  return repetitions.some((r) => Object.keys(r).length > 0) ? repetitions : undefined;
}

function parseSegment(line: string, index: number, d: Hl7Delimiters): Hl7Segment {
  const name = line.slice(0, 3);
  if (!SEGMENT_NAME.test(name) || (line.length > 3 && line[3] !== d.field)) {
    const shown = line.slice(0, 20).replace(/[^\x20-\x7e]/g, '?');
    throw new ParseError(`segment ${index + 1} does not start with a segment name ("${shown}")`, {
      code: 'PARSE_BAD_SEGMENT',
      details: { segment: index + 1 },
    });
  }
  const segment: Hl7Segment = { _name: name, _i: index };
  const fields = line.split(d.field);
  if (name === 'MSH') {
    // MSH-1 is the field separator itself and MSH-2 the encoding characters: neither is split.
    segment.F1 = [{ C1: d.field }];
    segment.F2 = [{ C1: fields[1] ?? '' }];
    for (let f = 2; f < fields.length; f++) {
      const value = parseField(fields[f]!, d);
      if (value) segment[`F${f + 1}`] = value;
    }
  } else {
    for (let f = 1; f < fields.length; f++) {
      const value = parseField(fields[f]!, d);
      if (value) segment[`F${f}`] = value;
    }
  }
  return segment;
}

const first = (segment: Hl7Segment | undefined, field: number, component = 1): string | null => {
  const value = segment?.[`F${field}`]?.[0]?.[`C${component}`];
  if (value === undefined) return null;
  return typeof value === 'string' ? value : (value.S1 ?? null);
};

function hdToString(segment: Hl7Segment | undefined, field: number): string | null {
  const rep = segment?.[`F${field}`]?.[0];
  if (!rep) return null;
  const parts = [rep.C1, rep.C2, rep.C3].map((c) => (c === undefined ? '' : typeof c === 'string' ? c : (c.S1 ?? '')));
  return parts.join('^').replace(/\^+$/, '') || null;
}

export function parseHl7v2Text(text: string, options: Hl7ParseOptions & { encoding?: CharacterEncodingOption } = {}, encoding = 'utf-8'): Hl7Message {
  if (text.indexOf('\u0000') >= 0) {
    throw new ParseError('the message contains NUL bytes: it is binary data, not HL7 v2 text', { code: 'PARSE_BINARY' });
  }
  const lines = splitSegments(text);
  if (lines.length === 0) throw new ParseError('the message is empty', { code: 'PARSE_EMPTY' });
  if (!lines[0]!.startsWith('MSH')) {
    const shown = lines[0]!.slice(0, 20).replace(/[^\x20-\x7e]/g, '?');
    throw new ParseError(`an HL7 v2 message must start with MSH, this one starts with "${shown}"`, { code: 'PARSE_NO_MSH' });
  }
  const delimiters = readDelimiters(lines[0]!);
  const message = { _segments: [] as Hl7Segment[] } as unknown as Hl7Message;
  for (let i = 0; i < lines.length; i++) {
    const segment = parseSegment(lines[i]!, i, delimiters);
    message._segments.push(segment);
    const list = message[segment._name] as Hl7Segment[] | undefined;
    if (list) list.push(segment);
    else message[segment._name] = [segment];
  }
  const msh = message._segments[0];
  const type = first(msh, 9, 1);
  if (!type) {
    throw new ParseError('MSH-9 (message type) is missing: the MSH segment is truncated or empty', { code: 'PARSE_NO_MESSAGE_TYPE' });
  }
  const version = first(msh, 12, 1);
  const accepted = options.acceptedVersions ?? DEFAULT_HL7_VERSIONS;
  if (version && !accepted.includes(version)) {
    throw new ParseError(`HL7 version ${version} (MSH-12) is not accepted by this plugin (accepted: ${accepted.join(', ')})`, {
      code: 'PARSE_UNSUPPORTED_VERSION',
    });
  }
  const trigger = first(msh, 9, 2);
  const meta: Hl7Meta = {
    version,
    messageType: trigger ? `${type}^${trigger}` : type,
    triggerEvent: trigger,
    messageStructure: first(msh, 9, 3),
    controlId: first(msh, 10, 1),
    messageDateTime: first(msh, 7, 1),
    sendingApplication: hdToString(msh, 3),
    sendingFacility: hdToString(msh, 4),
    receivingApplication: hdToString(msh, 5),
    receivingFacility: hdToString(msh, 6),
    encoding,
    delimiters,
    segmentCount: message._segments.length,
  };
  Object.defineProperty(message, '_meta', { value: meta, enumerable: true, writable: false });
  return message;
}

/** Bytes → tree. Throws ParseError (permanent) with a readable reason for anything that is not HL7 v2. */
export function parseHl7v2(raw: Buffer | string, options: Hl7ParseOptions = {}): Hl7Message {
  if (typeof raw === 'string') return parseHl7v2Text(raw, options);
  const { text, encoding } = decodeHl7Bytes(raw, options.encoding ?? 'auto');
  return parseHl7v2Text(text, options, encoding);
}

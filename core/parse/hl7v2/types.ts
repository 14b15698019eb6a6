/**
 * The JSON tree that HL7 v2 mappings read (documented in docs/parsed-trees.md).
 *
 *   { "MSH": [segment], "PID": [segment], ..., "_segments": [segment, ...], "_meta": {...} }
 *
 * - every segment name maps to an array of its occurrences, in message order;
 * - a segment is { "_name": "PID", "_i": <position in the message>, "F1": field, "F2": field, ... }
 *   with HL7 field numbers (MSH-1 is the field separator, MSH-2 the encoding characters);
 * - a field is an array of repetitions; a repetition is { "C1": component, "C2": ... };
 * - a component is a string, or { "S1": "...", "S2": "..." } when it has subcomponents;
 * - empty fields, components and subcomponents are absent; the HL7 null `""` is absent too;
 * - escape sequences are resolved (\F\ \S\ \T\ \R\ \E\ \Xhh\, \.br\ → newline).
 */
export type Hl7Component = string | { [subcomponent: `S${number}`]: string };
export type Hl7Repetition = { [component: `C${number}`]: Hl7Component };
export type Hl7Field = Hl7Repetition[];

export interface Hl7Segment {
  _name: string;
  _i: number;
  [field: `F${number}`]: Hl7Field;
}

export interface Hl7Delimiters {
  field: string;
  component: string;
  repetition: string;
  escape: string;
  subcomponent: string;
}

export interface Hl7Meta {
  version: string | null;
  messageType: string | null;
  /** e.g. ADT^A01 → "A01" */
  triggerEvent: string | null;
  messageStructure: string | null;
  controlId: string | null;
  /** MSH-7 as sent */
  messageDateTime: string | null;
  sendingApplication: string | null;
  sendingFacility: string | null;
  receivingApplication: string | null;
  receivingFacility: string | null;
  /** character encoding used to decode the bytes */
  encoding: string;
  delimiters: Hl7Delimiters;
  segmentCount: number;
}

export interface Hl7Message {
  _segments: Hl7Segment[];
  _meta: Hl7Meta;
  [segmentName: string]: Hl7Segment[] | Hl7Meta;
}

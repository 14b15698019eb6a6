/**
 * Path helpers shared by the workbench server and its page (bundled into the browser: no Node imports here).
 * A path is the list of keys from the root of a JSON tree: ['PID', 0, 'F3', 1, 'C1'].
 */
export type PathKey = string | number;

const PLAIN_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The JSONata expression that reads the node at this path: PID[0].F3[1].C1, ClinicalDocument.`@id`. */
export function jsonataPath(keys: readonly PathKey[]): string {
  let out = '';
  for (const key of keys) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += `${out ? '.' : ''}${PLAIN_NAME.test(key) ? key : `\`${key.replace(/`/g, '')}\``}`;
  }
  return out || '$';
}

/** HL7 v2 tree keys that are not message content (the parser's bookkeeping). */
export const HL7_BOOKKEEPING = new Set(['_segments', '_meta', '_name', '_i']);

/**
 * The HL7 v2 name of a leaf: ['PID', 0, 'F3', 1, 'C4', 'S2'] → { field: 'PID-3', leaf: 'PID-3.4.2' }.
 * Repetitions (of segments and fields) are folded: OBX[2]-5 and OBX[0]-5 are both OBX-5.
 */
export function hl7Names(keys: readonly PathKey[]): { field: string; leaf: string } | undefined {
  const named = keys.filter((k): k is string => typeof k === 'string');
  const [segment, field, component, subcomponent] = named;
  if (!segment || !field || !/^F\d+$/.test(field)) return undefined;
  const fieldName = `${segment}-${field.slice(1)}`;
  let leaf = fieldName;
  if (component && /^C\d+$/.test(component)) leaf += `.${component.slice(1)}`;
  if (subcomponent && /^S\d+$/.test(subcomponent)) leaf += `.${subcomponent.slice(1)}`;
  return { field: fieldName, leaf };
}

/** The XML name of a leaf: element and attribute names joined by dots, repetitions folded. */
export function xmlName(keys: readonly PathKey[]): string {
  return keys.filter((k): k is string => typeof k === 'string').join('.');
}

/**
 * A validator path (Patient.identifier[0].system, Observation.value[x]) as the keys of the element in
 * the resource, stopping at the deepest element that exists: what the page highlights in the output.
 */
export function fhirPathToKeys(fhirPath: string, resource: unknown): PathKey[] {
  const steps: PathKey[] = [];
  const parts = fhirPath.split('.').slice(1);
  for (const part of parts) {
    const match = /^([A-Za-z0-9_]+(?:\[x\])?)((?:\[\d+\])*)$/.exec(part);
    if (!match) break;
    steps.push(match[1]!);
    for (const index of match[2]!.matchAll(/\[(\d+)\]/g)) steps.push(Number(index[1]));
  }
  const keys: PathKey[] = [];
  let node: unknown = resource;
  for (const step of steps) {
    if (node === null || typeof node !== 'object') break;
    let key: PathKey | undefined = step;
    if (typeof step === 'string' && step.endsWith('[x]')) {
      const prefix = step.slice(0, -3);
      key = Object.keys(node).find((k) => k.startsWith(prefix) && /^[A-Z]/.test(k.slice(prefix.length)));
    }
    if (key === undefined) break;
    if (typeof key === 'number' && !Array.isArray(node)) continue; // a one-item list the mapping wrote as one value
    const next: unknown = (node as Record<string | number, unknown>)[key];
    if (next === undefined) break;
    keys.push(key);
    node = next;
  }
  return keys;
}

/** A JSON pointer (RFC 6901) for keys: the output elements' ids on the page. */
export function jsonPointer(keys: readonly PathKey[]): string {
  return keys.map((k) => `/${String(k).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}

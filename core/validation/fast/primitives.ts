/**
 * JSON-level checks of FHIR primitive values, as strict as @medplum/core 4.5.2's validator (same regular
 * expressions, same JS types, same numeric rules): a value these accept is accepted by the reference engine.
 */

/** JS type of each FHIR primitive in JSON (Medplum's fhirTypeToJsType). */
const JS_TYPE: Record<string, 'string' | 'number' | 'boolean'> = {
  base64Binary: 'string', boolean: 'boolean', canonical: 'string', code: 'string', date: 'string', dateTime: 'string',
  decimal: 'number', id: 'string', instant: 'string', integer: 'number', integer64: 'string', markdown: 'string',
  oid: 'string', positiveInt: 'number', string: 'string', time: 'string', unsignedInt: 'number', uri: 'string',
  url: 'string', uuid: 'string', xhtml: 'string',
};

const FORMAT: Record<string, RegExp> = {
  base64Binary: /^([A-Za-z\d+/]{4})*([A-Za-z\d+/]{2}==|[A-Za-z\d+/]{3}=)?$/,
  canonical: /^\S*$/,
  code: /^[^\s]+( [^\s]+)*$/,
  date: /^(\d(\d(\d[1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2]\d|3[0-1]))?)?$/,
  dateTime:
    /^(\d(\d(\d[1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2]\d|3[0-1])(T([01]\d|2[0-3])(:[0-5]\d:([0-5]\d|60)(\.\d{1,9})?)?)?)?(Z|[+-]((0\d|1[0-3]):[0-5]\d|14:00)?)?)?$/,
  id: /^[A-Za-z0-9\-.]{1,64}$/,
  instant:
    /^(\d(\d(\d[1-9]|[1-9]0)|[1-9]00)|[1-9]000)-(0[1-9]|1[0-2])-(0[1-9]|[1-2]\d|3[0-1])T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d{1,9})?(Z|[+-]((0\d|1[0-3]):[0-5]\d|14:00))$/,
  markdown: /^[\r\n\t\u0020-\uFFFF]+$/,
  oid: /^urn:oid:[0-2](\.(0|[1-9]\d*))+$/,
  string: /^[\r\n\t\u0020-\uFFFF]+$/,
  time: /^([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d{1,9})?$/,
  uri: /^\S*$/,
  url: /^\S*$/,
  uuid: /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
};

const MAX_STRING = 1024 * 1024;
const NON_BLANK = /\S/;

export function isPrimitiveCode(type: string): boolean {
  return type in JS_TYPE || type.startsWith('http://hl7.org/fhirpath/System.');
}

/**
 * A compiled check for one primitive type: true when the JSON value is acceptable.
 * `alsoId` adds the `id` format (Resource.id is typed System.String in R4 but must be a FHIR id).
 */
export type PrimitiveCheck = (value: unknown) => boolean;

const checks = new Map<string, PrimitiveCheck>();

export function primitiveCheck(type: string, alsoId = false): PrimitiveCheck {
  const key = alsoId ? `${type}+id` : type;
  let check = checks.get(key);
  if (check) return check;
  const jsType = JS_TYPE[type] ?? 'string'; // System.String and friends
  const format = FORMAT[type];
  const id = alsoId ? FORMAT.id : undefined;
  if (jsType === 'string') {
    check = (v) => {
      if (typeof v !== 'string' || v.length > MAX_STRING || !NON_BLANK.test(v)) return false;
      if (format && !format.test(v)) return false;
      return !id || id.test(v);
    };
  } else if (jsType === 'boolean') {
    check = (v) => typeof v === 'boolean';
  } else {
    const integer = type === 'integer' || type === 'positiveInt' || type === 'unsignedInt';
    check = (v) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) return false;
      if (integer && !Number.isInteger(v)) return false;
      if (type === 'positiveInt' && v <= 0) return false;
      return !(type === 'unsignedInt' && v < 0);
    };
  }
  checks.set(key, check);
  return check;
}

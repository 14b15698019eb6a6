import { parseHl7Timestamp, toFhirDate, toFhirDateTime, toFhirInstant } from '../../common/time.ts';
import { MappingFunctionError, type MappingFunction, type MappingFunctionContext } from './types.ts';

function parseOrFail(name: string, value: string, timeZone: string) {
  const parsed = parseHl7Timestamp(value, timeZone);
  if (!parsed) throw new MappingFunctionError(`$${name}: "${value}" is not an HL7/CDA timestamp (YYYY[MM[DD[HH[MM[SS[.S]]]]]][+/-ZZZZ])`, name);
  return parsed;
}

export function timeFunctions(context: MappingFunctionContext): MappingFunction[] {
  return [
    {
      name: 'dateTime',
      signature: '<s?s?:s>',
      doc: 'HL7 v2 DTM/TS or CDA TS → FHIR dateTime, keeping the precision; values without an offset are read in the plugin time zone (or the zone given as second argument).',
      example: '$dateTime("20240311095000") = "2024-03-11T09:50:00+01:00"',
      implementation: ((value?: string, timeZone?: string) =>
        value === undefined || value === '' ? undefined : toFhirDateTime(parseOrFail('dateTime', value, timeZone ?? context.timeZone))) as MappingFunction['implementation'],
    },
    {
      name: 'date',
      signature: '<s?:s>',
      doc: 'HL7 v2 DTM/TS or CDA TS → FHIR date (at most day precision; the time part is dropped, not converted).',
      example: '$date("19800101") = "1980-01-01"',
      implementation: ((value?: string) =>
        value === undefined || value === '' ? undefined : toFhirDate(parseOrFail('date', value, context.timeZone))) as MappingFunction['implementation'],
    },
    {
      name: 'instant',
      signature: '<s?:s>',
      doc: 'HL7 v2 DTM/TS or CDA TS with at least minutes → FHIR instant; coarser values give no value.',
      example: '$instant("202403110950") = "2024-03-11T09:50:00+01:00"',
      implementation: ((value?: string) =>
        value === undefined || value === '' ? undefined : toFhirInstant(parseOrFail('instant', value, context.timeZone))) as MappingFunction['implementation'],
    },
  ];
}

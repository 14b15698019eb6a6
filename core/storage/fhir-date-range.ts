import { zonedWallTimeToInstant } from '../common/time.ts';

/**
 * FHIR date, dateTime and instant values as half-open ranges [low, high) of instants, the way FHIR
 * search compares dates: "2024" is the whole year, "2024-03-11" the whole day, a time to the second
 * is that second. Values without an offset (dates, partial dates) are wall-clock values in
 * `timeZone` (the CDR's zone, Europe/Rome), so the index and the query agree on where a day starts.
 * Bounds are ISO strings or PostgreSQL's '-infinity' / 'infinity' (open Period ends).
 */
export interface DateRange {
  low: string;
  high: string;
}

export const DEFAULT_TIME_ZONE = 'Europe/Rome';

const FHIR_DATE_TIME = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

/** The range a FHIR date/dateTime/instant string covers; undefined when it is not one. */
export function fhirDateRange(value: string, timeZone = DEFAULT_TIME_ZONE): DateRange | undefined {
  const match = FHIR_DATE_TIME.exec(value.trim());
  if (!match) return undefined;
  const [, ys, mos, ds, hs, mis, ss, fs, zone] = match;
  const year = Number(ys);
  const month = mos ? Number(mos) : 1;
  const day = ds ? Number(ds) : 1;
  const hour = hs ? Number(hs) : 0;
  const minute = mis ? Number(mis) : 0;
  const second = ss ? Number(ss) : 0;
  const millisecond = fs ? Math.floor(Number(`0.${fs}`) * 1000) : 0;
  if (month < 1 || month > 12 || day < 1 || day > new Date(Date.UTC(year, month, 0)).getUTCDate() || hour > 23 || minute > 59 || second > 59) {
    return undefined;
  }
  const at = (y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number): Date => {
    if (zone === undefined) return zonedWallTimeToInstant(timeZone, y, mo, d, h, mi, s, ms);
    const offset = zone === 'Z' ? 0 : (zone.startsWith('-') ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
    return new Date(Date.UTC(y, mo - 1, d, h, mi, s, ms) - offset * 60_000);
  };
  let low: Date;
  let high: Date;
  if (!mos) {
    low = at(year, 1, 1, 0, 0, 0, 0);
    high = at(year + 1, 1, 1, 0, 0, 0, 0);
  } else if (!ds) {
    low = at(year, month, 1, 0, 0, 0, 0);
    high = month === 12 ? at(year + 1, 1, 1, 0, 0, 0, 0) : at(year, month + 1, 1, 0, 0, 0, 0);
  } else if (!hs) {
    low = at(year, month, day, 0, 0, 0, 0);
    // The next calendar day (Date.UTC normalises day overflow), so DST days are 23 or 25 hours long.
    const next = new Date(Date.UTC(year, month - 1, day + 1));
    high = at(next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate(), 0, 0, 0, 0);
  } else {
    low = at(year, month, day, hour, minute, second, millisecond);
    const unitMs = fs ? 1 : ss ? 1000 : 60_000;
    high = new Date(low.getTime() + unitMs);
  }
  return { low: low.toISOString(), high: high.toISOString() };
}

/** The range of a FHIR Period: [start.low, end.high); a missing bound is open. */
export function fhirPeriodRange(period: { start?: unknown; end?: unknown }, timeZone = DEFAULT_TIME_ZONE): DateRange | undefined {
  const start = typeof period.start === 'string' ? fhirDateRange(period.start, timeZone) : undefined;
  const end = typeof period.end === 'string' ? fhirDateRange(period.end, timeZone) : undefined;
  if (!start && !end) return undefined;
  return { low: start?.low ?? '-infinity', high: end?.high ?? 'infinity' };
}

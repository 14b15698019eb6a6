/**
 * HL7 v2 DTM/TS and CDA TS values to instants and FHIR date/dateTime strings.
 * Values without an offset are wall-clock times in the source's zone (a plugin setting, by default
 * Europe/Rome), never the server's zone.
 */

export type TimePrecision = 'year' | 'month' | 'day' | 'hour' | 'minute' | 'second' | 'millisecond';

export interface ParsedTimestamp {
  /** The instant (for day or coarser precision: midnight in the zone). */
  instant: Date;
  precision: TimePrecision;
  /** Offset in minutes east of UTC that applies (explicit, or derived from the zone). */
  offsetMinutes: number;
  explicitOffset: boolean;
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  millisecond: number;
}

const DTM_PATTERN = /^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.(\d{1,4}))?\s*(?:([+-])(\d{2})(\d{2}))?$/;

const formatterCache = new Map<string, Intl.DateTimeFormat>();

function zoneFormatter(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatterCache.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
    });
    formatterCache.set(timeZone, formatter);
  }
  return formatter;
}

const OFFSET_BUCKET_MS = 15 * 60_000;
const offsetCache = new Map<string, number>();

/**
 * Offset (minutes east of UTC) of a zone at a given instant. Intl formatting is slow, and zone
 * transitions fall on quarter hours, so offsets are cached per zone and 15-minute bucket.
 */
export function zoneOffsetMinutes(timeZone: string, instant: Date): number {
  const key = `${timeZone}|${Math.floor(instant.getTime() / OFFSET_BUCKET_MS)}`;
  const cached = offsetCache.get(key);
  if (cached !== undefined) return cached;
  const offset = computeZoneOffsetMinutes(timeZone, instant);
  if (offsetCache.size > 100_000) offsetCache.clear();
  offsetCache.set(key, offset);
  return offset;
}

function computeZoneOffsetMinutes(timeZone: string, instant: Date): number {
  const parts = zoneFormatter(timeZone).formatToParts(instant);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return Math.round((asUtc - Math.floor(instant.getTime() / 1000) * 1000) / 60000);
}

/** The instant of a wall-clock time in a zone (DST gaps resolve forward, overlaps to the first occurrence). */
export function zonedWallTimeToInstant(timeZone: string, y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number): Date {
  const guess = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  const offset1 = zoneOffsetMinutes(timeZone, new Date(guess));
  let instant = guess - offset1 * 60000;
  const offset2 = zoneOffsetMinutes(timeZone, new Date(instant));
  if (offset2 !== offset1) instant = guess - offset2 * 60000;
  return new Date(instant);
}

export function isValidTimeZone(timeZone: string): boolean {
  try {
    zoneFormatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** Parses an HL7 v2 DTM/TS (also CDA TS, same syntax). Returns undefined for values that are not timestamps. */
export function parseHl7Timestamp(value: string, timeZone: string): ParsedTimestamp | undefined {
  const match = DTM_PATTERN.exec(value.trim());
  if (!match) return undefined;
  const [, ys, mos, ds, hs, mis, ss, fs, sign, oh, om] = match;
  const year = Number(ys);
  const month = mos ? Number(mos) : 1;
  const day = ds ? Number(ds) : 1;
  const hour = hs ? Number(hs) : 0;
  const minute = mis ? Number(mis) : 0;
  const second = ss ? Number(ss) : 0;
  const millisecond = fs ? Math.round(Number(`0.${fs}`) * 1000) : 0;
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59 || second > 59) return undefined;
  const precision: TimePrecision = fs ? 'millisecond' : ss ? 'second' : mis ? 'minute' : hs ? 'hour' : ds ? 'day' : mos ? 'month' : 'year';
  let instant: Date;
  let offsetMinutes: number;
  const explicitOffset = sign !== undefined;
  if (explicitOffset) {
    offsetMinutes = (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om));
    if (Math.abs(offsetMinutes) > 14 * 60) return undefined;
    instant = new Date(Date.UTC(year, month - 1, day, hour, minute, second, millisecond) - offsetMinutes * 60000);
  } else {
    instant = zonedWallTimeToInstant(timeZone, year, month, day, hour, minute, second, millisecond);
    offsetMinutes = zoneOffsetMinutes(timeZone, instant);
  }
  return { instant, precision, offsetMinutes, explicitOffset, year, month, day, hour, minute, second, millisecond };
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

function formatOffset(minutes: number): string {
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/**
 * FHIR dateTime keeping the source precision: YYYY, YYYY-MM, YYYY-MM-DD, or a full time with
 * seconds and offset (FHIR requires both once a time is present).
 */
export function toFhirDateTime(ts: ParsedTimestamp): string {
  const date = `${pad(ts.year, 4)}`;
  if (ts.precision === 'year') return date;
  if (ts.precision === 'month') return `${date}-${pad(ts.month)}`;
  if (ts.precision === 'day') return `${date}-${pad(ts.month)}-${pad(ts.day)}`;
  const fraction = ts.precision === 'millisecond' ? `.${pad(ts.millisecond, 3)}` : '';
  return `${date}-${pad(ts.month)}-${pad(ts.day)}T${pad(ts.hour)}:${pad(ts.minute)}:${pad(ts.second)}${fraction}${formatOffset(ts.offsetMinutes)}`;
}

/** FHIR date: at most day precision. */
export function toFhirDate(ts: ParsedTimestamp): string {
  if (ts.precision === 'year') return pad(ts.year, 4);
  if (ts.precision === 'month') return `${pad(ts.year, 4)}-${pad(ts.month)}`;
  return `${pad(ts.year, 4)}-${pad(ts.month)}-${pad(ts.day)}`;
}

/** FHIR instant: needs at least seconds; coarser values are not instants. */
export function toFhirInstant(ts: ParsedTimestamp): string | undefined {
  if (ts.precision !== 'second' && ts.precision !== 'millisecond' && ts.precision !== 'minute') return undefined;
  return toFhirDateTime({ ...ts, precision: ts.precision === 'minute' ? 'second' : ts.precision });
}

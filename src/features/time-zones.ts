import { BoundedCache } from '../bounded-cache.ts';

/**
 * Time-zone helpers shared by validation, features and guardian limits. Intl formatters are
 * expensive to build, so one per zone name is kept. The names are not a closed set (the IANA
 * list, its aliases, and any upper/lower-case spelling of them, which Intl accepts), so each
 * cache is bounded (MAX_ZONES): a client cannot grow it without bound.
 */

/** more than the IANA zones and aliases (about 600) */
const MAX_ZONES = 2_000;

const VALID_TIME_ZONES: ReadonlySet<string> = new Set(Intl.supportedValuesOf('timeZone'));

export function isTimeZone(tz: string): boolean {
  if (VALID_TIME_ZONES.has(tz)) return true;
  try {
    // aliases such as "UTC" or "Asia/Calcutta" are valid but not always listed
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

interface HourFormat {
  readonly format: Intl.DateTimeFormat;
  /** the last whole second (ms / 1000, floored) asked about in this zone, and its hour */
  second: number;
  hour: number;
}

const hourFormats = new BoundedCache<string, HourFormat>(MAX_ZONES);

/**
 * Hour of day (0-23) of an instant in an IANA time zone.
 *
 * Formatting costs about a microsecond, and concurrent transfers are mostly in the same few
 * zones and the same second, so the last answer of each zone is kept for its second. That is
 * exact: time-zone offsets and their transitions are whole seconds (the tz database has no
 * finer resolution), so the local hour cannot change within a UTC second.
 */
export function hourInZone(ms: number, timeZone: string): number {
  const f = hourFormats.getOr(timeZone, () => ({
    format: new Intl.DateTimeFormat('en-US', { timeZone, hour: 'numeric', hourCycle: 'h23' }),
    second: Number.NaN,
    hour: 0,
  }));
  const second = Math.floor(ms / 1000);
  if (second !== f.second) {
    // a NaN instant never matches, so it still reaches format() and throws as before
    f.hour = Number(f.format.format(ms)) % 24;
    f.second = second;
  }
  return f.hour;
}

const dateFormats = new BoundedCache<string, Intl.DateTimeFormat>(MAX_ZONES);

/** The local calendar date (YYYY-MM-DD) of an instant in an IANA time zone. */
export function localDate(ms: number, timeZone: string): string {
  // en-CA formats dates as YYYY-MM-DD
  const f = dateFormats.getOr(timeZone, () => new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }));
  return f.format(ms);
}

/** How many formatters each cache holds (for tests of the bound). */
export function zoneCacheSizes(): { hour: number; date: number } {
  return { hour: hourFormats.size, date: dateFormats.size };
}

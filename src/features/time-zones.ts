/**
 * Time-zone helpers shared by validation, features and guardian limits. Intl formatters are
 * expensive to build, so one per zone is kept (the set of zones is bounded by the IANA list).
 */

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

const hourFormats = new Map<string, Intl.DateTimeFormat>();

/** Hour of day (0-23) of an instant in an IANA time zone. */
export function hourInZone(ms: number, timeZone: string): number {
  let f = hourFormats.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, hour: 'numeric', hourCycle: 'h23' });
    hourFormats.set(timeZone, f);
  }
  return Number(f.format(ms)) % 24;
}

const dateFormats = new Map<string, Intl.DateTimeFormat>();

/** The local calendar date (YYYY-MM-DD) of an instant in an IANA time zone. */
export function localDate(ms: number, timeZone: string): string {
  let f = dateFormats.get(timeZone);
  if (f === undefined) {
    // en-CA formats dates as YYYY-MM-DD
    f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    dateFormats.set(timeZone, f);
  }
  return f.format(ms);
}

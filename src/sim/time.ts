/**
 * Time for the simulator: whole-second instants as epoch milliseconds, ISO 8601 strings
 * formatted without a Date per event, and the UTC offsets of the payers' time zones per
 * calendar day (so local hours, and the engine's `hour_of_day`, follow daylight saving).
 */

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

const PAD2: readonly string[] = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));

/** `2026-06-01T03:10:00Z`: the instant truncated to the second. */
export function isoSeconds(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

/**
 * Formats instants as `YYYY-MM-DDTHH:MM:SSZ` (truncated to the second) from a per-day prefix
 * cache: the simulator formats every event time, and a Date plus toISOString per event costs
 * more than the rest of an event's generation.
 */
export class IsoClock {
  private readonly prefixes = new Map<number, string>();

  iso(ms: number): string {
    const day = Math.floor(ms / DAY_MS);
    let prefix = this.prefixes.get(day);
    if (prefix === undefined) {
      prefix = new Date(day * DAY_MS).toISOString().slice(0, 11);
      this.prefixes.set(day, prefix);
    }
    const s = Math.floor((ms - day * DAY_MS) / 1000);
    return `${prefix}${PAD2[Math.floor(s / 3600)]}:${PAD2[Math.floor(s / 60) % 60]}:${PAD2[s % 60]}Z`;
  }
}

const offsetFormats = new Map<string, Intl.DateTimeFormat>();

/** Offset of `timeZone` from UTC at the instant `ms`, in minutes (Asia/Shanghai: 480). */
export function zoneOffsetMinutes(timeZone: string, ms: number): number {
  let f = offsetFormats.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' });
    offsetFormats.set(timeZone, f);
  }
  const name = f.formatToParts(ms).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
  const m = /^GMT([+-])(\d{2}):(\d{2})$/.exec(name);
  if (m === null) return 0; // "GMT": UTC itself
  const minutes = Number(m[2]) * 60 + Number(m[3]);
  return m[1] === '-' ? -minutes : minutes;
}

/** Parses `YYYY-MM-DD` (or a full ISO instant) to the epoch ms of that UTC midnight. */
export function parseStartDate(s: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})(T00:00(:00(\.0+)?)?Z)?$/.exec(s);
  if (m === null) return null;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return isoSeconds(ms).startsWith(`${m[1]}-${m[2]}-${m[3]}`) ? ms : null;
}

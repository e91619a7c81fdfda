import { describe, expect, it } from 'vitest';
import { hourInZone, isTimeZone, localDate, zoneCacheSizes } from '../../src/features/time-zones.ts';

/** The hour as a formatter built for this one call gives it (hourInZone keeps one per zone and a per-second memo). */
function reference(ms: number, timeZone: string): number {
  return Number(new Intl.DateTimeFormat('en-US', { timeZone, hour: 'numeric', hourCycle: 'h23' }).format(ms)) % 24;
}

describe('hourInZone', () => {
  it('follows DST changes and half-hour zones second by second, in any call order', () => {
    const zones = ['America/New_York', 'Europe/London', 'Asia/Kolkata', 'Australia/Lord_Howe', 'Asia/Kathmandu', 'UTC'];
    // around New York's and London's 2026 spring and autumn changes, and Lord Howe's half-hour one
    const centres = ['2026-03-08T07:00:00Z', '2026-11-01T06:00:00Z', '2026-03-29T01:00:00Z', '2026-10-25T01:00:00Z', '2026-04-04T15:00:00Z', '2026-10-03T15:30:00Z'].map(Date.parse);
    const instants: number[] = [];
    for (const c of centres) for (let d = -2500; d <= 2500; d += 250) instants.push(c + d, c + d + 999, c - 3_600_000 + d);
    // same seconds repeated, then a shuffled order, so the memo is hit and missed both ways
    const shuffled = [...instants].sort((a, b) => ((a * 7919) % 1009) - ((b * 7919) % 1009));
    for (const ms of [...instants, ...instants, ...shuffled]) {
      for (const tz of zones) expect(hourInZone(ms, tz), `${new Date(ms).toISOString()} ${tz}`).toBe(reference(ms, tz));
    }
  });

  it('is exact for historical offsets that are not whole minutes', () => {
    // Monrovia was UTC-0:44:30 until 1972; Amsterdam +0:19:32 before 1937
    for (const [tz, iso] of [['Africa/Monrovia', '1971-06-01T10:44:00Z'], ['Europe/Amsterdam', '1930-06-01T10:40:00Z']] as const) {
      const base = Date.parse(iso);
      for (let s = 0; s < 120; s++) {
        for (const ms of [base + s * 1000, base + s * 1000 + 500]) expect(hourInZone(ms, tz)).toBe(reference(ms, tz));
      }
    }
  });

  it('still throws for an instant that is not a number', () => {
    expect(() => hourInZone(Number.NaN, 'UTC')).toThrow(RangeError);
    expect(() => hourInZone(Number.NaN, 'UTC')).toThrow(RangeError);
  });

  it('keeps its formatter caches bounded when zone names come in every upper/lower-case spelling', () => {
    const zone = 'America/Argentina/ComodRivadavia';
    const letters = [...zone].map((c, i) => (/[a-z]/i.test(c) ? i : -1)).filter((i) => i >= 0);
    const ms = Date.parse('2026-11-21T03:10:00Z');
    for (let n = 0; n < 2_500; n++) {
      const spelled = [...zone].map((c, i) => (letters.indexOf(i) >= 0 && (n >> letters.indexOf(i)) % 2 === 1 ? c.toUpperCase() : c.toLowerCase())).join('');
      expect(isTimeZone(spelled)).toBe(true);
      expect(hourInZone(ms, spelled)).toBe(reference(ms, zone));
      expect(localDate(ms, spelled)).toBe('2026-11-21');
    }
    const sizes = zoneCacheSizes();
    expect(sizes.hour).toBeLessThanOrEqual(2_000);
    expect(sizes.date).toBeLessThanOrEqual(2_000);
    expect(sizes.hour).toBeGreaterThan(1_000);
  });
});

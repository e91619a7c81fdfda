/**
 * Varied, realistic-enough transfer events for load tests: many accounts with Zipf-skewed
 * popularity (a few hot payers and payees), log-normal amounts, optional fields present on
 * most events. Seeded, so a run is reproducible.
 */
import { mulberry32 } from '../src/sim/random.ts';

/** Re-exported for the benchmarks and tests that import it from here. */
export { mulberry32 };

/** Samples ranks 0..n-1 with P(k) ∝ 1/(k+1)^s, by inverting a precomputed CDF. */
export function zipfSampler(n: number, s: number, rand: () => number): () => number {
  const cdf = new Float64Array(n);
  let total = 0;
  for (let k = 0; k < n; k++) {
    total += 1 / Math.pow(k + 1, s);
    cdf[k] = total;
  }
  return () => {
    const u = rand() * total;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

/**
 * `hot`: Zipf-skewed payers and payees, a stress test of hot keys (a few payers send hundreds
 * of transfers a second, so rapid-repeat and fan-in rules fire on most of them).
 * `retail`: closer to a bank's traffic: payers spread evenly (each sends a few transfers in a
 * run), 60% of transfers to established merchants (Zipf over the first 2% of payees, accounts
 * years old) and 40% to people spread evenly; the same amounts and context signals.
 */
export const MIXES = ['retail', 'hot'] as const;
export type Mix = (typeof MIXES)[number];

/** BENCH_MIX, default retail; anything else is an error. */
export function mixFromEnv(env: NodeJS.ProcessEnv = process.env): Mix {
  const v = env.BENCH_MIX ?? 'retail';
  if (!(MIXES as readonly string[]).includes(v)) throw new Error(`BENCH_MIX must be ${MIXES.join(' or ')}, got ${JSON.stringify(v)}`);
  return v as Mix;
}

export interface GenOptions {
  readonly seed: number;
  readonly payers: number;
  readonly payees: number;
  readonly runId: string;
  /** default `hot` (the tests rely on its repeats) */
  readonly mix?: Mix;
}

const ZONES = ['Asia/Shanghai', 'Asia/Hong_Kong', 'Europe/London', 'America/New_York'];

export function transferGenerator(o: GenOptions): () => Record<string, unknown> {
  const rand = mulberry32(o.seed);
  const merchants = Math.max(1, Math.floor(o.payees * 0.02));
  const merchant = zipfSampler(merchants, 1.0, rand);
  const uniform = (n: number) => () => Math.floor(rand() * n);
  const payer = o.mix === 'retail' ? uniform(o.payers) : zipfSampler(o.payers, 1.1, rand);
  const payee =
    o.mix === 'retail'
      ? (() => {
          const person = uniform(o.payees - merchants);
          return () => (rand() < 0.6 ? merchant() : merchants + person());
        })()
      : zipfSampler(o.payees, 1.2, rand);
  const payeeAgeDays = (q: number) => (o.mix === 'retail' && q < merchants ? 1500 + ((q * 7877) % 2000) : (q * 7877) % 2000);
  let n = 0;
  const year = new Date().getUTCFullYear();
  return () => {
    const p = payer();
    let q = payee();
    const normal = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
    const amount = Math.max(1, Math.round(Math.exp(5 + 1.4 * normal) * 100) / 100);
    const now = Date.now();
    if (`p-${p}` === `q-${q}`) q += 1;
    const event: Record<string, unknown> = {
      transferId: `${o.runId}-${n++}`,
      occurredAt: new Date(now).toISOString(),
      amount,
      currency: 'CNY',
      channel: rand() < 0.8 ? 'app' : 'web',
      payer: {
        accountId: `p-${p}`,
        birthYear: year - 12 - ((p * 7919) % 80),
        accountCreatedAt: new Date(now - ((p * 104729) % 3000) * 86_400_000 - 86_400_000).toISOString(),
        deviceId: `d-${p}-${rand() < 0.95 ? 0 : 1}`,
        timeZone: ZONES[p % ZONES.length],
      },
      payee: {
        accountId: `q-${q}`,
        accountCreatedAt: new Date(now - payeeAgeDays(q) * 86_400_000 - 3_600_000).toISOString(),
      },
      context: {
        newDevice: rand() < 0.03,
        onCall: rand() < 0.05,
        remoteAccess: rand() < 0.01,
        payeePasted: rand() < 0.1,
      },
    };
    return event;
  };
}

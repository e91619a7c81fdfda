/**
 * Seeded, realistic-enough feature vectors for the rule benchmark (`npm run bench:rules`):
 * most transfers are ordinary (log-normal amounts, small velocity counts, booleans mostly
 * false, missing values where the catalogue allows them), and about one in eight follows a
 * scam or mule pattern so that every rule of the default set fires on some vectors.
 *
 * The values are drawn into a typed draft and derived fields are computed from it at the end,
 * so a vector is consistent the way build-vector.ts makes it: the age band follows the age,
 * windows grow with their length (1h ≤ 24h ≤ 7d ≤ 30d), the 30d average is the 30d sum over
 * the 30d count (missing without history), a new payee has no pair history, and so on.
 * Features that are missing for a reason follow it, not a fixed rate: the hours since the
 * payee's last scam report are missing for every payee without reports (most of them), the
 * days since the pair's first transfer for every new payee.
 * Every vector is checked against the catalogue (type, nullability, finite numbers) before it
 * is returned: a catalogue change that the generator does not know about throws here.
 */
import { DEFAULT_REPORT_HALF_LIFE_HOURS, reportWeight } from '../src/features/report-age.ts';
import { FEATURES, WINDOWS, recordToVector, type FeatureSpec, type FeatureValue } from '../src/features/catalogue.ts';
import { mulberry32 } from './transfer-gen.ts';

const SCENARIOS = [
  'ordinary',
  'impersonation', // a caller posing as police or a bank: on a call, new payee, pasted account
  'fake_refund', // fake customer service: screen sharing during the payment
  'investment', // growing payments to a payee first paid a few weeks ago
  'mule_payee', // young payee account with fan-in from new payers, money passed on
  'part_time_job', // bursts of small payments to many new payees
  'account_takeover', // new or shared device, an amount far above the payer's habit
  'minor_purchase', // a minor paying a new payee
  'structuring', // an amount just under a limit
] as const;
type Scenario = (typeof SCENARIOS)[number];

/** Share of each scenario; the rest is ordinary. */
const SCENARIO_WEIGHTS: Readonly<Record<Exclude<Scenario, 'ordinary'>, number>> = {
  impersonation: 0.025,
  fake_refund: 0.012,
  investment: 0.02,
  mule_payee: 0.02,
  part_time_job: 0.015,
  account_takeover: 0.015,
  minor_purchase: 0.012,
  structuring: 0.01,
};

/** Velocity windows in WINDOWS order: 1h, 24h, 7d, 30d. */
interface Windows {
  readonly counts: number[];
  readonly sums: number[];
}

/** Everything a vector is derived from; the fields that are never derived are plain draws. */
interface Draft {
  amount: number;
  currency: string;
  channel: string | null;
  hourOfDay: number | null;
  payerAge: number | null;
  payerAccountAgeDays: number | null;
  payeeAccountAgeDays: number | null;
  newDevice: boolean | null;
  onCall: boolean | null;
  remoteAccess: boolean | null;
  payeePasted: boolean | null;
  payerOut: Windows;
  payerSecondsSinceLast: number | null;
  payerDistinctPayees24h: number;
  firstSeen: boolean;
  paidBeforeCount: number;
  daysSinceFirstPaid: number | null;
  payeeIn: Windows;
  payeeOutSum1h: number;
  payeeOutSum24h: number;
  payeeDistinctPayers24h: number;
  payeeNewPayers24h: number;
  deviceNewForPayer: boolean | null;
  deviceDistinctPayers24h: number | null;
  reportCount: number;
  distinctReporters: number;
  hoursSinceLastReport: number | null;
}

class Sampler {
  constructor(readonly rand: () => number) {}

  chance(p: number): boolean {
    return this.rand() < p;
  }

  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.rand();
  }

  int(lo: number, hi: number): number {
    return Math.floor(this.uniform(lo, hi + 1));
  }

  normal(): number {
    return Math.sqrt(-2 * Math.log(1 - this.rand())) * Math.cos(2 * Math.PI * this.rand());
  }

  logNormal(median: number, sigma: number): number {
    return median * Math.exp(sigma * this.normal());
  }

  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rand() * xs.length)]!;
  }

  /** null with probability p, else the value */
  orMissing<T>(p: number, value: () => T): T | null {
    return this.chance(p) ? null : value();
  }

  poisson(lambda: number): number {
    if (lambda <= 0) return 0;
    if (lambda > 30) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * this.normal()));
    const l = Math.exp(-lambda);
    let k = 0;
    let p = 1;
    do {
      k++;
      p *= this.rand();
    } while (p > l);
    return k - 1;
  }

  binomial(n: number, p: number): number {
    if (n > 50) return Math.min(n, Math.max(0, Math.round(n * p + Math.sqrt(n * p * (1 - p)) * this.normal())));
    let k = 0;
    for (let i = 0; i < n; i++) if (this.rand() < p) k++;
    return k;
  }

  pickScenario(): Scenario {
    let u = this.rand();
    for (const [s, w] of Object.entries(SCENARIO_WEIGHTS) as [Scenario, number][]) {
      if (u < w) return s;
      u -= w;
    }
    return 'ordinary';
  }
}

const cents = (x: number): number => Math.round(x * 100) / 100;

/**
 * Counts and sums over the four windows for an account that moves `perDay` transfers a day of
 * about `typicalAmount` each, plus `burst` transfers in the last hour. Nested windows are drawn
 * from each other, so a shorter window never exceeds a longer one.
 */
function windowHistory(s: Sampler, perDay: number, typicalAmount: number, burst = 0): Windows {
  const c30 = s.poisson(perDay * 30);
  const c7 = s.binomial(c30, 7 / 30);
  const c24 = s.binomial(c7, 1 / 7);
  const c1 = s.binomial(c24, 1 / 24);
  const counts = [c1 + burst, c24 + burst, c7 + burst, c30 + burst];
  // the sum of each window adds the transfers it has beyond the next shorter one
  const sums: number[] = [];
  let sum = 0;
  let counted = 0;
  for (const c of counts) {
    for (; counted < c; counted++) sum += typicalAmount * Math.exp(0.5 * s.normal());
    sums.push(cents(sum));
  }
  return { counts, sums };
}

function ordinary(s: Sampler): Draft {
  const payerPerDay = s.chance(0.15) ? 0 : s.logNormal(1.2, 0.9); // no recent history: 15%
  const payerTypical = s.logNormal(200, 1.1);
  // near the payer's habit, with a heavy tail of large transfers (rent, a car, a deposit)
  const amount = s.chance(0.04) ? s.logNormal(9_000, 1.1) : payerTypical * s.logNormal(1, 0.7);
  const payerOut = windowHistory(s, payerPerDay, payerTypical, s.chance(0.03) ? s.int(2, 10) : 0);
  const firstSeen = s.chance(0.3);
  const merchant = s.chance(0.12);
  const payeeIn = merchant
    ? windowHistory(s, s.logNormal(60, 1), s.logNormal(120, 1))
    : windowHistory(s, s.logNormal(1.5, 1.2), s.logNormal(400, 1.2));
  const in24 = payeeIn.counts[1]!;
  const payeeDistinctPayers24h = merchant ? s.binomial(in24, 0.9) : s.binomial(in24, 0.6);
  const payeeOutSum24h = s.chance(0.5) ? 0 : cents(payeeIn.sums[1]! * s.uniform(0, merchant ? 0.3 : 0.9));
  const reported = s.chance(0.04);
  const reportCount = reported ? 1 + s.poisson(s.chance(0.3) ? 4 : 0.5) : 0;
  const deviceKnown = !s.chance(0.1);
  const deviceNew = deviceKnown ? s.chance(0.05) : null;
  const payerAge = s.orMissing(0.12, () => {
    const u = s.rand();
    return u < 0.05 ? s.int(8, 17) : u < 0.77 ? s.int(18, 59) : s.int(60, 95);
  });
  return {
    amount: cents(Math.max(0.01, amount)),
    currency: s.chance(0.97) ? 'CNY' : s.pick(['USD', 'HKD']),
    channel: s.orMissing(0.1, () => (s.chance(0.78) ? 'app' : s.chance(0.8) ? 'web' : 'mini_program')),
    hourOfDay: s.orMissing(0.12, () => (s.chance(0.1) ? s.int(0, 5) : s.int(6, 23))),
    payerAge,
    payerAccountAgeDays: s.orMissing(0.1, () => Math.floor(s.chance(0.03) ? s.uniform(0, 10) : s.logNormal(700, 1.2))),
    payeeAccountAgeDays: s.orMissing(0.15, () => Math.floor(s.chance(0.05) ? s.uniform(0, 60) : s.logNormal(500, 1.4))),
    newDevice: s.orMissing(0.2, () => s.chance(0.04)),
    onCall: s.orMissing(0.2, () => s.chance(0.06)),
    remoteAccess: s.orMissing(0.2, () => s.chance(0.005)),
    payeePasted: s.orMissing(0.2, () => s.chance(0.05)),
    payerOut,
    payerSecondsSinceLast: null, // derived
    payerDistinctPayees24h: Math.min(payerOut.counts[1]!, s.binomial(payerOut.counts[1]!, 0.5) + (s.chance(0.02) ? s.int(2, 6) : 0)),
    firstSeen,
    paidBeforeCount: firstSeen ? 0 : 1 + s.poisson(s.logNormal(3, 1)),
    daysSinceFirstPaid: firstSeen ? null : Math.floor(s.logNormal(150, 1.2)),
    payeeIn,
    payeeOutSum1h: cents(payeeOutSum24h * s.uniform(0, 0.2)),
    payeeOutSum24h,
    payeeDistinctPayers24h,
    payeeNewPayers24h: s.binomial(payeeDistinctPayers24h, merchant ? 0.3 : 0.2),
    deviceNewForPayer: deviceNew,
    deviceDistinctPayers24h: deviceKnown ? (deviceNew ? s.int(0, 1) : 1) + (s.chance(0.03) ? s.int(1, 3) : 0) : null,
    reportCount,
    distinctReporters: reportCount === 0 ? 0 : s.int(1, reportCount),
    hoursSinceLastReport: reportCount === 0 ? null : cents(s.logNormal(200, 1.5)),
  };
}

/** Overrides on top of an ordinary draft for the risky scenarios. */
function applyScenario(s: Sampler, d: Draft, scenario: Scenario): void {
  switch (scenario) {
    case 'ordinary':
      return;
    case 'impersonation':
      d.onCall = true;
      d.firstSeen = true;
      d.payeePasted = s.chance(0.6);
      d.newDevice = s.chance(0.3);
      d.amount = cents(s.logNormal(8_000, 0.9));
      if (s.chance(0.5)) d.payerAge = s.int(60, 92);
      if (s.chance(0.4)) d.payeeAccountAgeDays = s.int(0, 29); // an account opened for the scam
      return;
    case 'fake_refund':
      d.remoteAccess = true;
      d.onCall = s.chance(0.8);
      d.firstSeen = s.chance(0.8);
      d.amount = cents(s.logNormal(3_000, 0.8));
      if (s.chance(0.4)) d.payeeAccountAgeDays = s.int(0, 29);
      return;
    case 'investment': {
      const typical = s.logNormal(2_000, 0.5);
      d.payerOut = windowHistory(s, s.logNormal(1, 0.5), typical);
      d.firstSeen = false;
      d.paidBeforeCount = s.int(2, 10);
      d.daysSinceFirstPaid = s.int(1, 40);
      d.amount = cents(typical * s.uniform(2, 15));
      return;
    }
    case 'mule_payee': {
      const young = s.chance(0.7);
      d.payeeAccountAgeDays = young ? s.int(0, 89) : Math.floor(s.logNormal(400, 1));
      d.payeeIn = windowHistory(s, s.logNormal(3, 0.5), s.logNormal(2_000, 0.7), s.int(5, 60));
      d.payeeDistinctPayers24h = s.binomial(d.payeeIn.counts[1]!, 0.85);
      d.payeeNewPayers24h = s.binomial(d.payeeDistinctPayers24h, s.uniform(0.5, 1));
      d.payeeOutSum24h = cents(d.payeeIn.sums[1]! * s.uniform(0.6, 1.1));
      d.payeeOutSum1h = cents(d.payeeOutSum24h * s.uniform(0.1, 0.6));
      if (s.chance(0.3)) {
        d.reportCount = s.int(1, 8);
        d.distinctReporters = s.int(1, d.reportCount);
        d.hoursSinceLastReport = cents(s.uniform(0.5, 72));
      }
      return;
    }
    case 'part_time_job': {
      d.payerOut = windowHistory(s, s.logNormal(2, 0.5), s.logNormal(300, 0.6), s.int(3, 12));
      d.payerDistinctPayees24h = Math.min(d.payerOut.counts[1]!, s.int(3, 15));
      d.firstSeen = s.chance(0.8);
      d.amount = cents(s.logNormal(600, 0.9));
      return;
    }
    case 'account_takeover':
      d.newDevice = s.chance(0.6);
      d.deviceNewForPayer = true;
      d.deviceDistinctPayers24h = s.int(1, 8);
      d.onCall = s.chance(0.3);
      d.hourOfDay = s.chance(0.5) ? s.int(0, 5) : d.hourOfDay;
      d.payerAccountAgeDays = s.chance(0.3) ? s.int(0, 6) : d.payerAccountAgeDays;
      d.amount = cents(s.logNormal(12_000, 0.8));
      return;
    case 'minor_purchase':
      d.payerAge = s.int(8, 17);
      d.firstSeen = true;
      d.amount = cents(s.logNormal(700, 0.8));
      return;
    case 'structuring':
      d.amount = s.chance(0.6) ? cents(s.uniform(4_900, 4_999.99)) : cents(s.uniform(49_000, 49_999.99));
      return;
  }
}

/** Values derived from others, so that the vector is consistent whatever the scenario changed. */
function derive(s: Sampler, d: Draft): Record<string, FeatureValue> {
  const [c1, c24, , c30] = d.payerOut.counts as [number, number, number, number];
  const sum30 = d.payerOut.sums[3]!;
  const avg30 = c30 > 0 ? cents(sum30 / c30) : null;
  const secondsSinceLast =
    c30 === 0 ? null : c1 >= 3 ? s.int(5, 600) : c1 > 0 ? s.int(30, 3_599) : c24 > 0 ? s.int(3_600, 86_399) : s.int(86_400, 2_592_000);
  const paired = !d.firstSeen;
  const in24 = d.payeeIn.sums[1]!;
  const record: Record<string, FeatureValue> = {
    amount: d.amount,
    currency: d.currency,
    channel: d.channel,
    hour_of_day: d.hourOfDay,
    'payer.age': d.payerAge,
    'payer.age_band': d.payerAge === null ? null : d.payerAge < 18 ? 'minor' : d.payerAge >= 60 ? 'elderly' : 'adult',
    'payer.account_age_days': d.payerAccountAgeDays,
    'payee.account_age_days': d.payeeAccountAgeDays,
    'context.new_device': d.newDevice,
    'context.on_call': d.onCall,
    'context.remote_access': d.remoteAccess,
    'context.payee_pasted': d.payeePasted,
    'payer.avg_amount_30d': avg30,
    'payer.amount_to_avg_30d': avg30 === null ? null : cents(d.amount / avg30),
    'payer.seconds_since_last': secondsSinceLast,
    'payer.distinct_payees_24h': Math.min(d.payerDistinctPayees24h, c24),
    'payee.first_seen': d.firstSeen,
    // a scenario may turn a new payee into a known one: give the pair a history then
    'payee.paid_before_count': paired ? (d.paidBeforeCount > 0 ? d.paidBeforeCount : 1 + s.poisson(3)) : 0,
    'payee.days_since_first_paid': paired ? (d.daysSinceFirstPaid ?? Math.floor(s.logNormal(150, 1.2))) : null,
    'payee.out_sum_1h': Math.min(d.payeeOutSum1h, d.payeeOutSum24h),
    'payee.out_sum_24h': d.payeeOutSum24h,
    'payee.pass_through_24h': in24 > 0 ? Math.min(1, cents(d.payeeOutSum24h / in24)) : null,
    'payee.distinct_payers_24h': Math.min(d.payeeDistinctPayers24h, d.payeeIn.counts[1]!),
    'payee.new_payers_24h': Math.min(d.payeeNewPayers24h, d.payeeDistinctPayers24h, d.payeeIn.counts[1]!),
    'device.new_for_payer': d.deviceNewForPayer,
    'device.distinct_payers_24h': d.deviceDistinctPayers24h,
    'payee.report_count': d.reportCount,
    'payee.distinct_reporters': Math.min(d.distinctReporters, d.reportCount),
    'payee.hours_since_last_report': d.reportCount === 0 ? null : d.hoursSinceLastReport,
  };
  // the aged reports, drawn nothing more: every report as old as the latest one
  const h = d.hoursSinceLastReport ?? 0;
  const within = (hours: number): number => (d.reportCount > 0 && h < hours ? d.reportCount : 0);
  const aged = { last1d: within(24), last7d: within(7 * 24), last28d: within(28 * 24), decayed: Math.floor(d.reportCount * 2 ** (-h / DEFAULT_REPORT_HALF_LIFE_HOURS) * 1000 + 0.5) / 1000 };
  record['payee.reports_1d'] = aged.last1d;
  record['payee.reports_7d'] = aged.last7d;
  record['payee.reports_28d'] = aged.last28d;
  record['payee.reports_decayed'] = aged.decayed;
  record['payee.report_weight'] = reportWeight(aged, d.payeeIn.counts[3]!);
  WINDOWS.forEach((w, i) => {
    record[`payer.out_count_${w.suffix}`] = d.payerOut.counts[i]!;
    record[`payer.out_sum_${w.suffix}`] = d.payerOut.sums[i]!;
    record[`payee.in_count_${w.suffix}`] = d.payeeIn.counts[i]!;
    record[`payee.in_sum_${w.suffix}`] = d.payeeIn.sums[i]!;
  });
  return record;
}

/** What is wrong with a value for a feature, or null when it fits the catalogue. */
function valueProblem(f: FeatureSpec, x: FeatureValue | undefined): string | null {
  if (x === undefined) return 'no value';
  if (x === null) return f.nullable ? null : 'missing, but the feature cannot be missing';
  if (typeof x !== f.type) return `${typeof x}, expected ${f.type}`;
  if (typeof x === 'number' && !Number.isFinite(x)) return `${x} is not a finite number`;
  if (typeof x === 'string' && f.values !== undefined && !f.values.includes(x)) return `"${x}" is not one of ${f.values.join(', ')}`;
  return null;
}

/** Every way a vector breaks the catalogue contract (empty when it does not). */
export function vectorProblems(v: readonly FeatureValue[]): string[] {
  const problems: string[] = [];
  if (v.length !== FEATURES.length) problems.push(`${v.length} values for ${FEATURES.length} features`);
  FEATURES.forEach((f, i) => {
    const p = valueProblem(f, v[i]);
    if (p !== null) problems.push(`${f.name}: ${p}`);
  });
  return problems;
}

const CATALOGUE_NAMES = new Set(FEATURES.map((f) => f.name));

/** A seeded source of feature vectors in catalogue order. */
export function featureVectorGenerator(seed: number): () => FeatureValue[] {
  const s = new Sampler(mulberry32(seed));
  return () => {
    const draft = ordinary(s);
    applyScenario(s, draft, s.pickScenario());
    const record = derive(s, draft);
    const unknown = Object.keys(record).filter((k) => !CATALOGUE_NAMES.has(k));
    const absent = [...CATALOGUE_NAMES].filter((k) => !(k in record));
    if (unknown.length > 0 || absent.length > 0) {
      throw new Error(`feature-vectors: out of step with the catalogue (unknown: ${unknown.join(', ')}; not generated: ${absent.join(', ')})`);
    }
    const v = recordToVector(record);
    const problems = vectorProblems(v);
    if (problems.length > 0) throw new Error(`feature-vectors: generated an invalid vector: ${problems.join('; ')}`);
    return v;
  };
}

export function generateFeatureVectors(count: number, seed: number): FeatureValue[][] {
  const next = featureVectorGenerator(seed);
  return Array.from({ length: count }, next);
}

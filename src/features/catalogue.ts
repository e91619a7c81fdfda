/**
 * The feature catalogue: the single source of truth for every feature a rule or the model can
 * read. The rule checker resolves identifiers here, the model takes its input order from here,
 * and docs/features.md is generated from here (`npm run rules -- features`).
 *
 * Contract: a feature vector is an array ordered exactly as FEATURES; a value is `null` when
 * the feature is missing (an optional event field was absent, or there is no history to
 * derive it from). Missing is never replaced by a guess.
 *
 * Velocity windows describe the history BEFORE the transfer being scored (point in time): a
 * payer's first transfer sees `payer.out_count_24h == 0`.
 */

export type FeatureType = 'number' | 'boolean' | 'string';

export type FeatureValue = number | boolean | string | null;

export type FeatureSource = 'event' | 'velocity' | 'reports';

export interface FeatureSpec {
  readonly name: string;
  readonly type: FeatureType;
  /** true when the value can be missing (null) */
  readonly nullable: boolean;
  readonly unit: string;
  readonly source: FeatureSource;
  readonly description: string;
  /** for string features with a closed set of values */
  readonly values?: readonly string[];
  /**
   * false: a feature for rules and analysts that is not (yet) a model input, so adding it does not
   * change the model's encoding (the shipped model keeps loading); absent: a model input
   */
  readonly modelInput?: false;
}

export const AGE_BANDS = ['minor', 'adult', 'elderly'] as const;
export type AgeBand = (typeof AGE_BANDS)[number];

/** Velocity windows: name suffix, length in seconds, bucket width in seconds (see velocity-windows.md). */
export const WINDOWS = [
  { suffix: '1h', seconds: 3_600, bucketSeconds: 60 },
  { suffix: '24h', seconds: 86_400, bucketSeconds: 900 },
  { suffix: '7d', seconds: 604_800, bucketSeconds: 3_600 },
  { suffix: '30d', seconds: 2_592_000, bucketSeconds: 21_600 },
] as const;

type Spec = Omit<FeatureSpec, 'nullable'> & { nullable?: boolean };

function windowFeatures(
  side: 'payer' | 'payee',
  dir: 'out' | 'in',
  what: string,
): Spec[] {
  const out: Spec[] = [];
  for (const w of WINDOWS) {
    out.push({
      name: `${side}.${dir}_count_${w.suffix}`,
      type: 'number',
      unit: 'transfers',
      source: 'velocity',
      description: `Number of transfers ${what} in the last ${w.suffix}, before this one`,
    });
    out.push({
      name: `${side}.${dir}_sum_${w.suffix}`,
      type: 'number',
      unit: 'amount',
      source: 'velocity',
      description: `Sum of amounts ${what} in the last ${w.suffix}, before this one`,
    });
  }
  return out;
}

const SPECS: Spec[] = [
  // --- the event itself
  { name: 'amount', type: 'number', unit: 'amount', source: 'event', description: 'Amount of this transfer in major units' },
  { name: 'currency', type: 'string', unit: 'ISO 4217', source: 'event', description: 'Currency code of this transfer' },
  { name: 'channel', type: 'string', nullable: true, unit: '', source: 'event', description: 'Channel the transfer was started from (app, web, ...)' },
  { name: 'hour_of_day', type: 'number', nullable: true, unit: 'hour 0-23', source: 'event', description: "Hour of day of the transfer in the payer's time zone (missing without payer.timeZone)" },
  { name: 'payer.age', type: 'number', nullable: true, unit: 'years', source: 'event', description: 'Age of the payer in years: the year of the transfer minus payer.birthYear' },
  { name: 'payer.age_band', type: 'string', nullable: true, unit: '', source: 'event', values: AGE_BANDS, description: 'Age band of the payer: minor (< 18), adult, elderly (>= 60); the bounds are MINOR_AGE_BELOW and ELDERLY_AGE_FROM' },
  { name: 'payer.account_age_days', type: 'number', nullable: true, unit: 'days', source: 'event', description: "Days since the payer's account was created" },
  { name: 'payee.account_age_days', type: 'number', nullable: true, unit: 'days', source: 'event', description: "Days since the payee's account was created" },
  { name: 'context.new_device', type: 'boolean', nullable: true, unit: '', source: 'event', description: 'The payment backend says the payer is on a new device' },
  { name: 'context.on_call', type: 'boolean', nullable: true, unit: '', source: 'event', description: 'The payer is on a phone call while paying' },
  { name: 'context.remote_access', type: 'boolean', nullable: true, unit: '', source: 'event', description: 'A remote-access / screen-sharing app is active during the payment' },
  { name: 'context.payee_pasted', type: 'boolean', nullable: true, unit: '', source: 'event', description: 'The payee account was pasted rather than picked from contacts' },
  // --- payer history
  ...windowFeatures('payer', 'out', 'sent by the payer'),
  { name: 'payer.avg_amount_30d', type: 'number', nullable: true, unit: 'amount', source: 'velocity', description: 'Average amount the payer sent over the last 30d (missing without history)' },
  { name: 'payer.amount_to_avg_30d', type: 'number', nullable: true, unit: 'ratio', source: 'velocity', description: "This amount divided by the payer's 30d average (missing without history)" },
  { name: 'payer.seconds_since_last', type: 'number', nullable: true, unit: 'seconds', source: 'velocity', description: "Seconds since the payer's previous transfer (missing for a first transfer)" },
  { name: 'payer.distinct_payees_24h', type: 'number', unit: 'accounts', source: 'velocity', description: 'Distinct payees the payer paid in the last 24h, before this transfer' },
  // --- the payer-payee pair
  { name: 'payee.first_seen', type: 'boolean', unit: '', source: 'velocity', description: 'This payer has never paid this payee before (a new payee)' },
  { name: 'payee.paid_before_count', type: 'number', unit: 'transfers', source: 'velocity', description: 'How many times this payer paid this payee before (over the pair retention)' },
  { name: 'payee.days_since_first_paid', type: 'number', nullable: true, unit: 'days', source: 'velocity', description: 'Days since this payer first paid this payee (missing for a new payee)' },
  // --- payee history
  ...windowFeatures('payee', 'in', 'received by the payee'),
  { name: 'payee.out_sum_1h', type: 'number', unit: 'amount', source: 'velocity', description: 'Sum of amounts the payee itself sent in the last 1h' },
  { name: 'payee.out_sum_24h', type: 'number', unit: 'amount', source: 'velocity', description: 'Sum of amounts the payee itself sent in the last 24h' },
  { name: 'payee.pass_through_24h', type: 'number', nullable: true, unit: 'ratio', source: 'velocity', description: 'Payee outgoing / incoming sum over 24h, capped at 1: money passed on soon after it arrived (missing without incoming)' },
  { name: 'payee.distinct_payers_24h', type: 'number', unit: 'accounts', source: 'velocity', description: 'Distinct payers into the payee in the last 24h, before this transfer (fan-in)' },
  { name: 'payee.new_payers_24h', type: 'number', unit: 'accounts', source: 'velocity', description: 'Distinct payers who paid this payee for the first time in the last 24h, before this transfer' },
  // --- device
  { name: 'device.new_for_payer', type: 'boolean', nullable: true, unit: '', source: 'velocity', description: 'The payer has not used this device before (missing without payer.deviceId)' },
  { name: 'device.distinct_payers_24h', type: 'number', nullable: true, unit: 'accounts', source: 'velocity', description: 'Distinct payers on this device in the last 24h, before this transfer (missing without payer.deviceId)' },
  // --- case library flags
  { name: 'payee.report_count', type: 'number', unit: 'reports', source: 'reports', description: 'Scam reports naming this payee in the case library' },
  { name: 'payee.distinct_reporters', type: 'number', unit: 'reporters', source: 'reports', description: 'Distinct reporters of scams naming this payee' },
  { name: 'payee.hours_since_last_report', type: 'number', nullable: true, unit: 'hours', source: 'reports', description: 'Hours since the latest scam report naming this payee (missing without reports)' },
  // --- the same reports by age (issue 16): a report counts from its own time on and fades
  ...(['1d', '7d', '28d'] as const).map(
    (w): Spec => ({
      name: `payee.reports_${w}`,
      type: 'number',
      nullable: true,
      unit: 'reports',
      source: 'reports',
      modelInput: false,
      description: `Scam reports naming this payee reported in the last ${w} (in a replay: that became known in the last ${w}, i.e. their transfers' time plus the label delay)`,
    }),
  ),
  { name: 'payee.reports_decayed', type: 'number', nullable: true, unit: 'reports', source: 'reports', modelInput: false, description: "Scam reports naming this payee, each weighted 2^(-age / half-life) (REPORT_HALF_LIFE_HOURS, default 168): a report of now counts 1, one a week old 0.5 (thousandths)" },
  { name: 'payee.report_weight', type: 'number', nullable: true, unit: 'reports', source: 'reports', modelInput: false, description: "payee.reports_decayed / (1 + honest / 10), honest = payee.in_count_30d − payee.reports_28d (at least 0): a busy payee's few reports weigh little" },
];

export const FEATURES: readonly FeatureSpec[] = Object.freeze(
  SPECS.map((s) => Object.freeze({ ...s, nullable: s.nullable ?? false })),
);

export const FEATURE_COUNT = FEATURES.length;

/**
 * Identifies the catalogue's names and order; stored with every recorded feature vector so a
 * replay knows which catalogue a vector was written with.
 */
export const CATALOGUE_VERSION: string = (() => {
  // FNV-1a over the names in order: stable, dependency-free, and enough to tell versions apart
  let h = 0x811c9dc5;
  for (const c of FEATURES.map((f) => `${f.name}:${f.type}`).join('|')) {
    h ^= c.charCodeAt(0);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return `fc-${FEATURES.length}-${h.toString(16).padStart(8, '0')}`;
})();

const INDEX = new Map<string, number>(FEATURES.map((f, i) => [f.name, i]));

/** Position of a feature in the vector, or undefined for an unknown name. */
export function featureIndex(name: string): number | undefined {
  return INDEX.get(name);
}

export function featureSpec(name: string): FeatureSpec | undefined {
  const i = INDEX.get(name);
  return i === undefined ? undefined : FEATURES[i];
}

/** Index lookup for code that names catalogue features literally; throws on a typo (a bug). */
export function idx(name: string): number {
  const i = INDEX.get(name);
  if (i === undefined) throw new Error(`unknown feature ${name}`);
  return i;
}

const AGE_BAND_INDEX = idx('payer.age_band');
const BAND_NAMES: ReadonlySet<string> = new Set(AGE_BANDS);

/** The payer's age band of a feature vector in catalogue order, null when it has none. */
export function ageBandOf(v: readonly FeatureValue[]): AgeBand | null {
  const s = v[AGE_BAND_INDEX];
  return typeof s === 'string' && BAND_NAMES.has(s) ? (s as AgeBand) : null;
}

/** A feature vector as a plain object keyed by feature name (stored with every decision). */
export function vectorToRecord(v: readonly FeatureValue[]): Record<string, FeatureValue> {
  const out: Record<string, FeatureValue> = {};
  for (let i = 0; i < FEATURES.length; i++) out[FEATURES[i]!.name] = v[i] ?? null;
  return out;
}

/** The inverse of vectorToRecord; a name absent from the record is missing (null). */
export function recordToVector(r: Readonly<Record<string, FeatureValue | undefined>>): FeatureValue[] {
  return FEATURES.map((f) => (Object.prototype.hasOwnProperty.call(r, f.name) ? (r[f.name] ?? null) : null));
}

import { FEATURES, idx, type FeatureSpec, type FeatureValue } from '../features/catalogue.ts';

/**
 * Feature analysis of the case library (issue 5, DESIGN §7), pure: which features separate
 * reported scam transfers from all transfers, overall, by scam type and by age band; which rules
 * fired on reported scams; which reported scams nothing caught, and what they have in common.
 *
 * Definitions (the numbers an analyst reads):
 * - buckets: per feature, fixed for the whole analysis so segments compare. Numbers with at
 *   most 10 distinct values get one bucket per value, others ten weighted-quantile buckets of
 *   all transfers; booleans true / false; strings their 12 most frequent values and "(other)";
 *   every feature also has a "missing" bucket (a missing value is never guessed).
 * - share: the weighted fraction of a population in a bucket. `scamShare` among the reported
 *   scams of the segment, `allShare` among all its transfers (scams included).
 * - lift = scamShare / allShare: 2 means reported scams fall in the bucket twice as often as
 *   transfers in general; null where the segment has no transfers in the bucket.
 * - separation: information value of reported vs not reported,
 *   IV = Σ_b (pS_b − pN_b) · ln(pS_b / pN_b) over the non-empty buckets, with add-0.5 smoothing; 0 when the
 *   distributions are equal, and by the usual reading > 0.1 medium, > 0.3 strong. Features are
 *   ranked by it.
 * - missed: a reported scam whose decision was `allow` (no active rule and no model score
 *   raised the action).
 *
 * Rows carry a weight: reported scams are always all included (weight 1); when the window has
 * more other transfers than the row budget, a uniform sample of them stands in with weight
 * (others / sampled).
 */

export interface AnalysisRow {
  readonly transferId: string;
  readonly payeeId: string;
  readonly occurredAtMs: number;
  readonly features: readonly FeatureValue[];
  readonly action: string;
  readonly hitRules: readonly string[];
  readonly shadowRules: readonly string[];
  /** scam type of the case that reported it; null: not reported */
  readonly reportedAs: string | null;
  readonly weight: number;
}

export interface BucketStat {
  readonly label: string;
  readonly scamCount: number;
  /** weighted */
  readonly allCount: number;
  readonly scamShare: number;
  readonly allShare: number;
  readonly lift: number | null;
}

export interface FeatureComparison {
  readonly feature: string;
  readonly separation: number;
  readonly buckets: readonly BucketStat[];
}

export interface SegmentAnalysis {
  /** 'all', a scam type or an age band */
  readonly segment: string;
  /** weighted */
  readonly transfers: number;
  readonly reported: number;
  /** every feature by separation, most separating first */
  readonly ranking: readonly { readonly feature: string; readonly separation: number }[];
  /** bucket detail of the `top` most separating features */
  readonly features: readonly FeatureComparison[];
}

export interface RuleStat {
  readonly ruleId: string;
  readonly mode: 'active' | 'shadow';
  readonly firedOnReported: number;
  /** of all reported scams */
  readonly shareOfReported: number;
  /** weighted */
  readonly firedOnAll: number;
  /** reported scams among the transfers it fired on; null when it never fired */
  readonly precision: number | null;
}

export interface Trait {
  readonly feature: string;
  readonly bucket: string;
  readonly missedCount: number;
  readonly missedShare: number;
  readonly allShare: number;
  readonly lift: number | null;
}

export interface MissedAnalysis {
  readonly count: number;
  readonly shareOfReported: number;
  readonly byScamType: Readonly<Record<string, number>>;
  readonly byAgeBand: Readonly<Record<string, number>>;
  /** feature buckets most over-represented among missed scams (at least MIN_TRAIT_SUPPORT of them) */
  readonly traits: readonly Trait[];
  readonly examples: readonly { readonly transferId: string; readonly payeeId: string; readonly scamType: string; readonly occurredAt: string }[];
}

export interface FeatureAnalysis {
  /** weighted */
  readonly transfers: number;
  readonly reported: number;
  readonly overall: SegmentAnalysis;
  readonly byScamType: readonly SegmentAnalysis[];
  readonly byAgeBand: readonly SegmentAnalysis[];
  readonly rules: readonly RuleStat[];
  readonly missed: MissedAnalysis;
}

export interface AnalysisOptions {
  /** bucket detail for this many features per segment */
  readonly top: number;
  readonly traits?: number;
  readonly examples?: number;
}

export const MISSING = 'missing';
const DISTINCT_AS_BUCKETS = 10;
const QUANTILES = 10;
const STRING_VALUES = 12;
const OTHER = '(other)';
const MIN_TRAIT_SUPPORT = 2;
const AGE_BAND = idx('payer.age_band');

// --- buckets

/**
 * A feature's buckets and the bucket of every row, computed once per analysis (segments only
 * count over these codes: an analysis of 50,000 rows must not hold the API's event loop long).
 */
interface Coded {
  readonly labels: readonly string[];
  readonly codes: Uint16Array;
}

/** Up to 4 significant digits, no exponent for everyday magnitudes. */
export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Number.isInteger(n)) return String(n);
  const a = Math.abs(n);
  const digits = a >= 100 ? 1 : a >= 1 ? 2 : 4;
  return String(Number(n.toFixed(digits)));
}

/** Values sorted ascending with their weights (rows of one weight are sorted natively, then merged). */
function sortedWeighted(rows: readonly AnalysisRow[], i: number): { v: Float64Array; w: Float64Array } {
  const groups = new Map<number, number[]>();
  for (const r of rows) {
    const x = r.features[i];
    if (typeof x !== 'number' || !Number.isFinite(x)) continue;
    let g = groups.get(r.weight);
    if (g === undefined) groups.set(r.weight, (g = []));
    g.push(x);
  }
  const parts = [...groups.entries()].map(([w, xs]) => ({ w, xs: Float64Array.from(xs).sort(), at: 0 }));
  const n = parts.reduce((s, p) => s + p.xs.length, 0);
  const v = new Float64Array(n);
  const w = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    let best = -1;
    for (let p = 0; p < parts.length; p++) {
      const part = parts[p]!;
      if (part.at < part.xs.length && (best < 0 || part.xs[part.at]! < parts[best]!.xs[parts[best]!.at]!)) best = p;
    }
    const part = parts[best]!;
    v[k] = part.xs[part.at++]!;
    w[k] = part.w;
  }
  return { v, w };
}

/** Cut points at the weighted deciles; each is the lower bound of a bucket. */
function quantileEdges(v: Float64Array, w: Float64Array): number[] {
  let total = 0;
  for (let k = 0; k < w.length; k++) total += w[k]!;
  const edges: number[] = [];
  let cum = 0;
  let q = 1;
  for (let k = 0; k < v.length && q < QUANTILES; k++) {
    cum += w[k]!;
    while (q < QUANTILES && cum >= (q * total) / QUANTILES) {
      edges.push(v[k]!);
      q++;
    }
  }
  // a cut at the smallest value would leave its bucket empty
  return [...new Set(edges)].filter((e) => e > v[0]!);
}

function codeNumbers(rows: readonly AnalysisRow[], i: number): Coded {
  const { v, w } = sortedWeighted(rows, i);
  const distinct: number[] = [];
  for (let k = 0; k < v.length && distinct.length <= DISTINCT_AS_BUCKETS; k++) {
    if (k === 0 || v[k] !== v[k - 1]) distinct.push(v[k]!);
  }
  const codes = new Uint16Array(rows.length);
  if (distinct.length <= DISTINCT_AS_BUCKETS) {
    const at = new Map(distinct.map((x, k) => [x, k]));
    rows.forEach((r, j) => {
      const x = r.features[i];
      codes[j] = typeof x === 'number' ? (at.get(x) ?? distinct.length) : distinct.length;
    });
    return { labels: [...distinct.map((x) => `= ${formatNumber(x)}`), MISSING], codes };
  }
  const edges = quantileEdges(v, w);
  const labels = [`< ${formatNumber(edges[0]!)}`];
  for (let k = 1; k < edges.length; k++) labels.push(`${formatNumber(edges[k - 1]!)} to < ${formatNumber(edges[k]!)}`);
  labels.push(`>= ${formatNumber(edges[edges.length - 1]!)}`, MISSING);
  rows.forEach((r, j) => {
    const x = r.features[i];
    if (typeof x !== 'number' || !Number.isFinite(x)) {
      codes[j] = edges.length + 1;
      return;
    }
    let k = 0;
    while (k < edges.length && x >= edges[k]!) k++;
    codes[j] = k;
  });
  return { labels, codes };
}

function codeBooleans(rows: readonly AnalysisRow[], i: number): Coded {
  const codes = new Uint16Array(rows.length);
  rows.forEach((r, j) => {
    const x = r.features[i];
    codes[j] = x === true ? 0 : x === false ? 1 : 2;
  });
  return { labels: ['true', 'false', MISSING], codes };
}

function codeStrings(rows: readonly AnalysisRow[], i: number, spec: FeatureSpec): Coded {
  let values: string[];
  if (spec.values !== undefined) {
    values = [...spec.values];
  } else {
    const counts = new Map<string, number>();
    for (const r of rows) {
      const x = r.features[i];
      if (typeof x === 'string') counts.set(x, (counts.get(x) ?? 0) + r.weight);
    }
    values = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, STRING_VALUES).map(([x]) => x);
  }
  const at = new Map(values.map((x, k) => [x, k]));
  const codes = new Uint16Array(rows.length);
  rows.forEach((r, j) => {
    const x = r.features[i];
    codes[j] = typeof x === 'string' ? (at.get(x) ?? values.length) : values.length + 1;
  });
  return { labels: [...values, OTHER, MISSING], codes };
}

function code(rows: readonly AnalysisRow[], i: number): Coded {
  const spec = FEATURES[i]!;
  if (spec.type === 'number') return codeNumbers(rows, i);
  if (spec.type === 'boolean') return codeBooleans(rows, i);
  return codeStrings(rows, i, spec);
}

// --- comparisons

interface Counts {
  scam: Float64Array;
  all: Float64Array;
}

/** A subset of the rows (indices) and which of them count as scams. */
interface Population {
  readonly members: Uint32Array;
  readonly scam: Uint8Array;
}

function countBuckets(c: Coded, weights: Float64Array, pop: Population): Counts {
  const scam = new Float64Array(c.labels.length);
  const all = new Float64Array(c.labels.length);
  const codes = c.codes;
  const m = pop.members;
  for (let k = 0; k < m.length; k++) {
    const j = m[k]!;
    const b = codes[j]!;
    all[b]! += weights[j]!;
    if (pop.scam[j] === 1) scam[b]! += 1;
  }
  return { scam, all };
}

/**
 * Information value of scam vs not-scam over the buckets (add-0.5 smoothing). Buckets empty in
 * both populations carry no information and are left out: smoothing them would invent a
 * difference wherever the two populations differ in size.
 */
export function informationValue(scam: ArrayLike<number>, all: ArrayLike<number>): number {
  let n = 0;
  let s = 0;
  let o = 0;
  for (let k = 0; k < scam.length; k++) {
    if (all[k]! <= 0) continue;
    n++;
    s += scam[k]!;
    o += Math.max(0, all[k]! - scam[k]!);
  }
  if (s === 0 || o === 0) return 0;
  let iv = 0;
  for (let k = 0; k < scam.length; k++) {
    if (all[k]! <= 0) continue;
    const ps = (scam[k]! + 0.5) / (s + 0.5 * n);
    const po = (Math.max(0, all[k]! - scam[k]!) + 0.5) / (o + 0.5 * n);
    iv += (ps - po) * Math.log(ps / po);
  }
  return iv;
}

function round(x: number, digits = 4): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function bucketStats(labels: readonly string[], c: Counts, scamTotal: number, allTotal: number): BucketStat[] {
  return labels.map((label, k) => {
    const scamShare = scamTotal > 0 ? c.scam[k]! / scamTotal : 0;
    const allShare = allTotal > 0 ? c.all[k]! / allTotal : 0;
    return {
      label,
      scamCount: c.scam[k]!,
      allCount: round(c.all[k]!, 2),
      scamShare: round(scamShare),
      allShare: round(allShare),
      lift: allShare > 0 ? round(scamShare / allShare) : null,
    };
  });
}

/** Features counted between two yields of a step generator. */
const FEATURES_PER_STEP = 8;

function* segment(name: string, coded: readonly Coded[], weights: Float64Array, pop: Population, top: number): Generator<void, SegmentAnalysis> {
  let allTotal = 0;
  let scamTotal = 0;
  for (const j of pop.members) {
    allTotal += weights[j]!;
    scamTotal += pop.scam[j]!;
  }
  const comparisons: { feature: string; separation: number; counts: Counts; i: number }[] = [];
  for (let i = 0; i < FEATURES.length; i++) {
    const c = countBuckets(coded[i]!, weights, pop);
    comparisons.push({ feature: FEATURES[i]!.name, separation: round(informationValue(c.scam, c.all)), counts: c, i });
    if (i % FEATURES_PER_STEP === FEATURES_PER_STEP - 1) yield;
  }
  const ranked = [...comparisons].sort((a, b) => b.separation - a.separation || a.i - b.i);
  return {
    segment: name,
    transfers: round(allTotal, 2),
    reported: scamTotal,
    ranking: ranked.map((c) => ({ feature: c.feature, separation: c.separation })),
    features: ranked.slice(0, top).map((c) => ({
      feature: c.feature,
      separation: c.separation,
      buckets: bucketStats(coded[c.i]!.labels, c.counts, scamTotal, allTotal),
    })),
  };
}

function ruleStats(rows: readonly AnalysisRow[], reported: number): RuleStat[] {
  const stats = new Map<string, { mode: 'active' | 'shadow'; onReported: number; onAll: number }>();
  const add = (ruleId: string, mode: 'active' | 'shadow', r: AnalysisRow) => {
    const key = `${mode}:${ruleId}`;
    const s = stats.get(key) ?? { mode, onReported: 0, onAll: 0 };
    s.onAll += r.weight;
    if (r.reportedAs !== null) s.onReported += 1;
    stats.set(key, s);
  };
  for (const r of rows) {
    for (const id of r.hitRules) add(id, 'active', r);
    for (const id of r.shadowRules) add(id, 'shadow', r);
  }
  return [...stats.entries()]
    .map(([key, s]) => ({
      ruleId: key.slice(s.mode.length + 1),
      mode: s.mode,
      firedOnReported: s.onReported,
      shareOfReported: reported > 0 ? round(s.onReported / reported) : 0,
      firedOnAll: round(s.onAll, 2),
      precision: s.onAll > 0 ? round(s.onReported / s.onAll) : null,
    }))
    .sort((a, b) => b.firedOnReported - a.firedOnReported || a.mode.localeCompare(b.mode) || a.ruleId.localeCompare(b.ruleId));
}

function tally(keys: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of keys) out[k] = (out[k] ?? 0) + 1;
  return out;
}

function* missedAnalysis(
  rows: readonly AnalysisRow[],
  coded: readonly Coded[],
  weights: Float64Array,
  reported: number,
  opts: AnalysisOptions,
): Generator<void, MissedAnalysis> {
  const isMissed = (r: AnalysisRow) => r.reportedAs !== null && r.action === 'allow';
  const missed = rows.filter(isMissed);
  const everyone: Population = { members: Uint32Array.from(rows.keys()), scam: Uint8Array.from(rows, (r) => (isMissed(r) ? 1 : 0)) };
  const allTotal = weights.reduce((s, w) => s + w, 0);
  const traits: Trait[] = [];
  for (let i = 0; missed.length > 0 && i < FEATURES.length; i++) {
    const f = FEATURES[i]!;
    const c = countBuckets(coded[i]!, weights, everyone);
    coded[i]!.labels.forEach((label, k) => {
      if (label === MISSING || c.scam[k]! < Math.min(MIN_TRAIT_SUPPORT, missed.length)) return;
      const missedShare = c.scam[k]! / missed.length;
      const allShare = c.all[k]! / allTotal;
      traits.push({
        feature: f.name,
        bucket: label,
        missedCount: c.scam[k]!,
        missedShare: round(missedShare),
        allShare: round(allShare),
        lift: allShare > 0 ? round(missedShare / allShare) : null,
      });
    });
    if (i % FEATURES_PER_STEP === FEATURES_PER_STEP - 1) yield;
  }
  traits.sort((a, b) => (b.lift ?? 0) - (a.lift ?? 0) || b.missedCount - a.missedCount || a.feature.localeCompare(b.feature));
  return {
    count: missed.length,
    shareOfReported: reported > 0 ? round(missed.length / reported) : 0,
    byScamType: tally(missed.map((r) => r.reportedAs!)),
    byAgeBand: tally(missed.map((r) => String(r.features[AGE_BAND] ?? MISSING))),
    traits: traits.filter((t) => (t.lift ?? 0) > 1).slice(0, opts.traits ?? 10),
    examples: missed.slice(0, opts.examples ?? 20).map((r) => ({
      transferId: r.transferId,
      payeeId: r.payeeId,
      scamType: r.reportedAs!,
      occurredAt: new Date(r.occurredAtMs).toISOString(),
    })),
  };
}

/**
 * The analysis as steps: each `yield` is a point where a caller in a server may let other work
 * run (`analyseFeaturesAsync`), so a large window never holds the event loop for long.
 */
function* analysisSteps(rows: readonly AnalysisRow[], opts: AnalysisOptions): Generator<void, FeatureAnalysis> {
  const coded: Coded[] = [];
  for (let i = 0; i < FEATURES.length; i++) {
    coded.push(code(rows, i));
    yield;
  }
  const weights = Float64Array.from(rows, (r) => r.weight);
  const reportedMask = Uint8Array.from(rows, (r) => (r.reportedAs !== null ? 1 : 0));
  const everyone = Uint32Array.from(rows.keys());
  const reported = reportedMask.reduce((s, x) => s + x, 0);
  const scamTypes = [...new Set(rows.map((r) => r.reportedAs).filter((t): t is string => t !== null))].sort();
  const bandOf = (r: AnalysisRow) => r.features[AGE_BAND];
  const bands = (FEATURES[AGE_BAND]!.values ?? []).filter((band) => rows.some((r) => bandOf(r) === band && r.reportedAs !== null));
  const inBand = (band: string) => Uint32Array.from(rows.flatMap((r, j) => (bandOf(r) === band ? [j] : [])));

  const overall = yield* segment('all', coded, weights, { members: everyone, scam: reportedMask }, opts.top);
  // a scam type against all transfers: what marks this kind of scam out from normal traffic
  const byScamType: SegmentAnalysis[] = [];
  for (const t of scamTypes) {
    byScamType.push(yield* segment(t, coded, weights, { members: everyone, scam: Uint8Array.from(rows, (r) => (r.reportedAs === t ? 1 : 0)) }, opts.top));
  }
  // within an age band: what marks scams on these payers out from their normal transfers
  const byAgeBand: SegmentAnalysis[] = [];
  for (const band of bands) {
    byAgeBand.push(yield* segment(band, coded, weights, { members: inBand(band), scam: reportedMask }, opts.top));
  }
  const missed = yield* missedAnalysis(rows, coded, weights, reported, opts);
  return {
    transfers: round(weights.reduce((s, w) => s + w, 0), 2),
    reported,
    overall,
    byScamType,
    byAgeBand,
    rules: ruleStats(rows, reported),
    missed,
  };
}

export function analyseFeatures(rows: readonly AnalysisRow[], opts: AnalysisOptions): FeatureAnalysis {
  const steps = analysisSteps(rows, opts);
  for (;;) {
    const r = steps.next();
    if (r.done === true) return r.value;
  }
}

/** As analyseFeatures, awaiting `pause()` between steps (e.g. setImmediate, to let requests run). */
export async function analyseFeaturesAsync(
  rows: readonly AnalysisRow[],
  opts: AnalysisOptions,
  pause: () => Promise<void>,
): Promise<FeatureAnalysis> {
  const steps = analysisSteps(rows, opts);
  for (;;) {
    const r = steps.next();
    if (r.done === true) return r.value;
    await pause();
  }
}

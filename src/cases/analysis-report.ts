import type { AnalysisReport } from './case-analysis.ts';
import type { FeatureComparison, SegmentAnalysis } from './feature-analysis.ts';

/** The feature analysis as plain text for a terminal (`npm run cases:analysis`), 100 columns wide. */

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
const num = (x: number, d = 2): string => (Number.isInteger(x) ? String(x) : x.toFixed(d));
const pad = (s: string, n: number): string => (s.length >= n ? `${s.slice(0, n - 1)}…` : s.padEnd(n));
const lpad = (s: string, n: number): string => s.padStart(n);

function bar(iv: number, max: number): string {
  if (max <= 0) return '';
  return '#'.repeat(Math.max(iv > 0 ? 1 : 0, Math.round((iv / max) * 20)));
}

function ranking(seg: SegmentAnalysis, n: number, out: string[]): void {
  const shown = seg.ranking.filter((r) => r.separation > 0).slice(0, n);
  if (shown.length === 0) {
    out.push('  no feature separates these scams from the other transfers');
    return;
  }
  const max = shown[0]!.separation;
  shown.forEach((r, i) => out.push(`  ${lpad(String(i + 1), 2)}. ${pad(r.feature, 36)} ${lpad(r.separation.toFixed(3), 7)}  ${bar(r.separation, max)}`));
}

function buckets(f: FeatureComparison, out: string[]): void {
  out.push(`  ${f.feature}  (information value ${f.separation.toFixed(3)})`);
  out.push(`    ${pad('bucket', 28)} ${lpad('scams', 8)} ${lpad('all', 8)} ${lpad('lift', 7)}`);
  for (const b of f.buckets) {
    if (b.allCount === 0) continue;
    const mark = b.lift !== null && b.lift >= 2 ? '  ▲' : b.lift !== null && b.lift <= 0.5 ? '  ▼' : '';
    out.push(`    ${pad(b.label, 28)} ${lpad(pct(b.scamShare), 8)} ${lpad(pct(b.allShare), 8)} ${lpad(b.lift === null ? '-' : b.lift.toFixed(2), 7)}${mark}`);
  }
}

export function renderAnalysis(r: AnalysisReport, opts: { readonly features?: number } = {}): string {
  const top = opts.features ?? 5;
  const out: string[] = [];
  out.push('calmpay case library: which features separate reported scams from all transfers');
  out.push(`window ${r.from} to ${r.to} (by occurredAt), feature catalogue ${r.catalogue}`);
  out.push(`${num(r.transfers, 0)} transfers, ${r.reported} reported scams (${r.transfers > 0 ? pct(r.reported / r.transfers) : '0.0%'})`);
  if (r.sampleRate !== null) out.push(`unreported transfers sampled at ${pct(r.sampleRate)}, each standing for ${num(1 / r.sampleRate)}`);
  if (r.reportedWithoutDecision > 0) {
    out.push(`${r.reportedWithoutDecision} reported transfers have no stored decision (not scored here, or past DECISION_RETENTION_DAYS)`);
  }
  if (r.otherCatalogue > 0) out.push(`${r.otherCatalogue} decisions made with another feature catalogue are left out`);
  out.push('lift = share among scams / share among all transfers; ranking by information value (> 0.1 medium, > 0.3 strong)');
  out.push('');

  out.push(`== All reported scams (${r.overall.reported}) ==`);
  ranking(r.overall, 10, out);
  for (const f of r.overall.features.slice(0, top)) {
    if (f.separation <= 0) continue;
    out.push('');
    buckets(f, out);
  }

  out.push('', '== By scam type (each against all transfers) ==');
  if (r.byScamType.length === 0) out.push('  no reported scams in the window');
  for (const s of r.byScamType) {
    out.push(`${s.segment}: ${s.reported} reported`);
    ranking(s, 3, out);
  }

  out.push('', '== By age band of the payer (scams against the transfers of the same band) ==');
  if (r.byAgeBand.length === 0) out.push('  no reported scams of payers with a known age in the window');
  for (const s of r.byAgeBand) {
    out.push(`${s.segment}: ${s.reported} reported of ${num(s.transfers, 0)} transfers`);
    ranking(s, 3, out);
  }

  out.push('', '== Rules that fired on reported scams ==');
  const fired = r.rules.filter((x) => x.firedOnReported > 0);
  if (fired.length === 0) out.push('  none');
  else out.push(`  ${pad('rule', 34)} ${pad('mode', 7)} ${lpad('scams', 6)} ${lpad('of scams', 9)} ${lpad('fired', 8)} ${lpad('precision', 10)}`);
  for (const x of fired) {
    out.push(
      `  ${pad(x.ruleId, 34)} ${pad(x.mode, 7)} ${lpad(String(x.firedOnReported), 6)} ${lpad(pct(x.shareOfReported), 9)} ${lpad(num(x.firedOnAll, 0), 8)} ${lpad(x.precision === null ? '-' : pct(x.precision), 10)}`,
    );
  }

  const m = r.missed;
  out.push('', `== Missed: ${m.count} of ${r.reported} reported scams (${pct(m.shareOfReported)}) were allowed: no rule and no model caught them ==`);
  if (m.count > 0) {
    const list = (rec: Readonly<Record<string, number>>) => Object.entries(rec).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ');
    out.push(`  by scam type: ${list(m.byScamType)}`);
    out.push(`  by age band: ${list(m.byAgeBand)}`);
    out.push('  what they have in common (over-represented against all transfers):');
    if (m.traits.length === 0) out.push('    nothing stands out');
    for (const t of m.traits) {
      out.push(`    ${pad(`${t.feature}: ${t.bucket}`, 44)} ${lpad(pct(t.missedShare), 7)} of missed vs ${lpad(pct(t.allShare), 7)} of all (lift ${t.lift === null ? '-' : num(t.lift)})`);
    }
    out.push('  examples:');
    for (const e of m.examples.slice(0, 10)) out.push(`    ${e.transferId} to ${e.payeeId}, ${e.scamType}, ${e.occurredAt}`);
  }
  return `${out.join('\n')}\n`;
}

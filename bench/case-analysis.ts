/**
 * `npx tsx bench/case-analysis.ts`: the case library's feature analysis (GET /v1/cases/analysis)
 * runs inside the API process, beside scoring. What matters is how long it holds the event loop.
 *
 * On the same seeded rows (bench/feature-vectors.ts, 2 % reported), in the same process:
 * - baseline: `analyseFeatures`, all in one go (what a plain synchronous analysis would do);
 * - served: `analyseFeaturesAsync` with a setImmediate between steps (what the route runs).
 * A 1 ms interval timer records the longest gap between its ticks in each run: the longest the
 * event loop was held. Reported: total time of each, longest stall of each, and their ratio.
 * Median of 3 runs each. Results go to bench/results/case-analysis.json.
 *
 * Env: BENCH_ANALYSIS_N (50000 rows), BENCH_ANALYSIS_SEED (1).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { analyseFeatures, analyseFeaturesAsync, type AnalysisRow } from '../src/cases/feature-analysis.ts';
import { generateFeatureVectors } from './feature-vectors.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const n = Number(process.env.BENCH_ANALYSIS_N ?? 50_000);
const seed = Number(process.env.BENCH_ANALYSIS_SEED ?? 1);
const RUNS = 3;

const rows: AnalysisRow[] = generateFeatureVectors(n, seed).map((features, i) => ({
  transferId: `t-${i}`,
  payeeId: `q-${i % 5_000}`,
  occurredAtMs: 0,
  features,
  action: i % 9 === 0 ? 'warn' : 'allow',
  hitRules: i % 9 === 0 ? ['r-1'] : [],
  shadowRules: [],
  reportedAs: i % 50 === 0 ? (['impersonation', 'investment', 'romance'] as const)[i % 3]! : null,
  weight: 1,
}));

async function measure(run: () => Promise<unknown>): Promise<{ totalMs: number; stallMs: number }> {
  let longest = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 1);
  await new Promise((r) => setTimeout(r, 20));
  last = performance.now();
  const t0 = performance.now();
  await run();
  const totalMs = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 5));
  clearInterval(timer);
  return { totalMs, stallMs: longest };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const sync: { totalMs: number; stallMs: number }[] = [];
const served: { totalMs: number; stallMs: number }[] = [];
for (let k = 0; k < RUNS; k++) {
  sync.push(await measure(async () => analyseFeatures(rows, { top: 10 })));
  served.push(await measure(() => analyseFeaturesAsync(rows, { top: 10 }, () => nextTurn())));
}
const result = {
  rows: n,
  cpus: os.cpus().length,
  baselineSync: { totalMs: Math.round(median(sync.map((x) => x.totalMs))), longestStallMs: Math.round(median(sync.map((x) => x.stallMs))) },
  served: { totalMs: Math.round(median(served.map((x) => x.totalMs))), longestStallMs: Math.round(median(served.map((x) => x.stallMs))) },
};
const ratio = result.served.longestStallMs / Math.max(1, result.baselineSync.longestStallMs);
console.log(`feature analysis of ${n} rows (median of ${RUNS}):`);
console.log(`  all at once:       ${result.baselineSync.totalMs} ms, event loop held up to ${result.baselineSync.longestStallMs} ms`);
console.log(`  in steps (served): ${result.served.totalMs} ms, event loop held up to ${result.served.longestStallMs} ms`);
console.log(`  longest stall, served / all at once: ${ratio.toFixed(3)}`);
mkdirSync(path.join(root, 'bench/results'), { recursive: true });
writeFileSync(path.join(root, 'bench/results/case-analysis.json'), `${JSON.stringify({ ...result, stallRatio: Number(ratio.toFixed(3)), date: new Date().toISOString() }, null, 2)}\n`);

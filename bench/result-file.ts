import path from 'node:path';

/**
 * Where a benchmark writes its result (issue 19: `npm run bench:backtest` overwrote a tracked
 * file on every run). By default `bench/results/local/<name>`, which git ignores; the tracked
 * files in `bench/results/` are the reference runs docs/benchmarks.md quotes, replaced on purpose with
 * `BENCH_RESULTS_DIR=bench/results`.
 */
export function benchResultFile(root: string, name: string, env: Readonly<Record<string, string | undefined>> = process.env): string {
  return path.join(path.resolve(root, env.BENCH_RESULTS_DIR || 'bench/results/local'), name);
}

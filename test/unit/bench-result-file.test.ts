import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { benchResultFile } from '../../bench/result-file.ts';

/** Issue 19: `npm run bench:backtest` overwrote the tracked reference result on every run. */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function gitIgnored(file: string): boolean {
  try {
    execFileSync('git', ['check-ignore', '-q', path.relative(ROOT, file)], { cwd: ROOT });
    return true;
  } catch {
    return false;
  }
}

describe('where a benchmark writes its result', () => {
  it('by default a git-ignored file, never the tracked reference', () => {
    for (const name of ['backtest.json', 'backtest-postgres.json']) {
      const file = benchResultFile(ROOT, name, {});
      expect(path.relative(ROOT, file)).toBe(`bench/results/local/${name}`);
      expect(gitIgnored(file)).toBe(true);
      // the reference run docs/benchmarks.md quotes stays tracked
      expect(gitIgnored(path.join(ROOT, 'bench/results', name))).toBe(false);
    }
  });

  it('BENCH_RESULTS_DIR replaces the reference on purpose', () => {
    expect(benchResultFile(ROOT, 'backtest.json', { BENCH_RESULTS_DIR: 'bench/results' })).toBe(path.join(ROOT, 'bench/results/backtest.json'));
  });
});

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseManifest } from '../../src/model/manifest.ts';
import { redisUrl } from '../helpers/redis.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const run = (args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/train.ts', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, REDIS_URL: redisUrl() },
    timeout: 240_000,
  });

describe('npm run train', () => {
  it('trains on the simulator through the engine feature code and writes a model the engine accepts', () => {
    const out = mkdtempSync(path.join(tmpdir(), 'calmpay-train-cli-'));
    try {
      const r = run([
        '--payers', '400', '--days', '22', '--warmup-days', '4', '--valid-days', '6', '--test-days', '6', '--fraud-rate', '0.03',
        '--max-rounds', '20', '--learning-rate', '0.3', '--max-depth', '4', '--max-leaves', '12', '--lambda', '5', '--min-child-weight', '0.2', '--early-stopping', '5',
        '--version', 'cli1', '--out', out,
      ]);
      expect(r.status, r.stderr).toBe(0);
      const report = JSON.parse(r.stdout) as { rows: { train: number; valid: number; test: number }; trees: number; test: { positives: number } };
      expect(report.trees).toBeGreaterThan(0);
      expect(report.trees).toBeLessThanOrEqual(20);
      expect(report.rows.train).toBeGreaterThan(0);
      expect(report.test.positives).toBeGreaterThan(0);
      expect(readdirSync(out).sort()).toEqual(['calmpay-gbdt-cli1.json', 'calmpay-gbdt-cli1.onnx']);
      const manifest = parseManifest(readFileSync(path.join(out, 'calmpay-gbdt-cli1.json'), 'utf8'));
      expect(manifest.ok).toBe(true);
      if (manifest.ok) {
        expect(manifest.manifest.dataSource).toBe('simulator payers=400 days=22 seed=1 fraudRate=0.03 start=2026-06-01 optionalFields=partial');
        expect(manifest.manifest.baselineMetrics).not.toBeNull();
        expect(manifest.manifest.params).toMatchObject({ maxRounds: 20, learningRate: 0.3, maxDepth: 4, maxLeaves: 12, lambda: 5, minChildWeight: 0.2, earlyStoppingRounds: 5 });
        expect(manifest.manifest.ensemble.trees.length).toBe(report.trees);
        // no tree deeper than --max-depth or with more leaves than --max-leaves
        for (const t of manifest.manifest.ensemble.trees) {
          const depth = (n: number): number => (t.left[n]! < 0 ? 0 : 1 + Math.max(depth(t.left[n]!), depth(t.right[n]!)));
          expect(depth(0)).toBeLessThanOrEqual(4);
          expect(t.feature.filter((f) => f < 0).length).toBeLessThanOrEqual(12);
        }
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 240_000);

  it('names a bad option and exits 2', () => {
    const r = run(['--days', 'many']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--days must be a non-negative integer, got "many"');
  });

  it('names every bad model-size option at once and exits 2', () => {
    const r = run(['--max-rounds', '0', '--learning-rate', '1.5', '--max-depth', '31', '--max-leaves', '1', '--lambda', 'lots', '--min-child-weight=-0.5', '--early-stopping=-1']);
    expect(r.status).toBe(2);
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('--'));
    expect(errors).toEqual([
      '--max-rounds must be an integer >= 1, got "0"',
      '--max-depth must be at most 30, got "31"',
      '--max-leaves must be an integer >= 2, got "1"',
      '--early-stopping must be a non-negative integer, got "-1"',
      '--learning-rate must be greater than 0 and at most 1, got "1.5"',
      '--lambda must be a number >= 0, got "lots"',
      '--min-child-weight must be a number >= 0, got "-0.5"',
    ]);
  });

  it("takes replay's spellings of the GBDT options too", () => {
    const r = run(['--early-stopping-rounds', 'x', '--min-child-samples', '0', '--subsample', '1.5', '--days', 'many']);
    expect(r.status).toBe(2);
    expect(r.stderr.split('\n').filter((l) => l.startsWith('--'))).toEqual([
      '--days must be a non-negative integer, got "many"',
      '--min-child-samples must be an integer >= 1, got "0"',
      '--early-stopping-rounds must be a non-negative integer, got "x"',
      '--subsample must be greater than 0 and at most 1, got "1.5"',
    ]);
    expect(r.stderr).not.toContain('Unknown option');
  });
});

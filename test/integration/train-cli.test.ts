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
      const r = run(['--payers', '400', '--days', '22', '--warmup-days', '4', '--valid-days', '6', '--test-days', '6', '--fraud-rate', '0.03', '--max-rounds', '20', '--version', 'cli1', '--out', out]);
      expect(r.status, r.stderr).toBe(0);
      const report = JSON.parse(r.stdout) as { rows: { train: number; valid: number; test: number }; test: { positives: number } };
      expect(report.rows.train).toBeGreaterThan(0);
      expect(report.test.positives).toBeGreaterThan(0);
      expect(readdirSync(out).sort()).toEqual(['calmpay-gbdt-cli1.json', 'calmpay-gbdt-cli1.onnx']);
      const manifest = parseManifest(readFileSync(path.join(out, 'calmpay-gbdt-cli1.json'), 'utf8'));
      expect(manifest.ok).toBe(true);
      if (manifest.ok) {
        expect(manifest.manifest.dataSource).toBe('simulator payers=400 days=22 seed=1 fraudRate=0.03 start=2026-06-01');
        expect(manifest.manifest.baselineMetrics).not.toBeNull();
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
});

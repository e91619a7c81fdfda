import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { redisUrl } from '../helpers/redis.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const run = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/eval-segments.ts', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, REDIS_URL: redisUrl(), ...env },
    timeout: 240_000,
  });

interface Outcome {
  readonly alertRate: number;
  readonly fprRatioElderly: number | null;
  readonly byBand: Record<string, { readonly scams: number; readonly scamsCaught: number }>;
}

describe('npm run eval:segments', () => {
  it('compares the configured policy with segment-blind at its own alert rate and says whether the target is met', () => {
    const r = run(['--payers', '600', '--days', '10', '--test-days', '4', '--json'], { RISK_WARN_AT_ELDERLY: '12.5' });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as {
      model: string | null;
      data: { transfersScored: number; scams: number };
      segmentBlind: Outcome & { thresholds: { warn: number } };
      configured: Outcome & { thresholds: Record<string, { warn: number; coolOff: number; block: number }> };
      segmentBlindAtConfiguredAlertRate: Outcome & { thresholds: { warn: number } };
      target: { fprRatioWithin: boolean; elderlyScamsCaught: number; segmentBlindElderlyScamsCaught: number; elderlyCaughtMore: boolean; met: boolean };
    };
    expect(out.model).toMatch(/^calmpay-gbdt-/); // the newest in models/
    expect(out.data.transfersScored).toBeGreaterThan(0);
    expect(out.segmentBlind.thresholds.warn).toBe(30);
    expect(out.configured.thresholds.elderly).toEqual({ warn: 12.5, coolOff: 60, block: 95 });
    expect(out.configured.thresholds.adult).toEqual({ warn: 30, coolOff: 60, block: 95 });
    // the baseline alerts at least as often as the configured policy, with one threshold for all
    expect(out.segmentBlindAtConfiguredAlertRate.alertRate).toBeGreaterThanOrEqual(out.configured.alertRate);
    const t = out.target;
    expect(t.elderlyScamsCaught).toBe(out.configured.byBand.elderly!.scamsCaught);
    expect(t.segmentBlindElderlyScamsCaught).toBe(out.segmentBlindAtConfiguredAlertRate.byBand.elderly!.scamsCaught);
    expect(t.elderlyCaughtMore).toBe(t.elderlyScamsCaught > t.segmentBlindElderlyScamsCaught);
    const ratio = out.configured.fprRatioElderly;
    expect(t.fprRatioWithin).toBe(ratio !== null && ratio >= 0.8 && ratio <= 1.25);
    expect(t.met).toBe(t.fprRatioWithin && t.elderlyCaughtMore);
  }, 240_000);

  it("prints docs/protection.md's table by default, and no progress line when stderr is not a terminal", () => {
    const r = run(['--payers', '600', '--days', '10', '--test-days', '4'], { RISK_WARN_AT_ELDERLY: '12.5' });
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^[\d,]+ transfers scored \([\d,]+ scams\), the last 4 of 10 simulated days \(600 payers, seed 2\); model calmpay-gbdt-/);
    expect(lines.slice(2, 4)).toEqual([
      '| band | warns legitimate | holds legitimate | scams caught, segment-blind | scams caught, configured |',
      '|---|---|---|---|---|',
    ]);
    const row = /^\| (minor|adult|elderly|unknown) \| [\d.]+%( \(configured [\d.]+%\))? \| [\d.]+%( \(configured [\d.]+%\))? \| \d+ of \d+ \| \d+ of \d+ \|$/;
    const rows = lines.slice(4, lines.indexOf('', 4));
    expect(rows.map((l) => l.split(' | ')[0])).toEqual(expect.arrayContaining(['| adult', '| elderly']));
    for (const l of rows) expect(l).toMatch(row);
    expect(r.stdout).toMatch(/^FPR ratio elderly \/ others: segment-blind [\d.]+|n\/a/m);
    expect(r.stdout).toMatch(/^Target \(ratio within 0\.8-1\.25 and more scams against the elderly caught than that\): (met|NOT met)$/m);
    expect(r.stdout).toContain('every figure: --json');
    expect(r.stderr).not.toContain('replaying:');
  }, 240_000);

  it('names a bad option and fails', () => {
    const r = run(['--payers', 'lots']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('--payers must be a positive integer, got "lots"');
  });
});

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { PolicyProposal } from '../../src/calibration/proposal.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(path.join(tmpdir(), 'calmpay-calibrate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/calibrate.ts', ...args], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('npm run calibrate (issue 16)', () => {
  it('tunes on one simulated population, evaluates on another, prints the rates and writes the proposal', () => {
    const out = path.join(dir, 'proposal.json');
    const r = run(['--payers', '400', '--days', '4', '--test-days', '2', '--sim-seed', '5', '--eval-seed', '6', '--out', out]);
    expect(r.stderr).toContain(`proposal written to ${out}`);
    expect(r.status).toBe(0);
    const p = JSON.parse(readFileSync(out, 'utf8')) as PolicyProposal;
    expect(p.kind).toBe('calmpay.intervention-policy-proposal');
    expect(p.source).toMatchObject({ simulator: { payers: 400, days: 4, seed: 5, testDays: 2 } });
    expect(p.evaluation?.source).toMatchObject({ simulator: { seed: 6 } });
    expect(p.withinBudget).toBe(true);
    expect(p.env.RISK_WARN_AT).toBe(String(p.thresholds.general.warn));
    expect(r.stdout).toContain('Proposed thresholds:');
    expect(r.stdout).toContain("Within budget on the evaluation's transfers:");
    expect(r.stdout).toMatch(/^\| general \(budget 2\.00 % \/ 0\.50 % \/ 0\.10 %\) \| before \|/m);
  }, 120_000);

  it('refuses to evaluate on the population it tunes on', () => {
    const r = run(['--sim-seed', '4', '--eval-seed', '4']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('--eval-seed must differ from --sim-seed');
  });
});

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { simRecordJson, simulate } from '../../src/sim/index.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(path.join(tmpdir(), 'calmpay-sim-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function sim(args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/sim.ts', ...args], { cwd: ROOT, encoding: 'utf8', maxBuffer: 256 << 20 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('npm run sim', () => {
  const options = { payers: 400, days: 5, seed: 9, fraudRate: 0.05 };
  const expected = [...simulate(options)].map((r) => `${simRecordJson(r)}\n`).join('');

  it('streams the simulator records as JSONL to stdout and a summary to stderr', () => {
    const r = sim(['--payers', '400', '--days', '5', '--seed', '9', '--fraud-rate', '0.05']);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(expected);
    const lines = expected.split('\n').length - 1;
    expect(r.stderr).toContain(`transfers ${lines.toLocaleString('en-US')} (2026-06-01T`);
    expect(r.stderr).toMatch(/^scam type +transfers +of all +cases +reported$/m);
    expect(r.stderr).toMatch(/^fraud +\d+ \([\d.]+%\), \d+ cases/m);
    expect(r.stderr).toMatch(/^elderly +[\d,]+ +[\d.]+%/m);
    expect(r.stderr).toMatch(/transfers in [\d.]+ s \([\d,]+\/s\)/);
  });

  it('writes the same bytes to --out', () => {
    const out = path.join(dir, 'sim.jsonl');
    const r = sim(['--payers', '400', '--days', '5', '--seed', '9', '--fraud-rate', '0.05', '--out', out]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
    expect(readFileSync(out, 'utf8')).toBe(expected);
    expect(r.stderr).toContain(`-> ${out}`);
  });

  it('exits 2 naming every bad option, writing nothing', () => {
    const out = path.join(dir, 'never.jsonl');
    const r = sim(['--payers', '0', '--days', 'ten', '--start', '2026-06-31', '--out', out]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n').slice(0, 3)).toEqual([
      '--payers: must be an integer from 1 to 10000000',
      '--days: must be an integer from 1 to 3660',
      '--start: must be a date YYYY-MM-DD',
    ]);
    expect(r.stderr).toContain('usage: npm run sim -- [options]');
    expect(() => readFileSync(out)).toThrow(/ENOENT/);
  });

  it('exits 2 on an unknown option', () => {
    const r = sim(['--fraudrate', '0.1']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("Unknown option '--fraudrate'");
  });
});

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAYSIM_COLUMNS } from '../../src/replay/paysim-row.ts';
import { paysimCsv } from '../helpers/paysim-file.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const run = (args: string[]) => promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/replay.ts', ...args], { cwd: ROOT });

interface Figures { alerts: number; caught: number; precision: number; recall: number }
interface Report {
  data: { format: string; linesRead: number; rowsReplayed: number; skippedZeroAmount: number };
  paysim: { stepOne: string; currency: string; rowsByType: Record<string, { rows: number; frauds: number; flagged: number }>; contextRowsLabelledFraud: number };
  weeks: {
    windows: { test: { from: string; to: string } };
    rows: { train: number; trainFrauds: number; test: number; testFrauds: number };
    gbdt: { metrics: { overall: { rows: number; frauds: number; rocAuc: number; averagePrecision: number }; byScenario: Record<string, { rocAuc: number }> } };
    decisions: { engine: { legitimate: { transfers: number }; fraud: { transfers: number; interventionRate: number } } };
    paysimFlagBaseline: { transfers: number; frauds: number; paysimIsFlaggedFraud: Figures; calmpayAnyIntervention: Figures; calmpayHoldOrBlock: Figures };
  }[];
}

describe('npm run replay -- --format paysim', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'calmpay-replay-paysim-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('replays a generated PaySim-shaped file end to end: counts, AUC and the isFlaggedFraud baseline next to calmpay', async () => {
    // 14 days (steps 1..336) from 2025-01-01; mules emptying taken-over accounts
    const gen = paysimCsv({ seed: 16, days: 14 });
    const file = path.join(dir, 'paysim.csv');
    writeFileSync(file, gen.text);
    const { stdout, stderr } = await run([
      '--format', 'paysim', '--csv', file,
      '--train-from', '2025-01-01', '--train-to', '2025-01-05', '--test-from', '2025-01-08', '--test-to', '2025-01-10',
      '--weeks', '2', '--step-days', '4', '--label-delay-days', '2', '--valid-days', '1',
      '--batch-size', '50', '--min-child-samples', '5',
    ]);
    const report = JSON.parse(stdout) as Report;
    // the whole file is read (the second test window ends on its last day) and every row with
    // an amount goes through the feature code, context rows included
    expect(gen.rows).toBeGreaterThan(3_000);
    expect(report.data).toMatchObject({ format: 'paysim', linesRead: gen.rows, rowsReplayed: gen.rows, skippedZeroAmount: 0 });
    expect(report.paysim).toMatchObject({ stepOne: '2025-01-01T00:00:00.000Z', currency: 'CNY', rowsByType: gen.byType, contextRowsLabelledFraud: 0 });
    expect(report.weeks.map((w) => w.windows.test)).toEqual([{ from: '2025-01-08', to: '2025-01-10' }, { from: '2025-01-12', to: '2025-01-14' }]);
    // day k of the file is steps 24k+1 .. 24k+24
    const sum = (from: number, to: number, f: (d: (typeof gen.transferDays)[number]) => number): number =>
      gen.transferDays.slice(from, to + 1).reduce((s, d) => s + f(d), 0);
    for (const [k, [first, last]] of [[7, 9], [11, 13]].entries()) {
      const w = report.weeks[k]!;
      const transfers = sum(first!, last!, (d) => d.transfers);
      const frauds = sum(first!, last!, (d) => d.frauds);
      // only TRANSFER and CASH_OUT are tested and decided; PAYMENT, DEBIT, CASH_IN are not
      expect(w.rows).toMatchObject({ test: transfers, testFrauds: frauds });
      expect(frauds).toBeGreaterThan(20);
      expect(w.rows.trainFrauds).toBeGreaterThan(20);
      expect(w.gbdt.metrics.overall).toMatchObject({ rows: transfers, frauds });
      expect(w.decisions.engine.legitimate.transfers + w.decisions.engine.fraud.transfers).toBe(transfers);
      // the mule pattern is learnable from the engine's own features
      expect(w.gbdt.metrics.overall.rocAuc).toBeGreaterThan(0.9);
      expect(w.gbdt.metrics.overall.averagePrecision).toBeGreaterThan(0.6);
      expect(Object.keys(w.gbdt.metrics.byScenario)).toEqual(['CASH_OUT', 'TRANSFER']);
      // PaySim's flag, as the generator set it, and calmpay's decisions on the same transfers
      const b = w.paysimFlagBaseline;
      const flagged = sum(first!, last!, (d) => d.flagged);
      const flaggedFrauds = sum(first!, last!, (d) => d.flaggedFrauds);
      expect(b).toMatchObject({ transfers, frauds, paysimIsFlaggedFraud: { alerts: flagged, caught: flaggedFrauds } });
      expect(flagged).toBeGreaterThan(0);
      expect(b.paysimIsFlaggedFraud.recall).toBeCloseTo(flaggedFrauds / frauds, 3);
      expect(b.calmpayAnyIntervention.caught).toBe(Math.round(w.decisions.engine.fraud.interventionRate * frauds));
      expect(b.calmpayAnyIntervention.recall).toBeGreaterThan(b.paysimIsFlaggedFraud.recall);
    }
    expect(stderr).toContain('| 2025-01-12..2025-01-14 |');
    expect(stderr).toMatch(/PaySim's isFlaggedFraud next to calmpay, test 2025-01-08\.\.2025-01-10 \(\d+ transfers, \d+ fraud\):\n {2}isFlaggedFraud: \d+ alerts, precision/);
  }, 180_000);

  it('exits non-zero naming the line and column of a malformed row', async () => {
    const file = path.join(dir, 'bad.csv');
    writeFileSync(file, [PAYSIM_COLUMNS.join(','), '1,PAYMENT,10,C1,100,90,M1,0,0,0,0', '1,TRANSFER,10,C1,90,80,C2,0,10,maybe,0', ''].join('\n'));
    const args = ['--format', 'paysim', '--csv', file, '--train-from', '2025-01-01', '--train-to', '2025-01-05', '--test-from', '2025-01-08', '--test-to', '2025-01-10'];
    const failed = run(args);
    await expect(failed).rejects.toMatchObject({ code: 1 });
    const { stderr } = (await failed.catch((e: unknown) => e)) as { stderr: string };
    expect(stderr).toContain(`npm run replay failed: ${file}: line 3: isFraud (column 10) must be 0 or 1, got "maybe"`);
  }, 60_000);

  it('refuses bad PaySim options, and PaySim options with another format', async () => {
    const file = path.join(dir, 'empty.csv');
    writeFileSync(file, `${PAYSIM_COLUMNS.join(',')}\n`);
    const days = ['--train-from', '2025-01-01', '--train-to', '2025-01-05', '--test-from', '2025-01-08', '--test-to', '2025-01-10'];
    const bad = run(['--format', 'paysim', '--csv', file, ...days, '--paysim-start', '2025-13-01', '--currency', 'cny']);
    await expect(bad).rejects.toMatchObject({ code: 2 });
    const { stderr } = (await bad.catch((e: unknown) => e)) as { stderr: string };
    expect(stderr).toContain('--paysim-start must be a date YYYY-MM-DD, got "2025-13-01"');
    expect(stderr).toContain('--currency must be an ISO 4217 code of three capital letters, got "cny"');
    const other = run(['--format', 'fdh', '--csv', file, ...days, '--currency', 'EUR']);
    await expect(other).rejects.toMatchObject({ code: 2 });
    expect(((await other.catch((e: unknown) => e)) as { stderr: string }).stderr).toContain('--currency is for --format paysim only');
  }, 60_000);
});

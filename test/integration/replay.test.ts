import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_AGE_BANDS } from '../../src/features/build-vector.ts';
import { MODEL_FEATURE_NAMES } from '../../src/model/encode.ts';
import { fdhRows, type SourceStats } from '../../src/replay/row-sources.ts';
import { replayLabelled } from '../../src/train/pipeline.ts';
import { redisUrl } from '../helpers/redis.ts';

const HEADER = 'TRANSACTION_ID,TX_DATETIME,CUSTOMER_ID,TERMINAL_ID,TX_AMOUNT,TX_TIME_SECONDS,TX_TIME_DAYS,TX_FRAUD,TX_FRAUD_SCENARIO';
const DAY = 86_400_000;
const T0 = Date.parse('2018-04-01T00:00:00Z');

function fdhLine(id: number, ms: number, customer: number, terminal: number, amount: number, scenario: number): string {
  const dt = new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
  const s = Math.round((ms - T0) / 1000);
  return `${id},${dt},${customer},${terminal},${amount.toFixed(2)},${s},${Math.floor(s / 86_400)},${scenario === 0 ? 0 : 1},${scenario}`;
}

/**
 * 28 days of a small handbook-like world: 150 customers, 40 terminals, ~240 transfers a day.
 * Scenario 1: amounts above 220. Scenario 2: terminals 3 and 4 compromised from day 3, every
 * transfer to them fraud afterwards (the payee's report count, after the delay, reveals them).
 */
function syntheticCsv(): { text: string; fraudsInTest: number; rowsInTest: number } {
  let seed = 12345;
  const rand = (): number => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed / 2_147_483_648;
  };
  const lines = [HEADER];
  let id = 0;
  let fraudsInTest = 0;
  let rowsInTest = 0;
  for (let day = 0; day < 28; day++) {
    const times = Array.from({ length: 240 }, () => T0 + day * DAY + Math.floor(rand() * DAY) - (Math.floor(rand() * DAY) % 1000)).sort((a, b) => a - b);
    for (const ms of times) {
      const customer = Math.floor(rand() * 150);
      const terminal = Math.floor(rand() * 40);
      let amount = 5 + rand() * 150;
      let scenario = 0;
      if (rand() < 0.01) {
        amount = 230 + rand() * 200;
        scenario = 1;
      } else if (day >= 3 && (terminal === 3 || terminal === 4)) scenario = 2;
      lines.push(fdhLine(id++, ms, customer, terminal, amount, scenario));
      if (day >= 21) {
        rowsInTest += 1;
        if (scenario !== 0) fraudsInTest += 1;
      }
    }
  }
  return { text: `${lines.join('\n')}\n`, fraudsInTest, rowsInTest };
}

describe('npm run replay', () => {
  let dir: string;
  let redis: Redis;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'calmpay-replay-test-'));
    redis = new Redis(redisUrl());
  });
  afterAll(async () => {
    await redis.quit();
    rmSync(dir, { recursive: true, force: true });
  });

  it('never lets a label reach the payee flags before its delay has passed', async () => {
    // terminal 7: a fraud at day 0 10:00, reported at day 7 10:00; later transfers to it around then
    const at = (d: number, hms: string): number => Date.parse(`2018-04-0${1 + d}T${hms}Z`);
    const rows = [
      fdhLine(0, at(0, '10:00:00'), 1, 7, 50, 2),
      fdhLine(1, at(6, '23:59:59'), 2, 7, 50, 0),
      fdhLine(2, at(7, '09:59:59'), 3, 7, 50, 0),
      fdhLine(3, at(7, '10:00:00'), 4, 7, 50, 0),
      fdhLine(4, at(7, '10:00:01'), 5, 7, 50, 0),
    ];
    const file = path.join(dir, 'delay.csv');
    writeFileSync(file, `${HEADER}\n${rows.join('\n')}\n`);
    const col = MODEL_FEATURE_NAMES.indexOf('payee.report_count');
    const reportCounts = async (batchSize: number): Promise<number[]> => {
      const stats: SourceStats = { linesRead: 0, skippedZeroAmount: 0 };
      const source = fdhRows(file, { fromMs: 0, toMs: Date.parse('2018-05-01T00:00:00Z'), labelDelayDays: 7 }, stats);
      const set = await replayLabelled(redis, DEFAULT_AGE_BANDS, source, undefined, { batchSize });
      return Array.from({ length: set.data.nRows }, (_, i) => set.data.x[i * set.data.nFeatures + col]!);
    };
    // one event per batch: the report lands exactly at its time
    expect(await reportCounts(1)).toEqual([0, 0, 0, 1, 1]);
    // one batch for everything: the report is late (never applied), never early
    expect(await reportCounts(500)).toEqual([0, 0, 0, 0, 0]);
  });

  it('replays a synthetic handbook file end to end and reports the detection figures', async () => {
    const { text, fraudsInTest, rowsInTest } = syntheticCsv();
    const file = path.join(dir, 'synthetic.csv');
    writeFileSync(file, text);
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        '--import', 'tsx', 'src/cli/replay.ts',
        '--format', 'fdh', '--csv', file,
        '--from', '2018-04-01', '--train-from', '2018-04-08', '--train-to', '2018-04-14',
        '--test-from', '2018-04-22', '--test-to', '2018-04-28', '--batch-size', '50', '--max-rounds', '60',
      ],
      { env: { ...process.env, REDIS_URL: redisUrl() }, cwd: path.resolve(import.meta.dirname, '../..') },
    );
    const report = JSON.parse(stdout) as {
      windows: unknown;
      rows: { replayed: number; test: number; testFrauds: number; trainLabelNotYetKnown: number; train: number };
      gbdt: { metrics: { overall: Record<string, number>; byScenario: Record<string, Record<string, number>> } };
      logisticBaseline: { metrics: { overall: Record<string, number> } };
      handbookBaselines: { randomForest: { averagePrecision: number } };
    };
    expect(report.windows).toEqual({
      replayFrom: '2018-04-01',
      train: { from: '2018-04-08', to: '2018-04-14', earlyStoppingDays: 2 },
      test: { from: '2018-04-22', to: '2018-04-28' },
      labelDelayDays: 7,
    });
    expect(report.rows).toMatchObject({ replayed: 28 * 240, train: 7 * 240, trainLabelNotYetKnown: 0, test: rowsInTest, testFrauds: fraudsInTest });
    expect(Object.keys(report.gbdt.metrics.byScenario)).toEqual(['1', '2']);
    // scenario 1 is the amount, scenario 2 the payee's delayed reports: both must be found
    expect(report.gbdt.metrics.byScenario['1']!.rocAuc).toBeGreaterThan(0.95);
    expect(report.gbdt.metrics.byScenario['2']!.rocAuc).toBeGreaterThan(0.95);
    expect(report.gbdt.metrics.overall.averagePrecision).toBeGreaterThan(0.8);
    expect(report.logisticBaseline.metrics.overall.rocAuc).toBeGreaterThan(0.5);
    expect(report.handbookBaselines.randomForest.averagePrecision).toBe(0.658);
  }, 120_000);
});

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * `npm run train`, `npm run replay` and `npm run eval:segments` compute their features with the
 * score script's velocity model in memory (WindowReplay): they run with REDIS_URL naming a
 * port nothing listens on (the earlier code connected to it and failed). That the model gives
 * the script's vectors is test/integration/window-replay.test.ts's and replay.test.ts's.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const NO_REDIS = 'redis://127.0.0.1:1';
const run = (script: string, args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', `src/cli/${script}.ts`, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, REDIS_URL: NO_REDIS },
    timeout: 120_000,
  });

/** 10 days of a tiny handbook-format world, ~80 transfers a day, a fraud now and then. */
function tinyFdhCsv(): string {
  const t0 = Date.parse('2018-04-01T00:00:00Z');
  let seed = 7;
  const rand = (): number => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed / 2_147_483_648;
  };
  const lines = ['TRANSACTION_ID,TX_DATETIME,CUSTOMER_ID,TERMINAL_ID,TX_AMOUNT,TX_TIME_SECONDS,TX_TIME_DAYS,TX_FRAUD,TX_FRAUD_SCENARIO'];
  let id = 0;
  for (let day = 0; day < 10; day++) {
    const times = Array.from({ length: 80 }, () => t0 + day * 86_400_000 + Math.floor(rand() * 86_400_000)).sort((a, b) => a - b);
    for (const ms of times) {
      const fraud = rand() < 0.05;
      const amount = fraud ? 250 + rand() * 200 : 5 + rand() * 150;
      const s = Math.round((ms - t0) / 1000);
      const dt = new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
      lines.push(`${id++},${dt},${Math.floor(rand() * 60)},${Math.floor(rand() * 20)},${amount.toFixed(2)},${s},${Math.floor(s / 86_400)},${fraud ? 1 : 0},${fraud ? 1 : 0}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

describe('the training and evaluation tools without Redis', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'calmpay-no-redis-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('npm run train trains on the simulator', () => {
    const out = path.join(dir, 'models');
    const r = run('train', [
      '--payers', '150', '--days', '12', '--warmup-days', '2', '--valid-days', '3', '--test-days', '3', '--fraud-rate', '0.05',
      '--max-rounds', '5', '--version', 'noredis', '--out', out,
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['calmpay-gbdt-noredis.json', 'calmpay-gbdt-noredis.onnx']);
  }, 120_000);

  it('npm run replay replays a handbook-format file', () => {
    const csv = path.join(dir, 'tiny.csv');
    writeFileSync(csv, tinyFdhCsv());
    const r = run('replay', [
      '--format', 'fdh', '--csv', csv, '--from', '2018-04-01', '--train-from', '2018-04-01', '--train-to', '2018-04-05',
      '--test-from', '2018-04-08', '--test-to', '2018-04-10', '--label-delay-days', '1', '--max-rounds', '5', '--min-child-samples', '5',
    ]);
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { data: { rowsReplayed: number }; weeks: { rows: { test: number } }[] };
    expect(report.data.rowsReplayed).toBe(800);
    expect(report.weeks[0]!.rows.test).toBeGreaterThan(0);
  }, 120_000);

  it('npm run eval:segments scores the simulator', () => {
    const r = run('eval-segments', ['--payers', '200', '--days', '5', '--test-days', '2', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { data: { transfersScored: number } };
    expect(out.data.transfersScored).toBeGreaterThan(0);
  }, 120_000);
});

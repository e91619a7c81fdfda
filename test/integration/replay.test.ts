import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { DEFAULT_AGE_BANDS } from '../../src/features/build-vector.ts';
import { MODEL_FEATURE_NAMES } from '../../src/model/encode.ts';
import { runReplay } from '../../src/replay/replay-run.ts';
import { fdhRows, type SourceStats } from '../../src/replay/row-sources.ts';
import { loadRuleDir } from '../../src/rules/language/index.ts';
import { compileRuleSetFromText } from '../../src/rules/language/rule-set.ts';
import { replayLabelled } from '../../src/train/pipeline.ts';
import { FeatureReplay } from '../../src/features/feature-replay.ts';
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
function syntheticCsv(): { text: string; fraudsInTest: number; rowsInTest: number; rows: { customer: number; day: number; fraud: boolean }[] } {
  let seed = 12345;
  const rand = (): number => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed / 2_147_483_648;
  };
  const lines = [HEADER];
  let id = 0;
  let fraudsInTest = 0;
  let rowsInTest = 0;
  const rows: { customer: number; day: number; fraud: boolean }[] = [];
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
      rows.push({ customer, day, fraud: scenario !== 0 });
      if (day >= 21) {
        rowsInTest += 1;
        if (scenario !== 0) fraudsInTest += 1;
      }
    }
  }
  return { text: `${lines.join('\n')}\n`, fraudsInTest, rowsInTest, rows };
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
      const set = await replayLabelled(new FeatureReplay({ redis, ageBands: DEFAULT_AGE_BANDS, batchSize }), source);
      return Array.from({ length: set.data.nRows }, (_, i) => set.data.x[i * set.data.nFeatures + col]!);
    };
    // one event per batch: the report lands exactly at its time
    expect(await reportCounts(1)).toEqual([0, 0, 0, 1, 1]);
    // one batch for everything: the report is late (never applied), never early
    expect(await reportCounts(500)).toEqual([0, 0, 0, 0, 0]);
  });

  it('takes the engine decisions (active rules + policy) on a tiny hand-made file with a known answer', async () => {
    // rules: a reported payee holds (35 points), an amount of 220 or more warns (20 points)
    const rules = compileRuleSetFromText([
      {
        name: 'fdh.yaml',
        text: [
          '- {id: reported, description: reported payee, when: payee.report_count >= 1, score: 35, action: cool_off, scam_type: other}',
          '- {id: large, description: large amount, when: amount >= 220, score: 20, action: warn, scam_type: other}',
          '- {id: shadow-all, description: shadow, when: amount > 0, score: 99, action: block, scam_type: other, mode: shadow}',
        ].join('\n'),
      },
    ]);
    if (!rules.ok) throw new Error(JSON.stringify(rules.errors));
    const at = (d: number, hms: string): number => Date.parse(`2018-04-${String(1 + d).padStart(2, '0')}T${hms}Z`);
    const lines: string[] = [];
    let id = 0;
    // days 0..2 (training; day 2 chooses the number of trees): 40 ordinary transfers a day to t-100..t-139
    // and, on day 0, two frauds whose reports (day 7) flag payees t-1 and t-3
    lines.push(fdhLine(id++, at(0, '01:00:00'), 1, 1, 50, 2));
    lines.push(fdhLine(id++, at(0, '01:30:00'), 3, 3, 300, 1));
    for (let d = 0; d < 3; d++) {
      for (let k = 0; k < 40; k++) lines.push(fdhLine(id++, at(d, '02:00:00') + k * 60_000, 100 + k, 100 + k, 10 + k, 0));
    }
    // the test days 10 and 11
    const test: [string, number, number, number, number][] = [
      ['10:00:00', 7, 1, 60, 2], //   fraud to reported t-1: cool_off
      ['10:01:00', 8, 1, 45, 0], //   legitimate to reported t-1: cool_off
      ['10:02:00', 9, 6, 500, 1], //  fraud, large: warn
      ['10:03:00', 2, 2, 30, 0], //   legitimate: allow
      ['10:04:00', 4, 4, 250, 0], //  legitimate, large: warn
      ['10:05:00', 10, 3, 80, 0], //  legitimate to reported t-3: cool_off
    ];
    for (const [hms, c, t, amount, scen] of test) lines.push(fdhLine(id++, at(10, hms), c, t, amount, scen));
    lines.push(fdhLine(id++, at(11, '09:00:00'), 3, 3, 350, 1)); // fraud, large, to reported t-3: 55 points, cool_off
    lines.push(fdhLine(id++, at(11, '09:01:00'), 5, 5, 20, 0)); //  legitimate: allow
    const file = path.join(dir, 'decisions.csv');
    writeFileSync(file, `${HEADER}\n${lines.join('\n')}\n`);
    const window = { fromMs: at(0, '00:00:00'), toMs: at(12, '00:00:00'), labelDelayDays: 7 };
    const outcome = await runReplay({
      ageBands: loadConfig({}, dir).features.ageBands,
      policy: loadConfig({}, dir).scoring,
      ruleSet: rules.ruleSet,
      rows: fdhRows(file, window, { linesRead: 0, skippedZeroAmount: 0 }),
      windows: [
        {
          fromMs: window.fromMs,
          trainFromMs: window.fromMs,
          trainToMs: at(3, '00:00:00'),
          testFromMs: at(10, '00:00:00'),
          testToMs: window.toMs,
          labelDelayDays: 7,
          validDays: 1,
        },
      ],
      // no split can be made: the model scores every row with the training base rate (2 / 122),
      // below the warn threshold, so the engine decides as its rules do
      gbdt: { minChildSamples: 1_000, maxRounds: 5 },
      batchSize: 1,
    });
    expect(outcome.weeks).toHaveLength(1);
    const week = outcome.weeks[0]!;
    expect(week.rows).toMatchObject({ train: 122, trainFrauds: 2, test: 8, testFrauds: 3 });
    for (const d of [week.decisions.engine, week.decisions.rulesOnly]) {
      expect(d.legitimate.counts).toEqual({ allow: 2, warn: 1, cool_off: 2, block: 0 });
      expect(d.legitimate.holdRate).toBe(0.4);
      expect(d.fraud.counts).toEqual({ allow: 0, warn: 1, cool_off: 2, block: 0 });
      expect(d.fraudByScenario['1']!.counts).toEqual({ allow: 0, warn: 1, cool_off: 1, block: 0 });
      expect(d.fraudByScenario['2']!.counts).toEqual({ allow: 0, warn: 0, cool_off: 1, block: 0 });
      expect(d.byAgeBand).toEqual({ unavailable: expect.stringContaining('no payer ages') });
      expect(d.ruleErrors).toBe(0);
    }
    // per rule (issue 16): the frauds caught are rows 1 (60), 3 (500) and 7 (350, both rules)
    const perf = week.rulePerformance;
    expect(perf).toMatchObject({ transfers: 8, legitimate: 5, fraud: { transfers: 3, amount: { EUR: 910 } }, caughtFraud: { transfers: 3, amount: { EUR: 910 } } });
    expect(perf.legitimateRates).toEqual({ warn: 0.2, cool_off: 0.4, block: 0 });
    const rule = (id: string) => perf.rules.find((r) => r.ruleId === id)!;
    expect(rule('reported')).toMatchObject({
      mode: 'active',
      hits: 4,
      fraudHits: 2,
      precision: 0.5,
      legitimateHitRate: 0.4,
      legitimateInterventions: { warn: 0, cool_off: 2, block: 0 },
      caughtFraud: { transfers: 2, amount: { EUR: 410 } },
      caughtFraudShare: 2 / 3,
      // row 1 only: row 7 is warned by `large` without it
      uniqueCatches: { transfers: 1, amount: { EUR: 60 } },
      // spends the hold budget, but is the only catch of a third of the caught fraud
      flagged: false,
    });
    expect(rule('large')).toMatchObject({ hits: 3, fraudHits: 2, legitimateHitRate: 0.2, uniqueCatches: { transfers: 1, amount: { EUR: 500 } }, flagged: false });
    expect(rule('shadow-all')).toMatchObject({ mode: 'shadow', hits: 8, fraudHits: 3, precision: 3 / 8, caughtFraud: { transfers: 0 }, missedFraudHits: 0, uniqueCatches: { transfers: 0 } });
  }, 60_000);

  it('reports the same weeks from the in-memory replay (the default) as from the score script on Redis', async () => {
    const { text } = syntheticCsv();
    const file = path.join(dir, 'parity.csv');
    writeFileSync(file, text);
    const config = loadConfig({}, dir);
    const rules = await loadRuleDir(path.resolve(import.meta.dirname, '../../rules'));
    if (!rules.ok) throw new Error(JSON.stringify(rules.errors));
    const first = {
      fromMs: T0,
      trainFromMs: T0,
      trainToMs: T0 + 7 * DAY,
      testFromMs: T0 + 14 * DAY,
      testToMs: T0 + 21 * DAY,
      labelDelayDays: 7,
      validDays: 2,
    };
    const windows = [first, { ...first, trainFromMs: first.trainFromMs + 7 * DAY, trainToMs: first.trainToMs + 7 * DAY, testFromMs: first.testFromMs + 7 * DAY, testToMs: first.testToMs + 7 * DAY }];
    const run = (features?: FeatureReplay) =>
      runReplay({
        ageBands: config.features.ageBands,
        policy: config.scoring,
        ruleSet: rules.ruleSet,
        rows: fdhRows(file, { fromMs: T0, toMs: T0 + 28 * DAY, labelDelayDays: 7 }, { linesRead: 0, skippedZeroAmount: 0 }),
        windows,
        gbdt: { maxRounds: 30 },
        batchSize: 100,
        ...(features === undefined ? {} : { features }),
      });
    // all but the timings
    const figures = (o: Awaited<ReturnType<typeof run>>) => ({ replayed: o.replayed, weeks: o.weeks.map(({ trainSeconds: _t, ...w }) => w) });
    const onRedis = figures(await run(new FeatureReplay({ redis, ageBands: config.features.ageBands, batchSize: 100 })));
    const inMemory = figures(await run());
    expect(onRedis.replayed).toBe(28 * 240);
    expect(onRedis.weeks[1]!.decisions.engine.fraud.transfers).toBeGreaterThan(0);
    expect(inMemory).toEqual(onRedis);
  }, 180_000);

  it('replays a synthetic handbook file end to end over two test weeks and reports the detection figures and decisions', async () => {
    const { text, fraudsInTest, rowsInTest, rows } = syntheticCsv();
    const file = path.join(dir, 'synthetic.csv');
    writeFileSync(file, text);
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [
        '--import', 'tsx', 'src/cli/replay.ts',
        '--format', 'fdh', '--csv', file,
        '--from', '2018-04-01', '--train-from', '2018-04-01', '--train-to', '2018-04-07',
        '--test-from', '2018-04-15', '--test-to', '2018-04-21', '--weeks', '2',
        '--batch-size', '50', '--max-rounds', '60',
      ],
      { env: { ...process.env, REDIS_URL: redisUrl() }, cwd: path.resolve(import.meta.dirname, '../..') },
    );
    type Metrics = { overall: Record<string, number>; byScenario: Record<string, Record<string, number>> };
    type Rates = { transfers: number; warnRate: number; holdRate: number; blockRate: number; interventionRate: number };
    const report = JSON.parse(stdout) as {
      data: { replayFrom: string; rowsReplayed: number };
      rules: { version: string; rules: number };
      weeks: {
        windows: unknown;
        rows: { test: number; testFrauds: number; trainLabelNotYetKnown: number; train: number };
        gbdt: { metrics: Metrics };
        logisticBaseline: { metrics: { overall: Record<string, number> } };
        handbookTestSet: { rows: number; frauds: number; leftOutRows: number; leftOutFrauds: number; gbdt: Metrics };
        decisions: { engine: { legitimate: Rates; fraud: Rates; byAgeBand: unknown }; rulesOnly: { legitimate: Rates; fraud: Rates } };
      }[];
      summary: { weeks: { testWeek: string; averagePrecision: number }[]; mean: { testWeek: string; averagePrecision: number } };
      handbookBaselines: { randomForest: { averagePrecision: number } };
    };
    expect(report.data).toMatchObject({ replayFrom: '2018-04-01', rowsReplayed: 28 * 240 });
    expect(report.rules.version).toMatch(/^files-[0-9a-f]{12}$/);
    expect(report.weeks.map((w) => w.windows)).toEqual([
      { train: { from: '2018-04-01', to: '2018-04-07', earlyStoppingDays: 2 }, test: { from: '2018-04-15', to: '2018-04-21' }, labelDelayDays: 7 },
      { train: { from: '2018-04-08', to: '2018-04-14', earlyStoppingDays: 2 }, test: { from: '2018-04-22', to: '2018-04-28' }, labelDelayDays: 7 },
    ]);
    const last = report.weeks[1]!;
    expect(last.rows).toMatchObject({ train: 7 * 240, trainLabelNotYetKnown: 0, test: rowsInTest, testFrauds: fraudsInTest });
    // scenario 2 (terminals compromised from day 3) is first reported on day 10: the first
    // week's training rows have no report on them yet, the second week's do
    expect(last.gbdt.metrics.byScenario['2']!.rocAuc).toBeGreaterThan(0.95);
    expect(last.gbdt.metrics.overall.averagePrecision).toBeGreaterThan(0.8);
    for (const week of report.weeks) {
      expect(Object.keys(week.gbdt.metrics.byScenario)).toEqual(['1', '2']);
      // scenario 1 is the amount
      expect(week.gbdt.metrics.byScenario['1']!.rocAuc).toBeGreaterThan(0.95);
      expect(week.logisticBaseline.metrics.overall.rocAuc).toBeGreaterThan(0.5);
      // the shipped rules hold every transfer to a reported payee (in this 40-terminal world,
      // scenario 1's reports flag most terminals within weeks); the model's score only adds
      const { engine, rulesOnly } = week.decisions;
      expect(engine.legitimate.transfers + engine.fraud.transfers).toBe(week.rows.test);
      expect(rulesOnly.fraud.holdRate + rulesOnly.fraud.blockRate).toBeGreaterThan(0.5);
      for (const side of ['legitimate', 'fraud'] as const) {
        expect(engine[side].interventionRate).toBeGreaterThanOrEqual(rulesOnly[side].interventionRate);
      }
      expect(engine.fraud.interventionRate).toBeGreaterThan(engine.legitimate.interventionRate);
      expect(engine.byAgeBand).toEqual({ unavailable: expect.stringContaining('no payer ages') });
    }
    expect(report.summary.weeks.map((w) => w.testWeek)).toEqual(['2018-04-15..2018-04-21', '2018-04-22..2018-04-28']);
    expect(report.summary.mean.averagePrecision).toBeCloseTo(
      (report.weeks[0]!.gbdt.metrics.overall.averagePrecision! + last.gbdt.metrics.overall.averagePrecision!) / 2,
      3,
    );
    expect(stderr).toContain('| 2018-04-22..2018-04-28 |');
    expect(report.handbookBaselines.randomForest.averagePrecision).toBe(0.658);

    // the handbook's test set of the second week (train days 7..13, test days 21..27), its
    // get_train_test_set written out: the training week's frauds, then day 13 + k for test day 21 + k
    const known = new Set(rows.filter((r) => r.fraud && r.day >= 7 && r.day < 14).map((r) => r.customer));
    let kept = 0;
    let keptFrauds = 0;
    for (let k = 0; k < 7; k++) {
      for (const r of rows) if (r.fraud && r.day === 13 + k) known.add(r.customer);
      for (const r of rows) {
        if (r.day === 21 + k && !known.has(r.customer)) {
          kept += 1;
          keptFrauds += r.fraud ? 1 : 0;
        }
      }
    }
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(rowsInTest);
    expect(last.handbookTestSet).toMatchObject({ rows: kept, frauds: keptFrauds, leftOutRows: rowsInTest - kept, leftOutFrauds: fraudsInTest - keptFrauds });
    expect(last.handbookTestSet.gbdt.overall['rows']).toBe(kept);
    expect(stderr).toContain("the handbook's test set");
  }, 180_000);

  it('refuses bad options, naming each', async () => {
    const run = promisify(execFile)(
      process.execPath,
      [
        '--import', 'tsx', 'src/cli/replay.ts', '--csv', '/nonexistent.csv', '--train-from', '2018-04-02', '--train-to', '2018-04-07',
        '--test-from', '2018-04-15', '--test-to', '2018-04-21', '--weeks', '0', '--learning-rate', '2', '--max-leaves', '3.5', '--fraud-weight', '0',
      ],
      { cwd: path.resolve(import.meta.dirname, '../..') },
    );
    await expect(run).rejects.toMatchObject({ code: 2 });
    const { stderr } = (await run.catch((e: unknown) => e)) as { stderr: string };
    expect(stderr).toContain('--csv: no such file /nonexistent.csv');
    expect(stderr).toContain('--weeks must be an integer >= 1, got "0"');
    // the GBDT options' messages are npm run train's (one parser: src/cli/gbdt-options.ts)
    expect(stderr).toContain('--learning-rate must be greater than 0 and at most 1, got "2"');
    expect(stderr).toContain('--max-leaves must be an integer >= 2, got "3.5"');
    expect(stderr).toContain('--fraud-weight must be an integer >= 1, got "0"');
  }, 60_000);

  it("takes train's spellings of the GBDT options too, and names them when bad", async () => {
    const run = promisify(execFile)(
      process.execPath,
      [
        '--import', 'tsx', 'src/cli/replay.ts', '--csv', '/nonexistent.csv', '--train-from', '2018-04-02', '--train-to', '2018-04-07',
        '--test-from', '2018-04-15', '--test-to', '2018-04-21', '--early-stopping', '5', '--min-child-weight=-1', '--min-child-samples', '10',
      ],
      { cwd: path.resolve(import.meta.dirname, '../..') },
    );
    await expect(run).rejects.toMatchObject({ code: 2 });
    const { stderr } = (await run.catch((e: unknown) => e)) as { stderr: string };
    expect(stderr.split('\n').filter((l) => l.startsWith('--'))).toEqual([
      '--csv: no such file /nonexistent.csv',
      '--min-child-weight must be a number >= 0, got "-1"',
    ]);
  }, 60_000);
});

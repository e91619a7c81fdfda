import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_AGE_BANDS } from '../../src/features/build-vector.ts';
import { WindowReplay } from '../../src/features/window-replay.ts';
import { MODEL_FEATURE_NAMES } from '../../src/model/encode.ts';
import { actionRates, type DecisionReport } from '../../src/replay/replay-decisions.ts';
import { flagBaseline } from '../../src/replay/paysim-baseline.ts';
import { checkPaySimHeader, emptyPaySimStats, parsePaySimRow, PAYSIM_COLUMNS, paysimReplayRow, type FlagDay } from '../../src/replay/paysim-row.ts';
import type { ReplayRow } from '../../src/replay/replay-row.ts';
import { paysimRows, type SourceStats } from '../../src/replay/row-sources.ts';
import { replayLabelled } from '../../src/train/pipeline.ts';

const HEADER = PAYSIM_COLUMNS.join(',');
const START = Date.parse('2025-01-01T00:00:00Z');
const HOUR = 3_600_000;
const DAY = 86_400_000;
const MAPPING = { startMs: START, currency: 'CNY', labelDelayDays: 7 };
const GOOD = '1,TRANSFER,181.00,C1305486145,181.0,0.0,C553264065,0.0,0.0,1,0';

/** A good line with one column replaced (1-based). */
function withColumn(k: number, value: string): string {
  const f = GOOD.split(',');
  f[k - 1] = value;
  return f.join(',');
}

describe('PaySim rows', () => {
  it('reads a good row of each type', () => {
    expect(parsePaySimRow(GOOD, 2)).toEqual({
      lineNo: 2, step: 1, type: 'TRANSFER', amount: 181, nameOrig: 'C1305486145', nameDest: 'C553264065', fraud: true, flaggedFraud: false,
    });
    expect(parsePaySimRow('743,CASH_OUT,850002.52,C1280323807,850002.52,0.0,C873221189,6510099.11,7360101.63,1,0\r', 9)).toMatchObject({
      step: 743, type: 'CASH_OUT', amount: 850002.52, fraud: true,
    });
    expect(parsePaySimRow('1,PAYMENT,9839.64,C1231006815,170136.0,160296.36,M1979787155,0.0,0.0,0,0', 3)).toMatchObject({ type: 'PAYMENT', nameDest: 'M1979787155', fraud: false });
    expect(parsePaySimRow('1,CASH_IN,20,C1,0,20,C2,100,80,0,0', 4).type).toBe('CASH_IN');
    expect(parsePaySimRow('1,DEBIT,5337.77,C712410124,41720.0,36382.23,C195600860,41898.0,40348.79,0,0', 5).type).toBe('DEBIT');
    expect(parsePaySimRow('2,TRANSFER,250000,C1,250000,0,C2,0,0,0,1', 6).flaggedFraud).toBe(true);
    expect(() => checkPaySimHeader(HEADER)).not.toThrow();
    expect(() => checkPaySimHeader(`\uFEFF${HEADER}\r`)).not.toThrow();
  });

  it('maps a fraud TRANSFER to an event at its step hour and a report on the mule payee label-delay days later', () => {
    const row = parsePaySimRow('26,TRANSFER,181.00,C1305486145,181.0,0.0,C553264065,0.0,0.0,1,0', 40);
    expect(paysimReplayRow(row, MAPPING)).toEqual({
      event: {
        transferId: 'ps-40',
        occurredAt: '2025-01-02T01:00:00.000Z',
        amount: 181,
        currency: 'CNY',
        payer: { accountId: 'C1305486145' },
        payee: { accountId: 'C553264065' },
      },
      fraud: true,
      report: { caseId: 'ps-40', reporter: 'victim:ps-40', atMs: START + 25 * HOUR + 7 * DAY },
      scenario: 'TRANSFER',
    });
  });

  it('scores a fraud CASH_OUT without a report (its payee is the cash-out agent) and a legitimate transfer without either', () => {
    const cashOut = paysimReplayRow(parsePaySimRow('1,CASH_OUT,181.0,C840083671,181.0,0.0,C38997010,21182.0,0.0,1,0', 3), MAPPING);
    expect([cashOut.fraud, cashOut.report, cashOut.scenario, cashOut.context]).toEqual([true, null, 'CASH_OUT', undefined]);
    const legit = paysimReplayRow(parsePaySimRow('1,TRANSFER,50,C1,100,50,C2,0,50,0,0', 4), MAPPING);
    expect([legit.fraud, legit.report, legit.scenario, legit.context]).toEqual([false, null, '0', undefined]);
    expect(legit.event.occurredAt).toBe('2025-01-01T00:00:00.000Z');
  });

  it('makes PAYMENT and DEBIT context from nameOrig, and CASH_IN context into nameOrig from the agent', () => {
    const payment = paysimReplayRow(parsePaySimRow('3,PAYMENT,9.5,C1,100,90.5,M7,0,0,0,0', 5), MAPPING);
    expect(payment).toMatchObject({ context: true, fraud: false, report: null, scenario: '0' });
    expect([payment.event.payer.accountId, payment.event.payee.accountId]).toEqual(['C1', 'M7']);
    const debit = paysimReplayRow(parsePaySimRow('3,DEBIT,9.5,C1,100,90.5,C8,0,0,0,0', 6), MAPPING);
    expect([debit.context, debit.event.payer.accountId, debit.event.payee.accountId]).toEqual([true, 'C1', 'C8']);
    const cashIn = paysimReplayRow(parsePaySimRow('3,CASH_IN,9.5,C1,100,109.5,C9,500,490.5,0,0', 7), MAPPING);
    expect([cashIn.context, cashIn.event.payer.accountId, cashIn.event.payee.accountId]).toEqual([true, 'C9', 'C1']);
    // a context row PaySim labels fraud is not evaluated
    expect(paysimReplayRow(parsePaySimRow('3,PAYMENT,9.5,C1,100,90.5,M7,0,0,1,0', 8), MAPPING)).toMatchObject({ context: true, fraud: false, report: null });
  });

  it('names the line and the column of each malformed value', () => {
    const cases: [string, string][] = [
      [withColumn(1, '0'), 'step (column 1) must be a positive integer (hours from 1), got "0"'],
      [withColumn(1, '1.5'), 'step (column 1) must be a positive integer (hours from 1), got "1.5"'],
      [withColumn(2, 'REFUND'), 'type (column 2) must be one of CASH_IN, CASH_OUT, DEBIT, PAYMENT, TRANSFER, got "REFUND"'],
      [withColumn(2, 'transfer'), 'type (column 2) must be one of'],
      [withColumn(3, '-3'), 'amount (column 3) must be a non-negative decimal number, got "-3"'],
      [withColumn(3, '1e5'), 'amount (column 3) must be a non-negative decimal number, got "1e5"'],
      [withColumn(3, ''), 'amount (column 3) must be a non-negative decimal number, got ""'],
      [withColumn(3, '2000000000000'), 'amount (column 3) must be at most 1e12, got "2000000000000"'],
      [withColumn(4, 'M123'), 'nameOrig (column 4) must be a customer id, C and digits, got "M123"'],
      [withColumn(4, 'C12x'), 'nameOrig (column 4) must be a customer id, C and digits, got "C12x"'],
      [withColumn(5, 'NaN'), 'oldbalanceOrg (column 5) must be a non-negative decimal number, got "NaN"'],
      [withColumn(6, '-1.0'), 'newbalanceOrig (column 6) must be a non-negative decimal number, got "-1.0"'],
      [withColumn(7, 'X553264065'), 'nameDest (column 7) must be C or M and digits, got "X553264065"'],
      [withColumn(7, 'C1305486145'), 'nameDest (column 7) must differ from nameOrig, both are "C1305486145"'],
      [withColumn(8, 'abc'), 'oldbalanceDest (column 8) must be a non-negative decimal number, got "abc"'],
      [withColumn(9, ''), 'newbalanceDest (column 9) must be a non-negative decimal number, got ""'],
      [withColumn(10, '2'), 'isFraud (column 10) must be 0 or 1, got "2"'],
      [withColumn(11, 'true'), 'isFlaggedFraud (column 11) must be 0 or 1, got "true"'],
    ];
    for (const [line, message] of cases) expect(() => parsePaySimRow(line, 17), line).toThrow(`line 17: ${message}`);
    // every problem of a line at once
    expect(() => parsePaySimRow('x,REFUND,-1,C1,0,0,C2,0,0,1,0', 5)).toThrow(
      'line 5: step (column 1) must be a positive integer (hours from 1), got "x"; type (column 2) must be one of CASH_IN, CASH_OUT, DEBIT, PAYMENT, TRANSFER, got "REFUND"; ' +
        'amount (column 3) must be a non-negative decimal number, got "-1"',
    );
    expect(() => parsePaySimRow('1,TRANSFER,5', 8)).toThrow('line 8: expected 11 columns, got 3: 1,TRANSFER,5');
    expect(() => parsePaySimRow(`${GOOD},extra`, 9)).toThrow('line 9: expected 11 columns, got 12');
  });

  it('names the header column that differs', () => {
    expect(() => checkPaySimHeader(HEADER.replace('oldbalanceOrg', 'oldbalanceOrig'))).toThrow(
      'line 1: not a PaySim file (column 5 is "oldbalanceOrig", expected "oldbalanceOrg"): expected the header step,type,amount,',
    );
    expect(() => checkPaySimHeader('TRANSACTION_ID,TX_DATETIME')).toThrow('line 1: not a PaySim file (column 1 is "TRANSACTION_ID", expected "step")');
    expect(() => checkPaySimHeader(`${HEADER},note`)).toThrow('line 1: not a PaySim file (12 columns instead of 11)');
  });
});

describe('PaySim files', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'calmpay-paysim-unit-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const read = async (lines: readonly string[], fromMs = START, toMs = START + 30 * DAY) => {
    const file = path.join(dir, `f-${Math.random().toString(36).slice(2)}.csv`);
    writeFileSync(file, `${[HEADER, ...lines].join('\n')}\n`);
    const stats: SourceStats = { linesRead: 0, skippedZeroAmount: 0 };
    const paysim = emptyPaySimStats();
    const rows: ReplayRow[] = [];
    for await (const r of paysimRows(file, { fromMs, toMs, labelDelayDays: 7, startMs: START, currency: 'CNY' }, stats, paysim)) rows.push(r);
    return { file, rows, stats, paysim };
  };

  it('reads the rows in the window, skips amounts of 0 and counts the types and PaySim flags per day', async () => {
    const { rows, stats, paysim } = await read([
      '1,PAYMENT,10,C1,100,90,M1,0,0,0,0',
      '1,TRANSFER,0,C1,90,90,C2,0,0,1,0', // amount 0: the engine refuses it
      '24,TRANSFER,250000,C3,250000,0,C4,0,0,1,1',
      '25,CASH_OUT,250000,C4,250000,0,C5,0,0,1,0',
      '25,TRANSFER,300000,C6,300000,0,C7,0,0,0,1',
      '49,CASH_IN,5,C1,0,5,C5,10,5,0,0',
      '73,TRANSFER,5,C1,5,0,C2,0,5,0,0', // past the window: reading stops here
      '74,TRANSFER,5,C1,5,0,C2,0,5,0,0',
    ], START, START + 3 * DAY);
    expect(rows.map((r) => [r.event.transferId, r.context === true])).toEqual([['ps-2', true], ['ps-4', false], ['ps-5', false], ['ps-6', false], ['ps-7', true]]);
    expect(stats).toEqual({ linesRead: 7, skippedZeroAmount: 1 });
    expect(paysim.byType).toMatchObject({ PAYMENT: { rows: 1 }, CASH_IN: { rows: 1 }, TRANSFER: { rows: 2, frauds: 1, flagged: 2 }, CASH_OUT: { rows: 1, frauds: 1 } });
    const day0 = START / DAY;
    expect(Object.fromEntries(paysim.flagDays)).toEqual({
      [day0]: { transfers: 1, frauds: 1, flagged: 1, flaggedFrauds: 1 },
      [day0 + 1]: { transfers: 2, frauds: 1, flagged: 1, flaggedFrauds: 0 },
    });
  });

  it('stops at a malformed row or header, naming the file, line and column', async () => {
    await expect(read(['1,PAYMENT,10,C1,100,90,M1,0,0,0,0', '2,PAYMENT,ten,C1,100,90,M1,0,0,0,0'])).rejects.toThrow(
      /\/f-[a-z0-9]+\.csv: line 3: amount \(column 3\) must be a non-negative decimal number, got "ten"$/,
    );
    const file = path.join(dir, 'fdh-header.csv');
    writeFileSync(file, 'TRANSACTION_ID,TX_DATETIME\n1,2\n');
    const it = paysimRows(file, { fromMs: START, toMs: START + DAY, labelDelayDays: 7, startMs: START, currency: 'CNY' }, { linesRead: 0, skippedZeroAmount: 0 }, emptyPaySimStats());
    await expect(it.next()).rejects.toThrow(`${file}: line 1: not a PaySim file (column 1 is "TRANSACTION_ID", expected "step")`);
  });

  it('refuses steps out of order', async () => {
    await expect(read(['5,PAYMENT,10,C1,100,90,M1,0,0,0,0', '4,PAYMENT,10,C1,100,90,M1,0,0,0,0'])).rejects.toThrow(':3: rows must be in time order');
  });

  it('feeds context rows into the accounts history: a PAYMENT is the payer spending, a CASH_IN the customer receiving', async () => {
    const { rows } = await read([
      '1,PAYMENT,10,C1,100,90,M1,0,0,0,0',
      '1,CASH_IN,500,C2,0,500,C9,1000,500,0,0',
      '1,TRANSFER,40,C1,90,50,C2,500,540,0,0',
    ]);
    // as runReplay replays: context rows are not kept as rows of the dataset
    const set = await replayLabelled(new WindowReplay({ ageBands: DEFAULT_AGE_BANDS, batchSize: 1 }), rows, undefined, { keep: (r) => r.context !== true });
    expect([set.events, set.data.nRows]).toEqual([3, 1]);
    const at = (row: number, name: string): number => {
      const k = MODEL_FEATURE_NAMES.indexOf(name);
      if (k < 0) throw new Error(`no model feature ${name}`);
      return set.data.x[row * set.data.nFeatures + k]!;
    };
    // the transfer (the one row) sees the payment before it as C1's spending, the cash-in as C2's incoming money
    expect([at(0, 'payer.out_count_24h'), at(0, 'payer.out_sum_24h')]).toEqual([1, 10]);
    expect([at(0, 'payee.in_count_24h'), at(0, 'payee.in_sum_24h')]).toEqual([1, 500]);
  });
});

describe("PaySim's isFlaggedFraud next to calmpay's decisions", () => {
  const decisions = (legit: Parameters<typeof actionRates>[0], fraud: Parameters<typeof actionRates>[0]): DecisionReport => ({
    legitimate: actionRates(legit),
    fraud: actionRates(fraud),
    fraudValueInterventionRate: Number.NaN,
    fraudByScenario: {},
    byAgeBand: { unavailable: 'none' },
    ruleErrors: 0,
  });
  const days = new Map<number, FlagDay>([
    [START / DAY - 1, { transfers: 100, frauds: 50, flagged: 50, flaggedFrauds: 50 }], // before the window
    [START / DAY, { transfers: 6, frauds: 3, flagged: 2, flaggedFrauds: 1 }],
    [START / DAY + 1, { transfers: 4, frauds: 1, flagged: 1, flaggedFrauds: 1 }],
  ]);

  it('gives precision and recall of the flag, of any intervention and of holds and blocks over the window', () => {
    const engine = decisions(['allow', 'allow', 'allow', 'warn', 'cool_off', 'allow'], ['block', 'cool_off', 'warn', 'allow']);
    expect(flagBaseline(days, START, START + 2 * DAY, engine)).toEqual({
      transfers: 10,
      frauds: 4,
      paysimIsFlaggedFraud: { alerts: 3, caught: 2, precision: 2 / 3, recall: 0.5 },
      calmpayAnyIntervention: { alerts: 5, caught: 3, precision: 0.6, recall: 0.75 },
      calmpayHoldOrBlock: { alerts: 3, caught: 2, precision: 2 / 3, recall: 0.5 },
    });
  });

  it('refuses decisions that do not count the same transfers', () => {
    const engine = decisions(['allow'], ['block']);
    expect(() => flagBaseline(days, START, START + 2 * DAY, engine)).toThrow('the PaySim flag counts 10 transfers (4 fraud) in the window, the decisions 2 (1)');
  });
});

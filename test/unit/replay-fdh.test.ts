import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkFdhHeader, fdhReplayRow, parseFdhRow } from '../../src/replay/fdh-row.ts';
import { fdhRows, type SourceStats } from '../../src/replay/row-sources.ts';

const REAL = new URL('../../../shared/data/fdh/fdh_2018-04-01_2018-07-31.csv.gz', import.meta.url).pathname;

describe('FDH rows as transfer events', () => {
  it('maps a fraud row to the event and a report due label-delay days later', () => {
    const row = parseFdhRow('42,2018-07-04 10:15:00,596,3156,57.16,8332500,94,1,2', 44);
    expect(fdhReplayRow(row, 7)).toEqual({
      event: {
        transferId: 'fdh-42',
        occurredAt: '2018-07-04T10:15:00Z',
        amount: 57.16,
        currency: 'EUR',
        payer: { accountId: 'c-596' },
        payee: { accountId: 't-3156' },
      },
      fraud: true,
      report: { caseId: 'fdh-42', reporter: 'bank:fdh-42', atMs: Date.parse('2018-07-11T10:15:00Z') },
      scenario: '2',
    });
  });

  it('gives a legitimate row no report', () => {
    const r = fdhReplayRow(parseFdhRow('7,2018-04-01 00:09:29,4128,8737,64.49,569,0,0,0', 9), 7);
    expect([r.fraud, r.report, r.scenario]).toEqual([false, null, '0']);
  });

  it('names the line and every malformed column', () => {
    expect(() => parseFdhRow('x,2018-07-04 10:15,596,,57.16,1,1,2,0', 12)).toThrow(
      'line 12: TRANSACTION_ID must be a non-negative integer, got "x"; TX_DATETIME must be YYYY-MM-DD HH:MM:SS, got "2018-07-04 10:15"; ' +
        'TERMINAL_ID must be a non-negative integer, got ""; TX_FRAUD must be 0 or 1, got "2"',
    );
    expect(() => parseFdhRow('1,2018-07-04 10:15:00,5,6,-3,1,1,1,0', 3)).toThrow(
      'line 3: TX_AMOUNT must be a non-negative decimal number, got "-3"; TX_FRAUD_SCENARIO 0 contradicts TX_FRAUD 1',
    );
    expect(() => parseFdhRow('1,2,3', 5)).toThrow('line 5: expected 9 columns, got 3: 1,2,3');
    expect(() => checkFdhHeader('ID,WHEN')).toThrow('not a Fraud Detection Handbook file: expected the header TRANSACTION_ID,TX_DATETIME,');
  });

  it.skipIf(!existsSync(REAL))(`reads the first rows of the real file (skipped: ${REAL} is absent)`, async () => {
    const stats: SourceStats = { linesRead: 0, skippedZeroAmount: 0 };
    const rows = [];
    const w = { fromMs: Date.parse('2018-04-01T00:00:00Z'), toMs: Date.parse('2018-04-01T00:10:00Z'), labelDelayDays: 7 };
    for await (const r of fdhRows(REAL, w, stats)) rows.push(r);
    expect(rows.map((r) => [r.event.transferId, r.event.occurredAt, r.event.payer.accountId, r.event.payee.accountId, r.event.amount])).toEqual([
      ['fdh-0', '2018-04-01T00:00:31Z', 'c-596', 't-3156', 57.16],
      ['fdh-1', '2018-04-01T00:02:10Z', 'c-4961', 't-3412', 81.51],
      ['fdh-2', '2018-04-01T00:07:56Z', 'c-2', 't-1365', 146],
      ['fdh-3', '2018-04-01T00:09:29Z', 'c-4128', 't-8737', 64.49],
    ]);
    // reading stops at the first row past the window
    expect(stats.linesRead).toBe(5);
  });
});

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaseListSchema, ReportResponseSchema } from '../../src/cases/case-schema.ts';
import { reporterDigest } from '../../src/cases/report-flags.ts';
import { FEATURES, idx, type FeatureValue } from '../../src/features/catalogue.ts';
import { FIXTURE_RULES, testApp, startedApp } from '../helpers/app.ts';
import { streamFeatures } from '../helpers/decision-stream.ts';
import { paid, recordPaid } from '../helpers/decision-rows.ts';
import { SQL_BACKENDS, testSql } from '../helpers/sql.ts';
import { until } from '../helpers/until.ts';

type TestApp = Awaited<ReturnType<typeof testApp>>;

const NOW = Date.parse('2026-11-21T03:10:00Z');
const HOUR = 3_600_000;
const iso = (ms: number): string => new Date(ms).toISOString();

function report(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    reporter: { type: 'victim' },
    payer: { accountId: 'p-1' },
    payee: { accountId: 'q-1', name: 'Officer Wang' },
    transferIds: ['t-1'],
    amountLost: 48000,
    currency: 'CNY',
    scamType: 'impersonation',
    channel: 'phone',
    narrative: 'A caller claiming to be the police asked me to move my savings to a safe account.',
    scamAt: '2026-11-20T10:00:00Z',
    ...over,
  };
}

function transfer(transferId: string, payerId: string, payeeId: string, occurredAt: string): Record<string, unknown> {
  return { transferId, occurredAt, amount: 500, currency: 'CNY', payer: { accountId: payerId }, payee: { accountId: payeeId } };
}

async function postAsIs(app: TestApp, url: string, body: unknown) {
  return app.server.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) });
}

type ReportShape = { payer: { accountId: string }; payee: { accountId: string }; transferIds: string[] };
const isReportShape = (b: unknown): b is ReportShape => {
  const r = b as Partial<ReportShape> | null;
  return typeof r?.payer?.accountId === 'string' && typeof r.payee?.accountId === 'string' && Array.isArray(r.transferIds) && r.transferIds.every((t) => typeof t === 'string');
};

/**
 * POST; a scam report's transfers are first recorded in the decision history as paid by its payer
 * to its payee (a report must name such transfers; a transfer recorded before keeps its first
 * parties). postAsIs() sends a report without that.
 */
async function post(app: TestApp, url: string, body: unknown) {
  if (url === '/v1/cases' && isReportShape(body)) await recordPaid(app.sql, paid(body.payer.accountId, body.payee.accountId, body.transferIds));
  return postAsIs(app, url, body);
}

async function get(app: TestApp, url: string) {
  return app.server.inject({ method: 'GET', url });
}


const SCAM_TYPE_LIST = '"impersonation"|"investment"|"part_time_job"|"romance"|"fake_refund"|"purchase"|"mule"|"account_takeover"|"other"';

const REPORT_FEATURES = ['payee.report_count', 'payee.distinct_reporters', 'payee.hours_since_last_report'].map(idx);

describe.each(SQL_BACKENDS)('the case library API on %s', (backend) => {
  const sql = testSql(backend);
  const rulesDir = mkdtempSync(path.join(tmpdir(), 'calmpay-case-rules-'));
  let app: TestApp;
  const now = NOW;

  beforeAll(async () => {
    // the fixture rules plus one on the report flags: rules can use them on the next score
    writeFileSync(path.join(rulesDir, 'basic.yaml'), readFileSync(path.join(FIXTURE_RULES, 'basic.yaml')));
    writeFileSync(
      path.join(rulesDir, 'reports.yaml'),
      '- id: reported-payee\n  description: Payee reported as a scammer\n  when: payee.report_count >= 1\n  score: 60\n  action: cool_off\n  scam_type: impersonation\n',
    );
    app = await startedApp({ ...sql.env, RULES_DIR: rulesDir }, { clock: () => now });
  });
  afterAll(async () => {
    await app.close();
    await sql.cleanup();
    rmSync(rulesDir, { recursive: true, force: true });
  });

  it('records a report (201) and sets the payee flags in Redis', async () => {
    const res = await post(app, '/v1/cases', report({ payee: { accountId: 'q-rec', name: 'Officer Wang' }, transferIds: ['rec-1', 'rec-2'] }));
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(ReportResponseSchema.strict().parse(body)).toEqual(body);
    expect(body).toEqual({
      duplicate: false,
      case: {
        caseId: expect.stringMatching(/^case-[0-9a-f-]{36}$/),
        reporter: { type: 'victim', id: 'p-1' },
        payer: { accountId: 'p-1' },
        payee: { accountId: 'q-rec', name: 'Officer Wang' },
        transferIds: ['rec-1', 'rec-2'],
        amountLost: 48000,
        currency: 'CNY',
        scamType: 'impersonation',
        channel: 'phone',
        narrative: 'A caller claiming to be the police asked me to move my savings to a safe account.',
        scamAt: '2026-11-20T10:00:00.000Z',
        reportedAt: '2026-11-21T03:10:00.000Z',
        receivedAt: '2026-11-21T03:10:00.000Z',
        flagsApplied: true,
      },
    });
    const key = `${app.prefix}{a:q-rec}:reports`;
    expect(await app.redis.hgetall(key)).toEqual({ count: '1', reporters: '1', last: String(NOW) });
    // the flags live REPORT_TTL_DAYS (400) after the latest report
    const expireAt = Number(await app.redis.call('PEXPIRETIME', key));
    expect(expireAt).toBe(NOW + 400 * 86_400_000);
    // free text goes to SQL only, never to Redis
    const stored = [
      await app.redis.hgetall(key),
      await app.redis.smembers(`${app.prefix}{a:q-rec}:reports:cases`),
      await app.redis.smembers(`${app.prefix}{a:q-rec}:reports:by`),
    ];
    expect(stored.slice(1)).toEqual([[body.case.caseId], [reporterDigest('victim:p-1')]]);
    expect(JSON.stringify(stored)).not.toMatch(/Officer|safe account|p-1/);
  });

  it('makes the report a feature of the next score, which rules can use', async () => {
    const before = await post(app, '/v1/transfers/score', transfer('next-1', 'p-n1', 'q-next', '2026-11-21T01:00:00Z'));
    expect(before.json().hits.map((h: { ruleId: string }) => h.ruleId)).toEqual([]);
    const v0 = await streamFeatures(app, 'next-1');
    expect(REPORT_FEATURES.map((i) => v0[i])).toEqual([0, 0, null]);

    const reported = await post(app, '/v1/cases', report({
      payer: { accountId: 'p-n1' },
      payee: { accountId: 'q-next' },
      transferIds: ['next-1'],
      scamAt: '2026-11-21T01:00:00Z',
      reportedAt: '2026-11-21T01:10:00Z',
    }));
    expect(reported.statusCode).toBe(201);

    const after = await post(app, '/v1/transfers/score', transfer('next-2', 'p-n2', 'q-next', '2026-11-21T03:10:00Z'));
    expect(after.json()).toMatchObject({
      action: 'cool_off',
      riskScore: 60,
      hits: [{ ruleId: 'reported-payee', score: 60, action: 'cool_off', scamType: 'impersonation' }],
    });
    const v1 = await streamFeatures(app, 'next-2');
    expect(REPORT_FEATURES.map((i) => v1[i])).toEqual([1, 1, 2]);
    expect(v1).toHaveLength(FEATURES.length);
  });

  it('counts distinct reporters exactly and keeps the latest report time', async () => {
    const payee = { accountId: 'q-multi' };
    const reports = [
      report({ payee, transferIds: ['m-1'], payer: { accountId: 'p-m1' }, reportedAt: '2026-11-21T01:00:00Z' }),
      report({ payee, transferIds: ['m-2'], payer: { accountId: 'p-m2' }, reporter: { type: 'family', id: 'son-of-m2' }, reportedAt: '2026-11-21T02:00:00Z' }),
      report({ payee, transferIds: ['m-3'], payer: { accountId: 'p-m3' }, reporter: { type: 'family', id: 'son-of-m2' }, reportedAt: '2026-11-20T23:00:00Z' }),
    ];
    for (const r of reports) expect((await post(app, '/v1/cases', r)).statusCode).toBe(201);
    expect(await app.redis.hgetall(`${app.prefix}{a:q-multi}:reports`)).toEqual({
      count: '3',
      reporters: '2',
      last: String(Date.parse('2026-11-21T02:00:00Z')),
    });
  });

  it('recognises a duplicate report of the same transfers and counts it once', async () => {
    const first = await post(app, '/v1/cases', report({ payee: { accountId: 'q-dup' }, transferIds: ['dup-1', 'dup-2'] }));
    expect(first.statusCode).toBe(201);
    const original = first.json().case;
    // the bank reports the same transfers, in another order; later, one of them alone
    const again = await post(app, '/v1/cases', report({ payee: { accountId: 'q-dup' }, transferIds: ['dup-2', 'dup-1'], reporter: { type: 'bank', id: 'icbc' } }));
    const subset = await post(app, '/v1/cases', report({ payee: { accountId: 'q-dup' }, transferIds: ['dup-2'], reporter: { type: 'police', id: 'sh-12' } }));
    for (const res of [again, subset]) {
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ duplicate: true, case: original });
    }
    expect(await app.redis.hgetall(`${app.prefix}{a:q-dup}:reports`)).toEqual({ count: '1', reporters: '1', last: String(NOW) });
    const list = (await get(app, '/v1/cases?payeeId=q-dup')).json();
    expect(list).toEqual({ items: [original], nextCursor: null });
  });

  it('ends two identical reports sent at once as one case and one duplicate', async () => {
    const body = report({ payee: { accountId: 'q-race' }, transferIds: ['race-1', 'race-2', 'race-3'] });
    const [a, b] = await Promise.all([post(app, '/v1/cases', body), post(app, '/v1/cases', body)]);
    expect([a!.statusCode, b!.statusCode].sort()).toEqual([200, 201]);
    expect(a!.json().case.caseId).toBe(b!.json().case.caseId);
    expect((await app.redis.hgetall(`${app.prefix}{a:q-race}:reports`)).count).toBe('1');
  });

  it('answers 409 for transfers already in another case, and writes nothing', async () => {
    const first = (await post(app, '/v1/cases', report({ payee: { accountId: 'q-c' }, transferIds: ['c-1'] }))).json().case;
    const overlap = await post(app, '/v1/cases', report({ payee: { accountId: 'q-c' }, transferIds: ['c-2', 'c-1'] }));
    expect(overlap.statusCode).toBe(409);
    expect(overlap.json()).toEqual({
      code: 'CALMPAY_ERR_CASE_CONFLICT',
      message: 'Some of these transfers are already reported in another case',
      details: [{ field: 'transferIds.1', message: `c-1 is already reported in case ${first.caseId}` }],
    });
    const otherPayee = await post(app, '/v1/cases', report({ payee: { accountId: 'q-other' }, transferIds: ['c-1'] }));
    expect(otherPayee.statusCode).toBe(409);
    expect(otherPayee.json().details).toEqual([
      { field: 'transferIds.0', message: `c-1 is already reported in case ${first.caseId} against payee q-c` },
    ]);
    expect((await get(app, '/v1/cases?transferId=c-2')).json()).toEqual({ items: [], nextCursor: null });
    expect(await app.redis.exists(`${app.prefix}{a:q-other}:reports`)).toBe(0);
    expect((await app.redis.hgetall(`${app.prefix}{a:q-c}:reports`)).count).toBe('1');
  });

  it('refuses (422) a report naming transfers the decision history records from another payer or to another payee, and writes nothing', async () => {
    await recordPaid(app.sql, [
      { transferId: 'mm-ok', payerId: 'p-mm', payeeId: 'q-mm' },
      { transferId: 'mm-payee', payerId: 'p-mm', payeeId: 'q-innocent' },
      { transferId: 'mm-payer', payerId: 'p-else', payeeId: 'q-mm' },
      { transferId: 'mm-both', payerId: 'p-else', payeeId: 'q-innocent' },
    ]);
    const body = report({ payer: { accountId: 'p-mm' }, payee: { accountId: 'q-mm' }, transferIds: ['mm-ok', 'mm-payee', 'mm-unknown', 'mm-payer', 'mm-both'] });
    const res = await postAsIs(app, '/v1/cases', body);
    expect(res.statusCode).toBe(422);
    const other = '(the decision history records another account)';
    expect(res.json()).toEqual({
      code: 'CALMPAY_ERR_CASE_TRANSFER_MISMATCH',
      message:
        `The reported transfers do not match the decision history: mm-payee was not paid to payee q-mm ${other}; ` +
        `mm-payer was not paid by payer p-mm ${other}; mm-both was not paid by payer p-mm and not paid to payee q-mm ${other}`,
      details: [
        { field: 'transferIds.1', message: `mm-payee was not paid to payee q-mm ${other}` },
        {
          field: 'transferIds.2',
          message: 'mm-unknown is not in the decision history: it was not scored by this engine, or was scored moments ago and is still being recorded (retry in a few seconds)',
        },
        { field: 'transferIds.3', message: `mm-payer was not paid by payer p-mm ${other}` },
        { field: 'transferIds.4', message: `mm-both was not paid by payer p-mm and not paid to payee q-mm ${other}` },
      ],
    });
    // nothing written: no case, no transfer taken, no payee flags, so nothing to label for training
    expect((await get(app, '/v1/cases?payeeId=q-mm')).json()).toEqual({ items: [], nextCursor: null });
    expect((await app.sql.query(`SELECT count(*)::int AS n FROM case_transfers WHERE transfer_id LIKE 'mm-%'`)).rows).toEqual([{ n: 0 }]);
    expect(await app.redis.exists(`${app.prefix}{a:q-mm}:reports`, `${app.prefix}{a:q-innocent}:reports`)).toBe(0);

    // the transfer the history does record from p-mm to q-mm is a report
    const ok = await postAsIs(app, '/v1/cases', report({ payer: { accountId: 'p-mm' }, payee: { accountId: 'q-mm' }, transferIds: ['mm-ok'] }));
    expect(ok.statusCode).toBe(201);
    expect(ok.json().case).toMatchObject({ transferIds: ['mm-ok'], flagsApplied: true });
  });

  it('checks a report against the decisions the engine scored: matching 201, another payee 422', async () => {
    expect((await post(app, '/v1/transfers/score', transfer('hist-1', 'p-hist', 'q-hist', '2026-11-21T02:00:00Z'))).statusCode).toBe(200);
    const inHistory = async () => (await app.sql.query(`SELECT 1 FROM decisions WHERE transfer_id = 'hist-1'`)).rows.length === 1;
    await until(inHistory, 'the decision sink to copy hist-1');
    const at = { scamAt: '2026-11-21T02:00:00Z' };
    const wrong = await postAsIs(app, '/v1/cases', report({ ...at, payer: { accountId: 'p-hist' }, payee: { accountId: 'q-not-hist' }, transferIds: ['hist-1'] }));
    expect(wrong.statusCode).toBe(422);
    expect(wrong.json()).toMatchObject({
      code: 'CALMPAY_ERR_CASE_TRANSFER_MISMATCH',
      details: [{ field: 'transferIds.0', message: 'hist-1 was not paid to payee q-not-hist (the decision history records another account)' }],
    });
    const right = await postAsIs(app, '/v1/cases', report({ ...at, payer: { accountId: 'p-hist' }, payee: { accountId: 'q-hist' }, transferIds: ['hist-1'] }));
    expect(right.statusCode).toBe(201);
    expect(right.json().case).toMatchObject({ payer: { accountId: 'p-hist' }, payee: { accountId: 'q-hist' }, transferIds: ['hist-1'] });
  });

  it('refuses a transfer the decision history does not have (422), unless the scam is older than the history keeps decisions', async () => {
    const unknown = await postAsIs(app, '/v1/cases', report({ payee: { accountId: 'q-unk' }, transferIds: ['unk-1'] }));
    expect(unknown.statusCode).toBe(422);
    expect(unknown.json()).toEqual({
      code: 'CALMPAY_ERR_CASE_TRANSFER_UNKNOWN',
      message: 'The reported transfers are not in the decision history: transferIds.0',
      details: [
        {
          field: 'transferIds.0',
          message: 'unk-1 is not in the decision history: it was not scored by this engine, or was scored moments ago and is still being recorded (retry in a few seconds)',
        },
      ],
    });
    expect(await app.redis.exists(`${app.prefix}{a:q-unk}:reports`)).toBe(0);
    // DECISION_RETENTION_DAYS (400) before now is 2025-10-17: the history no longer holds the
    // decisions of an older scam, so it can neither prove nor disprove its transfers
    const old = await postAsIs(app, '/v1/cases', report({ payee: { accountId: 'q-unk' }, transferIds: ['unk-1'], scamAt: '2025-10-16T00:00:00Z' }));
    expect(old.statusCode).toBe(201);
    expect(old.json().case).toMatchObject({ transferIds: ['unk-1'], flagsApplied: true });
    // one day short of that is within the history: refused
    const recent = await postAsIs(app, '/v1/cases', report({ payee: { accountId: 'q-unk' }, transferIds: ['unk-2'], scamAt: '2025-10-18T00:00:00Z' }));
    expect(recent.json()).toMatchObject({ code: 'CALMPAY_ERR_CASE_TRANSFER_UNKNOWN' });
  });

  it('lists cases newest report first, with filters and cursor paging', async () => {
    const payee = { accountId: 'q-list' };
    const made: string[] = [];
    const spec = [
      { scamType: 'romance', reporter: { type: 'victim' } },
      { scamType: 'investment', reporter: { type: 'bank', id: 'icbc' } },
      { scamType: 'romance', reporter: { type: 'police', id: 'sh-3' } },
      { scamType: 'purchase', reporter: { type: 'victim' } },
      { scamType: 'romance', reporter: { type: 'family', id: 'daughter' } },
    ];
    for (const [i, s] of spec.entries()) {
      const res = await post(app, '/v1/cases', report({ ...s, payee, payer: { accountId: `p-l${i}` }, transferIds: [`l-${i}`], reportedAt: iso(NOW - (i + 1) * HOUR) }));
      expect(res.statusCode).toBe(201);
      made.push(res.json().case.caseId);
    }
    const ids = (b: { items: { caseId: string }[] }) => b.items.map((c) => c.caseId);

    const pages: string[][] = [];
    let url = '/v1/cases?payeeId=q-list&limit=2';
    for (;;) {
      const res = await get(app, url);
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(CaseListSchema.strict().parse(body)).toEqual(body);
      pages.push(ids(body));
      if (body.nextCursor === null) break;
      url = `/v1/cases?payeeId=q-list&limit=2&cursor=${encodeURIComponent(body.nextCursor)}`;
    }
    expect(pages).toEqual([[made[0], made[1]], [made[2], made[3]], [made[4]]]);

    expect(ids((await get(app, '/v1/cases?payeeId=q-list&scamType=romance')).json())).toEqual([made[0], made[2], made[4]]);
    expect(ids((await get(app, '/v1/cases?payeeId=q-list&reporterType=bank')).json())).toEqual([made[1]]);
    expect(ids((await get(app, '/v1/cases?transferId=l-3')).json())).toEqual([made[3]]);
    expect(ids((await get(app, '/v1/cases?payerId=p-l4')).json())).toEqual([made[4]]);
    const window = `from=${encodeURIComponent(iso(NOW - 4 * HOUR))}&to=${encodeURIComponent(iso(NOW - 2 * HOUR))}`;
    expect(ids((await get(app, `/v1/cases?payeeId=q-list&${window}`)).json())).toEqual([made[2], made[3]]);
  });

  it('answers a bad list query with 400 naming every offending parameter', async () => {
    const res = await get(app, '/v1/cases?limit=0&scamType=lottery&from=yesterday&colour=red');
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({
      code: 'CALMPAY_ERR_VALIDATION',
      message: 'Invalid fields: scamType, from, limit, colour',
      details: [
        { field: 'scamType', message: `Invalid option: expected one of ${SCAM_TYPE_LIST}` },
        { field: 'from', message: 'must be an ISO 8601 date-time with a time zone, e.g. 2026-11-21T03:10:00Z' },
        { field: 'limit', message: 'Too small: expected number to be >=1' },
        { field: 'colour', message: 'is not a known field' },
      ],
    });
    const cursor = await get(app, '/v1/cases?cursor=not-a-cursor');
    expect(cursor.statusCode).toBe(400);
    expect(cursor.json()).toEqual({
      code: 'CALMPAY_ERR_VALIDATION',
      message: 'Invalid fields: cursor',
      details: [{ field: 'cursor', message: 'is not a cursor returned by this API (use nextCursor as it is)' }],
    });
  });

  it('is documented at /docs and checked by /readyz', async () => {
    const doc = (await get(app, '/docs/json')).json();
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/cases']));
    const ready = (await get(app, '/readyz')).json();
    expect(ready.checks.sql.ready).toBe(true);
    expect(ready.checks.sql.detail).toMatch(new RegExp(`^${backend} `));
  });
});

describe('a bad scam report is a 400 naming every offending field, and nothing is written', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startedApp({}, { clock: () => NOW });
  });
  afterAll(async () => {
    await app.close();
  });

  const bad: [string, unknown, { field: string; message: string }[]][] = [
    ['missing required fields', { narrative: 'help' }, [
      { field: 'reporter', message: 'is required' },
      { field: 'payer', message: 'is required' },
      { field: 'payee', message: 'is required' },
      { field: 'transferIds', message: 'is required' },
      { field: 'amountLost', message: 'is required' },
      { field: 'currency', message: 'is required' },
      { field: 'scamType', message: 'is required' },
      { field: 'scamAt', message: 'is required' },
    ]],
    ['wrong types and values', report({ amountLost: -5, currency: 'cny', transferIds: 't-1', reporter: { type: 'neighbour' }, payee: { accountId: 'q-bad', name: 7 } }), [
      { field: 'reporter.type', message: 'Invalid option: expected one of "victim"|"family"|"bank"|"police"' },
      { field: 'payee.name', message: 'Invalid input: expected string, received number' },
      { field: 'transferIds', message: 'Invalid input: expected array, received string' },
      { field: 'amountLost', message: 'must be 0 or more' },
      { field: 'currency', message: 'must be an ISO 4217 code of three capital letters' },
    ]],
    ['an unknown scam type and unknown fields', report({ scamType: 'lottery', payee: { accountId: 'q-bad', nmae: 'x' }, victimAge: 80 }), [
      { field: 'payee.nmae', message: 'is not a known field' },
      { field: 'scamType', message: `Invalid option: expected one of ${SCAM_TYPE_LIST}` },
      { field: 'victimAge', message: 'is not a known field' },
    ]],
    ['no transfers', report({ payee: { accountId: 'q-bad' }, transferIds: [] }), [{ field: 'transferIds', message: 'must name at least one transfer' }]],
    ['a bank report without the bank, repeated transfers, payer paying itself, report before scam', report({
      reporter: { type: 'bank' }, payer: { accountId: 'q-bad' }, payee: { accountId: 'q-bad' }, transferIds: ['x-1', 'x-2', 'x-1'],
      scamAt: '2026-11-20T10:00:00Z', reportedAt: '2026-11-20T09:00:00Z',
    }), [
      { field: 'payee.accountId', message: 'must differ from payer.accountId' },
      { field: 'reporter.id', message: 'is required when reporter.type is bank' },
      { field: 'transferIds.2', message: 'repeats x-1' },
      { field: 'reportedAt', message: 'must not be before scamAt' },
    ]],
    ['a transfer id that cannot be a key', report({ payee: { accountId: 'q-bad' }, transferIds: ['{t}'] }), [
      { field: 'transferIds.0', message: 'must be 1-128 characters of A-Z a-z 0-9 . _ : @ - + / =' },
    ]],
    ['dates without a zone', report({ payee: { accountId: 'q-bad' }, scamAt: '2026-11-20 10:00', reportedAt: 'now' }), [
      { field: 'scamAt', message: 'must be an ISO 8601 date-time with a time zone, e.g. 2026-11-21T03:10:00Z' },
      { field: 'reportedAt', message: 'must be an ISO 8601 date-time with a time zone, e.g. 2026-11-21T03:10:00Z' },
    ]],
    ['times in the future', report({ payee: { accountId: 'q-bad' }, scamAt: '2026-11-22T10:00:00Z', reportedAt: '2026-11-22T11:00:00Z' }), [
      { field: 'scamAt', message: 'is in the future (server time 2026-11-21T03:10:00.000Z)' },
      { field: 'reportedAt', message: 'is in the future (server time 2026-11-21T03:10:00.000Z)' },
    ]],
    ['a scam after the report (reportedAt defaulting to now)', report({ payee: { accountId: 'q-bad' }, scamAt: '2026-11-21T03:12:00Z' }), [
      { field: 'scamAt', message: 'must not be after reportedAt (the time of this request)' },
    ]],
    ['an array body', [report()], [{ field: '', message: 'Invalid input: expected object, received array' }]],
  ];

  it.each(bad)('%s', async (_name, body, details) => {
    const res = await post(app, '/v1/cases', body);
    expect(res.statusCode).toBe(400);
    const fields = [...new Set(details.map((d) => d.field || '(body)'))];
    expect(res.json()).toEqual({ code: 'CALMPAY_ERR_VALIDATION', message: `Invalid fields: ${fields.join(', ')}`, details });
  });

  it('stored none of them', async () => {
    expect((await get(app, '/v1/cases')).json()).toEqual({ items: [], nextCursor: null });
    // no account state at all (report flags live under the payee's {a:...} keys)
    expect(await app.redis.keys(`${app.prefix}{a:*`)).toEqual([]);
    expect((await app.sql.query('SELECT count(*)::int AS n FROM case_transfers')).rows).toEqual([{ n: 0 }]);
  });
});

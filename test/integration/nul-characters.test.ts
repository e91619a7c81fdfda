import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newApiKey } from '../../src/http/api-keys.ts';
import { NUL_MESSAGE } from '../../src/http/no-nul.ts';
import { parseRuleFile } from '../../src/rules/language/rule-file.ts';
import { FIXTURE_RULES, testApp } from '../helpers/app.ts';

/**
 * Issue 19: a NUL character (U+0000) in a string that reaches SQL was a 500, as Postgres text
 * cannot hold one. Each such field of each route is refused with a 400 naming the field, on a
 * real PGlite, and nothing is written.
 */

type TestApp = Awaited<ReturnType<typeof testApp>>;

const admin = newApiKey('ops', ['admin']);
const headers = { authorization: `Bearer ${admin.key}` };
const NUL = 'a\u0000b';
const RULES = readFileSync(path.join(FIXTURE_RULES, 'basic.yaml'), 'utf8');
const files = [{ name: 'basic.yaml', text: RULES }];

const event = (over: { payee?: object; context?: object; language?: string } = {}) => ({
  transferId: 'nul-t-1',
  occurredAt: '2026-11-21T03:10:00Z',
  amount: 100,
  currency: 'CNY',
  payer: { accountId: 'nul-p-1' },
  payee: { accountId: 'nul-q-1', ...over.payee },
  ...(over.context === undefined ? {} : { context: over.context }),
  ...(over.language === undefined ? {} : { language: over.language }),
});

const report = (over: { reporter?: object; payee?: object; narrative?: string } = {}) => ({
  reporter: { type: 'victim', ...over.reporter },
  payer: { accountId: 'nul-p-1' },
  payee: { accountId: 'nul-q-1', ...over.payee },
  transferIds: ['nul-t-1'],
  amountLost: 100,
  currency: 'CNY',
  scamType: 'impersonation',
  scamAt: '2026-11-21T03:10:00Z',
  ...(over.narrative === undefined ? {} : { narrative: over.narrative }),
});

interface Case {
  readonly route: string;
  readonly method: 'POST' | 'PUT' | 'GET';
  readonly url: string;
  readonly payload?: object;
  readonly field: string;
}

const CASES: readonly Case[] = [
  { route: 'score', method: 'POST', url: '/v1/transfers/score', payload: event({ payee: { name: NUL } }), field: 'payee.name' },
  { route: 'score', method: 'POST', url: '/v1/transfers/score', payload: event({ context: { memo: NUL } }), field: 'context.memo' },
  { route: 'score', method: 'POST', url: '/v1/transfers/score', payload: event({ language: NUL }), field: 'language' },
  { route: 'report a case', method: 'POST', url: '/v1/cases', payload: report({ narrative: NUL }), field: 'narrative' },
  { route: 'report a case', method: 'POST', url: '/v1/cases', payload: report({ payee: { name: NUL } }), field: 'payee.name' },
  { route: 'report a case', method: 'POST', url: '/v1/cases', payload: report({ reporter: { type: 'bank', id: NUL } }), field: 'reporter.id' },
  { route: 'list cases', method: 'GET', url: '/v1/cases?cursor=a%00b', field: 'cursor' },
  { route: 'validate rules', method: 'POST', url: '/v1/rules/validate', payload: { files: [{ name: 'basic.yaml', text: `${RULES}\n# a\u0000b\n` }] }, field: 'files.0.text' },
  { route: 'validate rules', method: 'POST', url: '/v1/rules/validate', payload: { files: [{ name: 'a\u0000.yaml', text: RULES }] }, field: 'files.0.name' },
  { route: 'publish rules', method: 'PUT', url: '/v1/rules', payload: { files, comment: NUL }, field: 'comment' },
  { route: 'publish rules', method: 'PUT', url: '/v1/rules', payload: { files, comment: 'ok', author: NUL }, field: 'author' },
  { route: 'publish rules', method: 'PUT', url: '/v1/rules', payload: { files: [{ name: 'basic.yaml', text: `${RULES}\n# a\u0000b\n` }], comment: 'ok' }, field: 'files.0.text' },
  { route: 'roll back rules', method: 'POST', url: '/v1/rules/rollback', payload: { versionId: 1, reason: NUL }, field: 'reason' },
  { route: 'approve rules', method: 'POST', url: '/v1/rules/versions/1/approve', payload: { comment: NUL }, field: 'comment' },
  { route: 'approve rules', method: 'POST', url: '/v1/rules/versions/1/approve', payload: { approver: NUL }, field: 'approver' },
  { route: 'reject rules', method: 'POST', url: '/v1/rules/versions/1/reject', payload: { reason: NUL }, field: 'reason' },
  { route: 'backtest', method: 'POST', url: '/v1/rules/backtest', payload: { files: [{ name: 'basic.yaml', text: `${RULES}\n# a\u0000b\n` }] }, field: 'files.0.text' },
  { route: 'backtest', method: 'POST', url: '/v1/rules/backtest', payload: { files, model: NUL }, field: 'model' },
  { route: 'shadow statistics', method: 'GET', url: '/v1/rules/shadow?ruleId=a%00b', field: 'ruleId' },
  { route: 'confirm', method: 'POST', url: '/v1/transfers/nul-t-1/confirm', payload: { note: NUL }, field: 'note' },
  { route: 'cancel', method: 'POST', url: '/v1/transfers/nul-t-1/cancel', payload: { note: NUL }, field: 'note' },
  { route: 'release', method: 'POST', url: '/v1/transfers/nul-t-1/release', payload: { analyst: 'an-1', reason: NUL }, field: 'reason' },
  { route: 'reject', method: 'POST', url: '/v1/transfers/nul-t-1/reject', payload: { analyst: 'an-1', reason: NUL }, field: 'reason' },
  { route: 'trusted contact', method: 'PUT', url: '/v1/accounts/nul-p-1/trusted-contact', payload: { name: NUL, phone: '+86 10 1234 5678' }, field: 'name' },
  { route: 'guardian limits', method: 'PUT', url: '/v1/accounts/nul-kid-1/guardian-limits', payload: { currency: 'CNY', timeZone: 'Asia/\u0000Shanghai', daily: 10 }, field: 'timeZone' },
];

describe('a NUL character in a request string', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await testApp({ API_KEYS: JSON.stringify([admin.entry]) });
  });
  afterAll(async () => {
    await app.close();
  });

  it.each(CASES)('$route ($method $url) refuses it in $field', async ({ method, url, payload, field }) => {
    const res = await app.server.inject({ method, url, headers, ...(payload === undefined ? {} : { payload }) });
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expect(body.code).toBe('CALMPAY_ERR_VALIDATION');
    expect(body.message).toBe(`Invalid fields: ${field}`);
    expect(body.details).toEqual([{ field, message: NUL_MESSAGE }]);
  });

  it('writes nothing: the transfer and the case were never recorded', async () => {
    const transfer = await app.server.inject({ method: 'GET', url: '/v1/transfers/nul-t-1', headers });
    expect(transfer.statusCode).toBe(404);
    const cases = await app.server.inject({ method: 'GET', url: '/v1/cases?payeeId=nul-q-1', headers });
    expect(cases.json()).toEqual({ items: [], nextCursor: null });
  });

  it('a rule whose YAML escapes put a NUL in its description or condition is a rule error', async () => {
    const text = [
      '- id: nul-description',
      '  description: "a\\0b"',
      '  when: amount > 1',
      '  score: 10',
      '- id: nul-when',
      '  description: fine',
      '  when: "payee.name == \\"a\\0b\\""',
      '  score: 10',
    ].join('\n');
    const res = await app.server.inject({ method: 'POST', url: '/v1/rules/validate', headers, payload: { files: [{ name: 'nul.yaml', text }] } });
    const body = res.json();
    expect(res.statusCode).toBe(200);
    expect(body.valid).toBe(false);
    expect(body.errors.map((d: { ruleId: string | null; message: string }) => [d.ruleId, d.message])).toEqual([
      ['nul-description', `description ${NUL_MESSAGE}`],
      ['nul-when', `when ${NUL_MESSAGE}`],
    ]);
  });

  it('a rule file read from disk with a NUL in it is refused where the NUL is', () => {
    const parsed = parseRuleFile('disk.yaml', `${RULES}# a\u0000b\n`);
    expect(parsed.rules).toEqual([]);
    expect(parsed.errors).toEqual([
      { file: 'disk.yaml', ruleId: null, line: RULES.split('\n').length, column: 4, message: `the file ${NUL_MESSAGE}` },
    ]);
  });
});

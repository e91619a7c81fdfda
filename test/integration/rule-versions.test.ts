import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newApiKey } from '../../src/http/api-keys.ts';
import { RuleVersions } from '../../src/rules/versions/rule-versions.ts';
import { compileRuleSetFromText } from '../../src/rules/language/rule-set.ts';
import type { SqlStore } from '../../src/store/sql/sql-store.ts';
import { FIXTURE_RULES, testApp, startedApp } from '../helpers/app.ts';
import { SQL_BACKENDS, testSql } from '../helpers/sql.ts';
import { until } from '../helpers/until.ts';

type TestApp = Awaited<ReturnType<typeof testApp>>;

const BASIC = readFileSync(path.join(FIXTURE_RULES, 'basic.yaml'), 'utf8');

/** basic.yaml with large-to-new-payee scoring `score` points */
const basicWith = (score: number): { name: string; text: string }[] => [
  { name: 'basic.yaml', text: BASIC.replace('score: 40', `score: ${score}`) },
];
const EXTRA = { name: 'extra.yaml', text: '- id: any-amount\n  description: Any transfer\n  when: amount > 0\n  score: 5\n' };

/** a busy shared machine must not push scores into degraded mode (no velocity features) */
const STEADY = { FEATURES_DEADLINE_MS: '10000' };

let n = 0;
const scoreOn = async (app: TestApp) => {
  const d = (
    await app.server.inject({
      method: 'POST',
      url: '/v1/transfers/score',
      payload: {
        transferId: `rv-${n++}-${app.prefix}`,
        occurredAt: new Date().toISOString(),
        amount: 20_000,
        currency: 'CNY',
        payer: { accountId: `rv-p-${n}` },
        payee: { accountId: `rv-q-${n}` },
      },
    })
  ).json() as { ruleScore: number; rulesVersion: string; degraded: string[] };
  expect(d.degraded).toEqual([]);
  return d;
};

describe.each(SQL_BACKENDS)('rule versions on %s: publish, validate, reject invalid, rollback, audit', (backend) => {
  const db = testSql(backend);
  let app: TestApp;
  beforeAll(async () => {
    app = await startedApp({ ...db.env, ...STEADY });
  });
  afterAll(async () => {
    await app?.close();
    await db.cleanup();
  });

  const put = (payload: object) => app.server.inject({ method: 'PUT', url: '/v1/rules', payload });

  it('seeds version 1 from the rule files and serves it', async () => {
    const res = await app.server.inject({ url: '/v1/rules' });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.version).toMatchObject({ id: 1, author: 'files', status: 'approved', ruleCount: 4, contentVersion: app.rules.current.version });
    expect(body.activatedBy).toBe('files');
    expect(body.rules.map((r: { id: string }) => r.id)).toEqual(['large-to-new-payee', 'elderly-on-call-new-payee', 'rapid-repeat', 'night-shadow']);
    expect(body.files).toEqual([{ name: 'basic.yaml', text: BASIC }]);
    expect((await scoreOn(app)).ruleScore).toBe(40);
  });

  it('publishes a new version that scores the next request, and audits it with the diff', async () => {
    const before = app.rules.current.version;
    const res = await put({ files: [...basicWith(45), EXTRA], comment: 'raise large-to-new-payee', author: 'alice' });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({ active: true, unchanged: false, diff: { added: ['any-amount'], removed: [], changed: [{ id: 'large-to-new-payee', fields: ['score'] }] } });
    expect(body.version).toMatchObject({ id: 2, author: 'alice', comment: 'raise large-to-new-payee', status: 'approved', baseId: 1, decidedBy: null, ruleCount: 5 });
    expect(app.rules.current.version).not.toBe(before);
    expect(app.rules.current.version).toBe(body.version.contentVersion);
    const d = await scoreOn(app);
    expect([d.ruleScore, d.rulesVersion]).toEqual([50, body.version.contentVersion]);

    // the same files again store nothing
    const again = await put({ files: [...basicWith(45), EXTRA], comment: 'retry', author: 'alice' });
    expect([again.statusCode, again.json().unchanged, again.json().version.id]).toEqual([200, true, 2]);
  });

  it('rejects an invalid version with every error, and the active version stays', async () => {
    const active = app.rules.current;
    const bad = [
      { name: 'basic.yaml', text: BASIC.replace('amount >= 10000', 'amount >= "x"') },
      { name: 'extra.yaml', text: '- id: Bad_Id\n  description: x\n  when: payer.nope > 1\n  score: 5\n' },
    ];
    const res = await put({ files: bad, comment: 'broken', author: 'alice' });
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expect(body.code).toBe('CALMPAY_ERR_RULES_INVALID');
    expect(body.message).toBe('The rule files have 3 error(s); version 2 stays active');
    expect(body.details.map((e: Record<string, unknown>) => [e.field, e.file, e.ruleId, e.line])).toEqual([
      ['files.0', 'basic.yaml', 'large-to-new-payee', 5],
      ['files.1', 'extra.yaml', 'Bad_Id', 1],
      ['files.1', 'extra.yaml', 'Bad_Id', 3],
    ]);
    for (const e of body.details) expect(e.column).toBeGreaterThan(0);
    expect(app.rules.current).toBe(active);
    const list = (await app.server.inject({ url: '/v1/rules/versions' })).json();
    expect(list.items.map((v: { id: number }) => v.id)).toEqual([2, 1]);
  });

  it('validates files without storing anything', async () => {
    const ok = await app.server.inject({ method: 'POST', url: '/v1/rules/validate', payload: { files: basicWith(41) } });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({
      valid: true,
      errors: [],
      contentVersion: compileRuleSetFromText(basicWith(41)).ok ? expect.stringMatching(/^files-[0-9a-f]{12}$/) : null,
      ruleCount: 4,
      diff: { added: [], removed: ['any-amount'], changed: [{ id: 'large-to-new-payee', fields: ['score'] }] },
    });
    const bad = await app.server.inject({
      method: 'POST',
      url: '/v1/rules/validate',
      payload: { files: [{ name: 'basic.yaml', text: BASIC.replace('score: 40', 'score: 400') }] },
    });
    expect(bad.statusCode).toBe(200);
    expect(bad.json()).toEqual({
      valid: false,
      errors: [{ field: 'files.0', file: 'basic.yaml', ruleId: 'large-to-new-payee', line: 6, column: 10, message: 'score must be a number from 0 to 100, got 400' }],
      contentVersion: null,
      ruleCount: 0,
      diff: null,
    });
    expect((await app.server.inject({ url: '/v1/rules/versions' })).json().items).toHaveLength(2);
  });

  it('accepts rule files beyond BODY_LIMIT_BYTES (rule routes allow 1 MiB)', async () => {
    const big = [{ name: 'big.yaml', text: `${'# padding\n'.repeat(3_000)}${BASIC}` }];
    const res = await app.server.inject({ method: 'POST', url: '/v1/rules/validate', payload: { files: big } });
    expect(JSON.stringify({ files: big }).length).toBeGreaterThan(16_384);
    expect([res.statusCode, res.json().valid, res.json().ruleCount]).toEqual([200, true, 4]);
  });

  it('answers bad input with 400 and the error shape, naming each field', async () => {
    const cases: [string, string, object | undefined, object][] = [
      ['PUT', '/v1/rules', { files: [], author: 'a' }, { code: 'CALMPAY_ERR_VALIDATION', message: 'Invalid fields: files, comment', details: [{ field: 'files', message: 'must name at least one rule file' }, { field: 'comment', message: 'is required' }] }],
      ['PUT', '/v1/rules', { files: basicWith(1), comment: 'c' }, { code: 'CALMPAY_ERR_VALIDATION', message: 'Invalid fields: author', details: [{ field: 'author', message: 'is required while API keys are off (with keys on, the key name is used)' }] }],
      ['PUT', '/v1/rules', { files: basicWith(1), comment: 'c', author: 'safety-cap', extra: 1 }, { code: 'CALMPAY_ERR_VALIDATION', message: 'Invalid fields: author, extra', details: [{ field: 'author', message: '"files" and "safety-cap" are reserved for calmpay itself' }, { field: 'extra', message: 'is not a known field' }] }],
      ['POST', '/v1/rules/validate', { files: [{ name: 'a.yaml' }] }, { code: 'CALMPAY_ERR_VALIDATION', message: 'Invalid fields: files.0.text', details: [{ field: 'files.0.text', message: 'is required' }] }],
      ['POST', '/v1/rules/rollback', { versionId: 'one', author: 'a' }, { code: 'CALMPAY_ERR_VALIDATION', message: 'Invalid fields: versionId, reason', details: [{ field: 'versionId', message: expect.any(String) }, { field: 'reason', message: 'is required' }] }],
      ['GET', '/v1/rules/versions?limit=0', undefined, { code: 'CALMPAY_ERR_VALIDATION', message: 'Invalid fields: limit', details: [{ field: 'limit', message: expect.any(String) }] }],
      ['GET', '/v1/rules/versions/abc', undefined, { code: 'CALMPAY_ERR_VALIDATION', message: 'Invalid fields: id', details: [{ field: 'id', message: 'must be a positive integer' }] }],
    ];
    for (const [method, url, payload, expected] of cases) {
      const res = await app.server.inject({ method: method as 'GET', url, payload });
      expect([method, url, res.statusCode, res.json()]).toEqual([method, url, 400, expected]);
    }
  });

  it('says 409 for approval while four-eyes is off, and 404 for an unknown version', async () => {
    const approve = await app.server.inject({ method: 'POST', url: '/v1/rules/versions/2/approve', payload: { approver: 'bob' } });
    expect([approve.statusCode, approve.json().code]).toEqual([409, 'CALMPAY_ERR_RULE_VERSION_CONFLICT']);
    const missing = await app.server.inject({ url: '/v1/rules/versions/99' });
    expect(missing.json()).toEqual({ code: 'CALMPAY_ERR_RULE_VERSION_NOT_FOUND', message: 'No rule version 99', details: [{ field: 'id', message: 'no version 99' }] });
  });

  it('rolls back to an earlier version, audited; not to the active one', async () => {
    const v1 = (await app.server.inject({ url: '/v1/rules/versions/1' })).json();
    const res = await app.server.inject({ method: 'POST', url: '/v1/rules/rollback', payload: { versionId: 1, reason: 'score too high', author: 'carol' } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ active: true, version: { id: 1 }, diff: { added: [], removed: ['any-amount'], changed: [{ id: 'large-to-new-payee', fields: ['score'] }] } });
    expect(app.rules.current.version).toBe(v1.contentVersion);
    expect((await scoreOn(app)).ruleScore).toBe(40);
    const get = (await app.server.inject({ url: '/v1/rules' })).json();
    expect([get.version.id, get.activatedBy]).toEqual([1, 'carol']);

    const again = await app.server.inject({ method: 'POST', url: '/v1/rules/rollback', payload: { versionId: 1, reason: 'again', author: 'carol' } });
    expect(again.json()).toEqual({ code: 'CALMPAY_ERR_RULE_VERSION_CONFLICT', message: 'Version 1 is already the active version', details: [{ field: 'status', message: 'active' }] });
    const missing = await app.server.inject({ method: 'POST', url: '/v1/rules/rollback', payload: { versionId: 42, reason: 'x', author: 'carol' } });
    expect(missing.statusCode).toBe(404);
  });

  it('keeps the audit trail: who, when, what changed, before and after', async () => {
    const res = await app.server.inject({ url: '/v1/rules/audit' });
    const items = res.json().items as Record<string, unknown>[];
    expect(items.map((e) => [e.action, e.actor, e.versionId, e.activeBefore, e.activeAfter, e.reason])).toEqual([
      ['rollback', 'carol', 1, 2, 1, 'score too high'],
      ['publish', 'alice', 2, 1, 2, 'raise large-to-new-payee'],
      ['seed', 'files', 1, null, 1, `no rule version was stored; seeded from ${FIXTURE_RULES}`],
    ]);
    expect(items[0]!.diff).toEqual({ added: [], removed: ['any-amount'], changed: [{ id: 'large-to-new-payee', fields: ['score'] }] });
    expect(items[2]!.diff).toEqual({ added: ['large-to-new-payee', 'elderly-on-call-new-payee', 'rapid-repeat', 'night-shadow'], removed: [], changed: [] });
    for (const e of items) expect(Date.parse(e.at as string)).toBeGreaterThan(Date.now() - 600_000);
    const about2 = (await app.server.inject({ url: '/v1/rules/audit?versionId=2' })).json().items;
    expect(about2.map((e: { action: string }) => e.action)).toEqual(['publish']);
  });

  it('documents the rule routes at /docs', async () => {
    const doc = (await app.server.inject({ url: '/docs/json' })).json();
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/v1/rules', '/v1/rules/validate', '/v1/rules/versions', '/v1/rules/versions/{id}', '/v1/rules/rollback', '/v1/rules/versions/{id}/approve', '/v1/rules/versions/{id}/reject', '/v1/rules/audit']),
    );
    expect(doc.paths['/v1/rules'].put.requestBody.content['application/json'].schema.required.sort()).toEqual(['comment', 'files']);
  });

  it('never changes a stored version in place', async () => {
    await expect(app.sql.query(`UPDATE rule_versions SET files = '[]'::jsonb WHERE id = 1`)).rejects.toThrow(/immutable/);
    await expect(app.sql.query('DELETE FROM rule_versions WHERE id = 2')).rejects.toThrow(/never deleted/);
  });
});

describe('four-eyes approval', () => {
  const alice = newApiKey('alice', ['rules:write', 'rules:approve']);
  const bob = newApiKey('bob', ['rules:approve']);
  let app: TestApp;
  beforeAll(async () => {
    app = await startedApp({ ...STEADY, RULES_FOUR_EYES: 'true', API_KEYS: JSON.stringify([alice.entry, bob.entry]) });
  });
  afterAll(async () => {
    await app.close();
  });
  const as = (key: { key: string }, method: string, url: string, payload?: object) =>
    app.server.inject({ method: method as 'GET', url, payload, headers: { authorization: `Bearer ${key.key}` } });

  it('keeps a published version pending until someone other than its author approves it', async () => {
    const seeded = app.rules.current;
    const pub = await as(alice, 'PUT', '/v1/rules', { files: basicWith(45), comment: 'raise' });
    expect(pub.statusCode).toBe(201);
    expect(pub.json()).toMatchObject({ active: false, version: { id: 2, status: 'pending_approval', author: 'alice', baseId: 1 } });
    expect(app.rules.current).toBe(seeded);

    const self = await as(alice, 'POST', '/v1/rules/versions/2/approve', {});
    expect(self.statusCode).toBe(403);
    expect(self.json()).toEqual({
      code: 'CALMPAY_ERR_SAME_AUTHOR',
      message: 'alice wrote version 2 and cannot also approve it; another analyst must',
      details: [{ field: 'approver', message: 'is the author of version 2' }],
    });
    const forged = await as(bob, 'POST', '/v1/rules/versions/2/approve', { approver: 'carol' });
    expect([forged.statusCode, forged.json().details]).toEqual([400, [{ field: 'approver', message: 'must be left out or equal the API key\'s name "bob": with API keys on, the key names who acts' }]]);
    expect(app.rules.current).toBe(seeded);

    const ok = await as(bob, 'POST', '/v1/rules/versions/2/approve', { comment: 'looks right' });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ id: 2, status: 'approved', decidedBy: 'bob', decisionComment: 'looks right' });
    expect(app.rules.current.version).toBe(ok.json().contentVersion);
    expect(app.rules.current.rules[0]!.score).toBe(45);
    const twice = await as(bob, 'POST', '/v1/rules/versions/2/approve', {});
    expect([twice.statusCode, twice.json().message]).toEqual([409, 'Version 2 is approved, not pending approval']);
  });

  it('rejects a pending version, and refuses to approve one written on a version no longer active', async () => {
    const p3 = (await as(alice, 'PUT', '/v1/rules', { files: basicWith(46), comment: 'three' })).json().version.id;
    const p4 = (await as(alice, 'PUT', '/v1/rules', { files: basicWith(47), comment: 'four' })).json().version.id;
    const rej = await as(bob, 'POST', `/v1/rules/versions/${p3}/reject`, { reason: 'no evidence' });
    expect(rej.json()).toMatchObject({ id: p3, status: 'rejected', decidedBy: 'bob', decisionComment: 'no evidence' });
    const rb = await as(alice, 'POST', '/v1/rules/rollback', { versionId: p3, reason: 'x' });
    expect([rb.statusCode, rb.json().message]).toEqual([409, `Version ${p3} is rejected; only a version that was approved can be rolled back to`]);

    // a rollback (no approval needed: version 1 was approved before) makes p4's base stale
    expect((await as(alice, 'POST', '/v1/rules/rollback', { versionId: 1, reason: 'undo' })).statusCode).toBe(200);
    const stale = await as(bob, 'POST', `/v1/rules/versions/${p4}/approve`, {});
    expect(stale.statusCode).toBe(409);
    expect(stale.json().message).toBe(
      `Version ${p4} was written against version 2, but version 1 is active now; publish the change again on top of the active version (or reject this one)`,
    );
    const list = (await as(alice, 'GET', '/v1/rules/versions')).json();
    expect(list.items.map((v: { id: number; status: string; active: boolean }) => [v.id, v.status, v.active])).toEqual([
      [p4, 'pending_approval', false],
      [p3, 'rejected', false],
      [2, 'approved', false],
      [1, 'approved', true],
    ]);
    const audit = (await as(alice, 'GET', '/v1/rules/audit')).json().items;
    expect(audit.map((e: { action: string; actor: string }) => `${e.action}:${e.actor}`)).toEqual([
      'rollback:alice',
      'reject:bob',
      'publish:alice',
      'publish:alice',
      'approve:bob',
      'publish:alice',
      'seed:files',
    ]);
  });
});

describe('every node switches to a published version without a restart', () => {
  const db = testSql('pglite');
  let sql: SqlStore;
  let a: TestApp;
  let b: TestApp;
  const prefix = `test-rv-${Date.now()}-${Math.random().toString(36).slice(2)}:`;
  beforeAll(async () => {
    sql = await db.open();
    a = await startedApp({ ...STEADY, REDIS_KEY_PREFIX: prefix, RULES_POLL_MS: '100' }, { sql });
    // b starts after a seeded the store; its own rule files differ, and the stored version wins
    b = await startedApp({ ...STEADY, REDIS_KEY_PREFIX: prefix, RULES_POLL_MS: '100', RULES_DIR: path.resolve(FIXTURE_RULES, '../../../rules') }, { sql });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await sql?.close();
  });

  it('serves the stored version on a starting node, not its own files', () => {
    expect(b.rules.current.version).toBe(a.rules.current.version);
    expect(b.ruleVersions.active.version.id).toBe(1);
  });

  it('switches the other node on publish and on rollback (pub/sub)', async () => {
    const res = await a.server.inject({ method: 'PUT', url: '/v1/rules', payload: { files: basicWith(45), comment: 'c', author: 'alice' } });
    const version = res.json().version.contentVersion;
    await until(() => b.rules.current.version === version, 'node b to load version 2');
    expect((await scoreOn(b)).ruleScore).toBe(45);
    expect((await b.server.inject({ url: '/v1/rules' })).json().version.id).toBe(2);

    await b.server.inject({ method: 'POST', url: '/v1/rules/rollback', payload: { versionId: 1, reason: 'undo', author: 'bob' } });
    await until(() => a.ruleVersions.active.version.id === 1, 'node a to roll back');
    expect((await scoreOn(a)).ruleScore).toBe(40);
    expect(await a.redis.get(`${prefix}{rules}:active`)).toBe(`${b.ruleVersions.active.pointer.generation}:1`);
  });

  it('converges through the poll when a node missed the message', async () => {
    // a writer that announces nothing (as if its message were lost), then only the pointer moves
    const silent = await RuleVersions.open(
      { sql, clock: Date.now, fourEyes: false, onSwitch: () => undefined, log: { info: () => undefined, warn: () => undefined, error: () => undefined } },
      { ok: false, errors: [] },
      'unused',
    );
    const published = await silent.versions.publish(basicWith(48), 'dave', 'silent change');
    expect(published.active).toBe(true);
    // nobody announced it: each node's poll reads SQL's pointer and loads it
    await until(() => a.ruleVersions.active.version.id === published.version.id && b.ruleVersions.active.version.id === published.version.id, 'both nodes to poll');
    expect((await scoreOn(a)).ruleScore).toBe(48);
    expect((await scoreOn(b)).ruleScore).toBe(48);
  });
});

describe('rule files edited while the engine was stopped', () => {
  const db = testSql('pglite');
  let sql: SqlStore;
  const apps: TestApp[] = [];
  const dir = mkdtempSync(path.join(tmpdir(), 'calmpay-stopped-edit-'));
  const start = async (watch: boolean) => {
    const app = await startedApp({ ...STEADY, RULES_DIR: dir, WATCH_RULES: String(watch) }, { sql });
    apps.push(app);
    return app;
  };
  const stop = async () => {
    await apps.pop()?.close();
  };
  beforeAll(async () => {
    sql = await db.open();
    writeFileSync(path.join(dir, 'basic.yaml'), BASIC);
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    await sql?.close();
  });

  it('publishes files that match no stored version at the next start, with the watcher on', async () => {
    const first = await start(true);
    expect(first.ruleVersions.active.version.id).toBe(1);
    await stop();

    writeFileSync(path.join(dir, 'basic.yaml'), basicWith(44)[0]!.text);
    const second = await start(true);
    expect(second.ruleVersions.active.version).toMatchObject({ id: 2, author: 'files' });
    expect((await scoreOn(second)).ruleScore).toBe(44);
    const audit = (await second.server.inject({ url: '/v1/rules/audit' })).json() as { items: { action: string; actor: string; reason: string }[] };
    expect(audit.items[0]).toMatchObject({ action: 'publish', actor: 'files', reason: `rule files in ${dir} edited while the engine was stopped` });
    await stop();
  });

  it('serves the stored version with WATCH_RULES=false, and republishes no files already stored', async () => {
    writeFileSync(path.join(dir, 'basic.yaml'), basicWith(46)[0]!.text);
    const off = await start(false);
    expect(off.ruleVersions.active.version.id).toBe(2);
    // an analyst rolls back to version 1 through the API...
    const rolled = await off.server.inject({ method: 'POST', url: '/v1/rules/rollback', payload: { versionId: 1, reason: 'undo', author: 'carol' } });
    expect(rolled.statusCode).toBe(200);
    await stop();

    // ...and the files still hold version 2's text: the rollback stands
    writeFileSync(path.join(dir, 'basic.yaml'), basicWith(44)[0]!.text);
    const on = await start(true);
    expect(on.ruleVersions.active.version.id).toBe(1);
    expect((await scoreOn(on)).ruleScore).toBe(40);
  });
});

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newApiKey } from '../../src/http/api-keys.ts';
import { loadConfig } from '../../src/config.ts';
import { idx } from '../../src/features/catalogue.ts';
import { DecisionHistory } from '../../src/decisions/decision-history.ts';
import { generateFeatureVectors } from '../../bench/feature-vectors.ts';
import { encodeVector } from '../../src/model/encode.ts';
import { parseManifest } from '../../src/model/manifest.ts';
import { predictProbability } from '../../src/model/tree-ensemble.ts';
import { replayDecision, replayPolicy } from '../../src/backtest/replay-decision.ts';
import { BacktestJobs, type BacktestJobView } from '../../src/backtest/backtest-jobs.ts';
import { compileRuleSetFromText } from '../../src/rules/language/rule-set.ts';
import type { SqlParam, SqlStore } from '../../src/store/sql/sql-store.ts';
import { FIXTURE_RULES, testApp } from '../helpers/app.ts';
import { SQL_BACKENDS, testSql } from '../helpers/sql.ts';
import { candidateFiles, EXPECTED, EXPECTED_PERFORMANCE, EXPECTED_RULES, EXPECTED_TRANSITIONS, seededRows, seedHistory, WINDOW } from './backtest-fixtures.ts';

type TestApp = Awaited<ReturnType<typeof testApp>>;

const fixture = readFileSync(path.join(FIXTURE_RULES, 'basic.yaml'), 'utf8');
const MODELS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../models');
const analyst = newApiKey('analyst', ['rules:write']);
const auth = { authorization: `Bearer ${analyst.key}` };

async function post(app: TestApp, body: unknown) {
  return app.server.inject({ method: 'POST', url: '/v1/rules/backtest', headers: { ...auth, 'content-type': 'application/json' }, payload: JSON.stringify(body) });
}

async function get(app: TestApp, url: string) {
  return app.server.inject({ method: 'GET', url, headers: auth });
}

/** Starts a backtest, waits for this node's queue, returns the 202 body and the finished job. */
async function runJob(app: TestApp, body: unknown): Promise<{ accepted: BacktestJobView; job: BacktestJobView; location: string }> {
  const res = await post(app, body);
  expect(res.statusCode, res.body).toBe(202);
  await app.backtests.idle();
  const accepted = res.json<BacktestJobView>();
  const location = String(res.headers.location);
  const job = await get(app, location);
  expect(job.statusCode).toBe(200);
  return { accepted, job: job.json<BacktestJobView>(), location };
}

describe.each(SQL_BACKENDS)('POST /v1/rules/backtest on a seeded history in %s', (backend) => {
  let app: TestApp;
  const db = testSql(backend);
  beforeAll(async () => {
    app = await testApp({ API_KEYS: JSON.stringify([analyst.entry]), ...db.env });
    await seedHistory(app.sql);
  });
  afterAll(async () => {
    await app.close();
    await db.cleanup();
  });

  it('runs as a job and reports the known answer', async () => {
    const { accepted, job, location } = await runJob(app, { files: candidateFiles(fixture), ...WINDOW });
    expect(location).toBe(`/v1/rules/backtest/${accepted.id}`);
    expect(accepted).toMatchObject({
      state: 'queued',
      requestedBy: 'analyst',
      progress: { rowsDone: 0, rowsTotal: 0 },
      result: null,
      request: { from: '2026-11-10T00:00:00.000Z', to: '2026-11-11T00:00:00.000Z', activeVersion: app.rules.current.version, candidateRules: 4, model: null },
    });
    expect(job).toMatchObject({ id: accepted.id, state: 'done', progress: { rowsDone: 8, rowsTotal: 8 }, error: null });
    const r = job.result!;
    expect(r).toMatchObject(EXPECTED);
    expect(r.changes.transitions).toEqual(EXPECTED_TRANSITIONS);
    expect(r.rules).toEqual(EXPECTED_RULES);
    expect(r.window).toEqual({ from: '2026-11-10T00:00:00.000Z', to: '2026-11-11T00:00:00.000Z' });
    expect(r.active).toEqual({ version: app.rules.current.version, rules: 4 });
    expect(r.candidate).toMatchObject({ rules: 4, model: null });
  });

  it('reports each side\'s rule performance: unique catches and the rule that spends budget and catches little (issue 16)', async () => {
    const { job } = await runJob(app, { files: candidateFiles(fixture), ...WINDOW });
    expect(job.result!.performance).toMatchObject(EXPECTED_PERFORMANCE);
    expect(job.result!.performance.active.rules.find((r) => r.ruleId === 'elderly-on-call-new-payee')!.flagReason).toContain('of legitimate transfers cool_off');
  });

  it('writes progress page by page while a job runs', async () => {
    // the real store, with the progress writes of the job noted on the way through
    const writes: string[] = [];
    const sql: SqlStore = {
      ...app.sql,
      query: async <R>(text: string, params?: readonly SqlParam[]) => {
        if (text.startsWith('UPDATE backtest_jobs SET rows_done')) writes.push(`${String(params![1])}/${String(params![2])}`);
        return app.sql.query<R>(text, params);
      },
    };
    const jobs = new BacktestJobs({ sql, policy: replayPolicy(loadConfig({}).scoring), clock: Date.now, log: { error: () => undefined }, pageSize: 3, progressEveryMs: 0 });
    const candidate = compileRuleSetFromText(candidateFiles(fixture));
    if (!candidate.ok) throw new Error('candidate');
    const started = await jobs.start({
      active: app.rules.current,
      candidate: candidate.ruleSet,
      window: { fromMs: Date.parse(WINDOW.from), toMs: Date.parse(WINDOW.to) },
      requestedBy: null,
    });
    await jobs.idle();
    expect(writes).toEqual(['0/8', '3/8', '6/8', '8/8']);
    const job = (await get(app, `/v1/rules/backtest/${started.id}`)).json<BacktestJobView>();
    expect(job).toMatchObject({ state: 'done', progress: { rowsDone: 8, rowsTotal: 8 } });
    expect(job.result).toMatchObject(EXPECTED);
  });

  it('changes nothing when the candidate is the active set', async () => {
    const { job } = await runJob(app, { files: [{ name: 'basic.yaml', text: fixture }], ...WINDOW });
    const r = job.result!;
    expect(r.replayed).toBe(8);
    expect(r.changes.transitions).toEqual([]);
    expect(r.totals.candidate).toEqual(r.totals.active);
    expect(r.rules.map((x) => x.status)).toEqual(['unchanged', 'unchanged', 'unchanged', 'unchanged']);
  });

  it('rejects invalid candidate rules with every error, line and column, and starts nothing', async () => {
    const bad = '- id: a\n  description: x\n  when: payer.agee >= 60\n  score: 10\n- id: b\n  description: y\n  when: amount >= "big"\n  score: 5\n';
    const res = await post(app, { files: [{ name: 'basic.yaml', text: fixture }, { name: 'bad.yaml', text: bad }], ...WINDOW });
    expect(res.statusCode).toBe(400);
    const body = res.json<{ code: string; message: string; details: { field: string; file: string; ruleId: string; line: number; column: number; message: string }[] }>();
    expect(body.code).toBe('CALMPAY_ERR_RULES_INVALID');
    expect(body.message).toBe('The candidate rule files have 2 error(s)');
    expect(body.details.map(({ message: _m, ...where }) => where)).toEqual([
      { field: 'files.1', file: 'bad.yaml', ruleId: 'a', line: 3, column: 9 },
      { field: 'files.1', file: 'bad.yaml', ruleId: 'b', line: 7, column: 19 },
    ]);
    expect(body.details[0]!.message).toContain('payer.agee');
  });

  it('names every bad field of the body', async () => {
    const res = await post(app, { files: [], from: 'yesterday', model: '', extra: 1 });
    expect(res.statusCode).toBe(400);
    const body = res.json<{ code: string; details: { field: string }[] }>();
    expect(body.code).toBe('CALMPAY_ERR_VALIDATION');
    expect(body.details.map((d) => d.field).sort()).toEqual(['extra', 'files', 'from', 'model']);
  });

  it('rejects a window that ends before it starts, and an unknown model', async () => {
    const reversed = await post(app, { files: candidateFiles(fixture), from: WINDOW.to, to: WINDOW.from });
    expect(reversed.statusCode).toBe(400);
    expect(reversed.json()).toEqual({
      code: 'CALMPAY_ERR_VALIDATION',
      message: 'Invalid fields: from',
      details: [{ field: 'from', message: 'must be before to (2026-11-10T00:00:00.000Z)' }],
    });
    for (const [model, message] of [
      ['no-such-model', 'no model no-such-model.json in the models directory'],
      ['../models/calmpay-gbdt-s1', 'must be a model file name in the models directory without .json (letters, digits, . _ -)'],
    ] as const) {
      const res = await post(app, { files: candidateFiles(fixture), model, ...WINDOW });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toEqual({ code: 'CALMPAY_ERR_VALIDATION', message: 'Invalid fields: model', details: [{ field: 'model', message }] });
    }
  });

  it('answers 404 for an unknown job', async () => {
    for (const id of ['bt-00000000-0000-0000-0000-000000000000', 'not-a-job']) {
      const res = await get(app, `/v1/rules/backtest/${id}`);
      expect(res.statusCode).toBe(404);
      expect(res.json()).toEqual({ code: 'CALMPAY_ERR_NOT_FOUND', message: `No backtest job ${id}`, details: [{ field: 'id', message: 'no such backtest job' }] });
    }
  });

  it('reports a job whose node stopped as failed', async () => {
    const id = 'bt-11111111-2222-3333-4444-555555555555';
    const old = new Date(Date.now() - 5 * 60_000);
    await app.sql.query(
      `INSERT INTO backtest_jobs (job_id, state, request, rows_done, rows_total, created_at, updated_at) VALUES ($1, 'running', '{}'::jsonb, 5, 10, $2, $2)`,
      [id, old],
    );
    const job = (await get(app, `/v1/rules/backtest/${id}`)).json<BacktestJobView>();
    expect(job.state).toBe('failed');
    expect(job.progress).toEqual({ rowsDone: 5, rowsTotal: 10 });
    expect(job.error).toMatch(/^no progress for 3\d\d s: the node running the job stopped; start it again$/);
  });

  it('documents its routes in the OpenAPI document', async () => {
    const doc = (await app.server.inject({ method: 'GET', url: '/docs/json' })).json<{ paths: Record<string, unknown> }>();
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/rules/backtest', '/v1/rules/backtest/{id}', '/v1/rules/shadow']));
  });

  it('needs the rules:write scope', async () => {
    const scorer = newApiKey('scorer', ['score']);
    const other = await testApp({ API_KEYS: JSON.stringify([scorer.entry]) });
    try {
      const res = await other.server.inject({
        method: 'POST',
        url: '/v1/rules/backtest',
        headers: { authorization: `Bearer ${scorer.key}`, 'content-type': 'application/json' },
        payload: JSON.stringify({ files: candidateFiles(fixture) }),
      });
      expect(res.statusCode).toBe(403);
    } finally {
      await other.close();
    }
  });
});

describe.each(SQL_BACKENDS)('GET /v1/rules/shadow in %s', (backend) => {
  let app: TestApp;
  const db = testSql(backend);
  beforeAll(async () => {
    app = await testApp({ API_KEYS: JSON.stringify([analyst.entry]), ...db.env });
    await seedHistory(app.sql);
  });
  afterAll(async () => {
    await app.close();
    await db.cleanup();
  });

  const nightShadow = {
    ruleId: 'night-shadow',
    description: 'Night-time transfer (shadow)',
    action: 'block',
    score: 50,
    hits: 1,
    hitRate: 1 / 9,
    reportedScams: 1,
    precision: 1,
    recall: 1 / 3,
    alreadyActedOn: 0,
    firstHitAt: '2026-11-10T02:00:00.000Z',
    lastHitAt: '2026-11-10T02:00:00.000Z',
    rulesVersions: { 'files-older': 1 },
  };

  it("counts the shadow rules' hits and the reported scams among them", async () => {
    const res = await get(app, `/v1/rules/shadow?from=${WINDOW.from}&to=${WINDOW.to}`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      window: { from: '2026-11-10T00:00:00.000Z', to: '2026-11-11T00:00:00.000Z' },
      rulesVersion: app.rules.current.version,
      decisions: 9,
      reportedScams: 3,
      rules: [nightShadow],
    });
  });

  it('answers for one rule, and zero hits outside the window', async () => {
    const one = await get(app, `/v1/rules/shadow?ruleId=night-shadow&from=${WINDOW.from}&to=${WINDOW.to}`);
    expect(one.json<{ rules: unknown[] }>().rules).toEqual([nightShadow]);
    const later = await get(app, `/v1/rules/shadow?from=2026-11-12T00:00:00Z&to=2026-11-13T00:00:00Z`);
    expect(later.json()).toMatchObject({
      decisions: 0,
      reportedScams: 0,
      rules: [{ ruleId: 'night-shadow', hits: 0, hitRate: 0, reportedScams: 0, precision: null, recall: null, firstHitAt: null, rulesVersions: {} }],
    });
  });

  it('rejects a bad query and a rule that is not in shadow mode', async () => {
    const bad = await get(app, '/v1/rules/shadow?from=monday&limit=3');
    expect(bad.statusCode).toBe(400);
    expect(bad.json<{ details: { field: string }[] }>().details.map((d) => d.field).sort()).toEqual(['from', 'limit']);
    const active = await get(app, '/v1/rules/shadow?ruleId=rapid-repeat');
    expect(active.statusCode).toBe(404);
    expect(active.json()).toEqual({
      code: 'CALMPAY_ERR_NOT_FOUND',
      message: `No shadow rule rapid-repeat in the active rule set ${app.rules.current.version}`,
      details: [{ field: 'ruleId', message: 'is not a shadow rule of the active rule set' }],
    });
  });
});

describe('bounds on the work a client can ask for', () => {
  let app: TestApp;
  let store: SqlStore;
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  beforeAll(async () => {
    store = await testSql('pglite').open();
    // jobs stay queued or running until the test releases them
    const sql: SqlStore = {
      ...store,
      query: async <R>(text: string, params?: readonly SqlParam[]) => {
        if (text.includes("SET state = 'running'")) await released;
        return store.query<R>(text, params);
      },
    };
    app = await testApp({ API_KEYS: JSON.stringify([analyst.entry]), BACKTEST_MAX_JOBS: '2', BACKTEST_MAX_WINDOW_DAYS: '30', SHADOW_STATS_MAX_WINDOW_DAYS: '10' }, { sql });
    await seedHistory(store);
  });
  afterAll(async () => {
    release();
    await app.close();
    await store.close();
  });

  it('answers 429 beyond BACKTEST_MAX_JOBS jobs queued or running, recording nothing, until one ends', async () => {
    expect((await post(app, { files: candidateFiles(fixture), ...WINDOW })).statusCode).toBe(202);
    expect((await post(app, { files: candidateFiles(fixture), ...WINDOW })).statusCode).toBe(202);
    const refused = await post(app, { files: candidateFiles(fixture), model: 'calmpay-gbdt-s1', ...WINDOW });
    expect(refused.statusCode).toBe(429);
    expect(refused.json()).toEqual({
      code: 'CALMPAY_ERR_BACKTESTS_BUSY',
      message: '2 backtest job(s) are already queued or running on this node, the most it takes at once (BACKTEST_MAX_JOBS); retry when one has finished',
      details: [{ field: '', message: 'at most 2 backtest job(s) queued or running at once on a node (BACKTEST_MAX_JOBS = 2)' }],
    });
    const { rows } = await store.query<{ n: number }>('SELECT count(*)::int AS n FROM backtest_jobs');
    expect(rows[0]!.n).toBe(2);
    release();
    await app.backtests.idle();
    const { job } = await runJob(app, { files: candidateFiles(fixture), ...WINDOW });
    expect(job).toMatchObject({ state: 'done', progress: { rowsDone: 8, rowsTotal: 8 } });
  });

  it('refuses a backtest window longer than BACKTEST_MAX_WINDOW_DAYS', async () => {
    const res = await post(app, { files: candidateFiles(fixture), from: '2023-01-01T00:00:00Z', to: WINDOW.to });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({
      code: 'CALMPAY_ERR_VALIDATION',
      message: 'Invalid fields: from',
      details: [{ field: 'from', message: 'must be at most 30 days before to (2026-11-11T00:00:00.000Z): the window is limited to 30 days (BACKTEST_MAX_WINDOW_DAYS)' }],
    });
    const { rows } = await store.query<{ n: number }>('SELECT count(*)::int AS n FROM backtest_jobs');
    expect(rows[0]!.n).toBe(3); // the two jobs and the one run above: nothing for the refused window
  });

  it('refuses a shadow statistics window longer than SHADOW_STATS_MAX_WINDOW_DAYS', async () => {
    const res = await get(app, `/v1/rules/shadow?from=2026-10-31T23:00:00Z&to=${WINDOW.to}`);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({
      code: 'CALMPAY_ERR_VALIDATION',
      message: 'Invalid fields: from',
      details: [{ field: 'from', message: 'must be at most 10 days before to (2026-11-11T00:00:00.000Z): the window is limited to 10 days (SHADOW_STATS_MAX_WINDOW_DAYS)' }],
    });
    const ok = await get(app, `/v1/rules/shadow?from=2026-11-01T00:00:00Z&to=${WINDOW.to}`);
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ decisions: 9 });
  });
});

describe('a backtest with a candidate model', () => {
  let app: TestApp;
  // seeded transfers, one in eight following a scam pattern (bench/feature-vectors.ts), so the
  // model scores some of them high; stored without a model score
  const vectors = generateFeatureVectors(400, 7);
  const MODEL_WINDOW = { from: '2026-11-12T00:00:00Z', to: '2026-11-13T00:00:00Z' };
  beforeAll(async () => {
    app = await testApp({ MODELS_DIR: MODELS });
    const base = seededRows()[4]!;
    await new DecisionHistory(app.sql).insert(
      vectors.map((v, i) => ({ ...base, transferId: `m-${i}`, occurredAtMs: Date.parse(MODEL_WINDOW.from) + i * 1000, amount: Number(v[idx('amount')]), features: v })),
    );
  });
  afterAll(async () => {
    await app.close();
  });

  it('scores the candidate side with the model and names it in the report', async () => {
    const { job } = await runJob(app, { files: [{ name: 'basic.yaml', text: fixture }], model: 'calmpay-gbdt-s1', ...MODEL_WINDOW });
    expect(job.state).toBe('done');
    const r = job.result!;
    expect(r.candidate.model).toEqual({ name: 'calmpay-gbdt', version: 's1' });
    expect(r.replayed).toBe(400);
    // the expected candidate actions, from the manifest's own trees (not the ONNX session) and the policy
    const manifest = parseManifest(readFileSync(path.join(MODELS, 'calmpay-gbdt-s1.json'), 'utf8'));
    if (!manifest.ok) throw new Error(manifest.problems.join('; '));
    const policy = replayPolicy(loadConfig({}).scoring);
    const expected = { allow: 0, warn: 0, cool_off: 0, block: 0 };
    for (const v of vectors) {
      const p = Math.round(predictProbability(manifest.manifest.ensemble, encodeVector(v)) * 1e6) / 1e6;
      const ctx = { amount: Number(v[idx('amount')]), modelScore: p, guardianBlocked: false, featuresDegraded: false };
      expected[replayDecision(app.rules.current, v, ctx, policy).action]++;
    }
    const actionsOf = (t: Record<string, { transfers: number }>) => Object.fromEntries(Object.entries(t).map(([a, x]) => [a, x.transfers]));
    expect(actionsOf(r.totals.candidate)).toEqual(expected);
    // the model moved transfers: the same rules without it (the active side) decide fewer of them
    expect(r.totals.candidate.allow.transfers).toBeLessThan(r.totals.active.allow.transfers);
    expect(r.changes.transitions.length).toBeGreaterThan(0);
  });
});

import { cpSync, mkdtempSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { activate, insertVersion } from '../../src/rules/versions/rule-version-store.ts';
import { FIXTURE_RULES, testApp, startedApp } from '../helpers/app.ts';
import { testSql } from '../helpers/sql.ts';
import { until } from '../helpers/until.ts';

/**
 * Defects found in review of the rule lifecycle (issue 7), each with the scenario that showed it:
 * a version committed in SQL that no node announced; a file watcher event without a change; a
 * rule promoted from shadow tripping the safety cap on its own shadow-time share.
 */
type TestApp = Awaited<ReturnType<typeof testApp>>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const apps: { close(): Promise<void> }[] = [];
afterAll(async () => {
  for (const a of apps.reverse()) await a.close();
});

describe('a version committed in SQL that no node announced', () => {
  it('reaches every node through the poll (the committing node died before announcing)', async () => {
    const sql = await testSql('pglite').open();
    apps.push(sql);
    const prefix = `test-rvr-${Date.now()}-${Math.random().toString(36).slice(2)}:`;
    const env = { REDIS_KEY_PREFIX: prefix, RULES_POLL_MS: '100', RULES_SAFETY_CAP: 'false' };
    const a: TestApp = await startedApp(env, { sql });
    apps.push(a);
    const b: TestApp = await startedApp(env, { sql });
    apps.push(b);
    const files = a.rules.current.files.map((f) => ({ name: f.name, text: f.text.replace('score: 40', 'score: 42') }));
    // what the dead node's transaction left: a new active version, no Redis pointer, no message
    const id = await sql.transaction(async (tx) => {
      const v = await insertVersion(tx, { contentVersion: 'files-0000dead0000', files, ruleCount: 4, author: 'alice', comment: 'x', createdAt: new Date(), baseId: 1, status: 'approved' });
      await activate(tx, v, 'alice', new Date());
      return v;
    });
    await until(() => a.ruleVersions.active.version.id === id && b.ruleVersions.active.version.id === id, 'both nodes to load the committed version');
    // and the Redis pointer is raised for the processes that follow it (npm run worker)
    expect((await a.redis.get(`${prefix}{rules}:active`))?.endsWith(`:${id}`)).toBe(true);
  });
});

describe('the rule file watcher', () => {
  it('publishes nothing for an event that leaves the files as they were, and publishes a real edit', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'calmpay-watch-review-'));
    cpSync(FIXTURE_RULES, dir, { recursive: true });
    const app: TestApp = await startedApp({ RULES_DIR: dir, WATCH_RULES: 'true', RULES_SAFETY_CAP: 'false' });
    apps.push(app);
    const files = app.rules.current.files.map((f) => ({ name: f.name, text: f.text.replace('score: 40', 'score: 45') }));
    const put = await app.server.inject({ method: 'PUT', url: '/v1/rules', payload: { files, comment: 'api change', author: 'alice' } });
    expect(put.statusCode).toBe(201);
    expect(app.ruleVersions.active.version.id).toBe(2);

    const file = path.join(dir, readdirSync(dir).find((x) => x.endsWith('.yaml'))!);
    const now = new Date();
    utimesSync(file, now, now); // touch: same content
    writeFileSync(file, readFileSync(file, 'utf8')); // an editor saving without a change
    await sleep(1_500);
    expect(app.ruleVersions.active.version).toMatchObject({ id: 2, author: 'alice' });

    writeFileSync(file, readFileSync(file, 'utf8').replace('score: 40', 'score: 47'));
    await until(() => app.ruleVersions.active.version.id === 3, 'the edit to be published');
    expect(app.ruleVersions.active.version.author).toBe('files');
  });
});

describe('the safety cap and a rule promoted from shadow', () => {
  it('counts shadow hits into the baseline, so a rule made to act at its shadow-time share does not trip', async () => {
    const real = Date.now();
    let t = real - 40 * 60_000;
    const app: TestApp = await startedApp(
      {
        RULES_SAFETY_CAP_FLUSH_MS: '60000',
        RULES_SAFETY_CAP_MIN_SAMPLE: '30',
        RULES_SAFETY_CAP_MULTIPLE: '10',
        RULES_SAFETY_CAP_MIN_SHARE_PCT: '5',
        RULES_SAFETY_CAP_WINDOW_MINUTES: '5',
        FEATURES_DEADLINE_MS: '10000',
      },
      { clock: () => t },
    );
    apps.push(app);
    const original = app.rules.current.files;
    const shadowed = original.map((f) => ({
      name: f.name,
      text: f.text.replace('scam_type: impersonation\n- id: elderly', 'scam_type: impersonation\n  mode: shadow\n- id: elderly'),
    }));
    expect((await app.server.inject({ method: 'PUT', url: '/v1/rules', payload: { files: shadowed, comment: 'shadow first', author: 'alice' } })).statusCode).toBe(201);
    expect(app.rules.current.rules.find((r) => r.id === 'large-to-new-payee')?.mode).toBe('shadow');
    let n = 0;
    const scoreBatch = async (count: number) => {
      for (let i = 0; i < count; i++) {
        n++;
        const r = await app.server.inject({
          method: 'POST',
          url: '/v1/transfers/score',
          payload: {
            transferId: `rvr-cap-${n}`,
            occurredAt: new Date(t).toISOString(),
            amount: i % 2 === 0 ? 20_000 : 500,
            currency: 'CNY',
            payer: { accountId: `rvr-cap-p-${n}` },
            payee: { accountId: `rvr-cap-q-${n}` },
          },
        });
        expect(r.statusCode).toBe(200);
      }
      await app.ruleHits!.tick();
    };
    // the hour before: the rule fires on half the traffic, in shadow
    await scoreBatch(60);
    t = real - 20 * 60_000;
    await scoreBatch(60);
    // promoted unchanged: the same share now acts, which is no jump
    t = real;
    expect((await app.server.inject({ method: 'PUT', url: '/v1/rules', payload: { files: original, comment: 'promote', author: 'alice' } })).statusCode).toBe(201);
    expect(app.rules.current.rules.find((r) => r.id === 'large-to-new-payee')?.mode).toBe('active');
    await scoreBatch(60);
    expect(app.ruleVersions.active.version.author).toBe('alice');
    expect(app.rules.current.rules.find((r) => r.id === 'large-to-new-payee')?.mode).toBe('active');
  });
});

import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildApp, type App, type AppOverrides } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { redisUrl } from './redis.ts';
import { testSql } from './sql.ts';

export const FIXTURE_RULES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/rules');
const NO_MODELS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/no-models');

/**
 * An app over the shared test Redis with its own key prefix, so tests never see each other's state,
 * and its own SQL database: an in-memory PGlite unless `env` names a DATABASE_URL (see
 * test/helpers/sql.ts for a Postgres schema of its own) or `overrides.sql` is given.
 *
 * Built, not started: no background loop runs (rule sync, decision sink, reconciler, hit
 * counter, lifecycle worker, watchers). Tests that need them use startedApp().
 */
export async function testApp(env: Record<string, string> = {}, given: AppOverrides = {}): Promise<App & { prefix: string }> {
  // TEST_SCORE_BY_STEPS=1: every app of the run scores by the split steps on one Redis (issue 15; docs/development.md)
  const overrides: AppOverrides = process.env.TEST_SCORE_BY_STEPS === '1' ? { scoreBySteps: true, ...given } : given;
  const prefix = `test-${randomUUID()}:`;
  const config = loadConfig({
    REDIS_URL: redisUrl(),
    REDIS_KEY_PREFIX: prefix,
    RULES_DIR: FIXTURE_RULES,
    WATCH_RULES: 'false',
    // rules alone unless a test names a model directory: the shipped model would change scores
    MODELS_DIR: NO_MODELS,
    WATCH_MODELS: 'false',
    LOG_LEVEL: 'silent',
    // many tests score fixed dates (the README's example of 2026-11-21) on the real clock: they
    // must not start failing once that date is MAX_EVENT_AGE_DAYS old (occurred-at-window.test.ts tests the bound)
    MAX_EVENT_AGE_DAYS: '36500',
    ...env,
  });
  if (config.store.sql.databaseUrl !== undefined || overrides.sql !== undefined) {
    return Object.assign(await buildApp(config, overrides), { prefix });
  }
  const sql = await testSql('pglite').open();
  const app = await buildApp(config, { ...overrides, sql }).catch(async (err: unknown) => {
    await sql.close();
    throw err;
  });
  const closeApp = app.close.bind(app);
  return Object.assign(app, {
    prefix,
    async close() {
      await closeApp();
      await sql.close();
    },
  });
}

/** testApp() with its background loops begun (app.start()), as `npm start` runs it. */
export async function startedApp(env: Record<string, string> = {}, overrides: AppOverrides = {}): Promise<App & { prefix: string }> {
  const app = await testApp(env, overrides);
  await app.start().catch(async (err: unknown) => {
    await app.close();
    throw err;
  });
  return app;
}

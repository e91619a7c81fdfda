import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildApp, type App, type AppOverrides } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { redisUrl } from './redis.ts';

export const FIXTURE_RULES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/rules');

/** An app over the shared test Redis with its own key prefix, so tests never see each other's state. */
export async function testApp(env: Record<string, string> = {}, overrides: AppOverrides = {}): Promise<App & { prefix: string }> {
  const prefix = `test-${randomUUID()}:`;
  const config = loadConfig({
    REDIS_URL: redisUrl(),
    REDIS_KEY_PREFIX: prefix,
    RULES_DIR: FIXTURE_RULES,
    WATCH_RULES: 'false',
    LOG_LEVEL: 'silent',
    ...env,
  });
  const app = await buildApp(config, overrides);
  return Object.assign(app, { prefix });
}

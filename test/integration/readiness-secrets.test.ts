import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redactUrl } from '../../src/store/sql/sql-store.ts';
import { testApp } from '../helpers/app.ts';
import { redisUrl } from '../helpers/redis.ts';

type TestApp = Awaited<ReturnType<typeof testApp>>;

/**
 * Issue 19: /readyz is public and showed the Redis URL with its password, while the Postgres
 * one was masked. Both are masked the same way now. The shared test Redis has no password; its
 * `default` user accepts any, so a URL carrying one connects as a protected one would.
 */
describe('/readyz masks the Redis password', () => {
  const secret = 's3cret-Redis-pw';
  const plain = new URL(redisUrl());
  const withPassword = `redis://default:${secret}@${plain.host}`;
  let app: TestApp;

  beforeAll(async () => {
    app = await testApp({ REDIS_URL: withPassword });
  }, 120_000);
  afterAll(async () => {
    await app?.close();
  });

  it('answers with the Redis URL without its password', async () => {
    const res = await app.server.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.body).not.toContain(secret);
    expect(res.json().checks.redis).toEqual({ ready: true, detail: `redis://default:***@${plain.host}` });
  });
});

describe('redactUrl', () => {
  it('masks a password in the user info or in a password query parameter, for Redis as for Postgres', () => {
    expect(redactUrl('redis://:pw1@h:6379/0')).toBe('redis://:***@h:6379/0');
    expect(redactUrl('rediss://user:pw2@h:6380')).toBe('rediss://user:***@h:6380');
    expect(redactUrl('redis://h:6379/0?password=pw3&db=1')).toBe('redis://h:6379/0?password=***&db=1');
    expect(redactUrl('postgres://u:pw4@h/db?sslmode=require')).toBe('postgres://u:***@h/db?sslmode=require');
    expect(redactUrl('not a url', 'redis')).toBe('redis (unparseable URL)');
  });
});

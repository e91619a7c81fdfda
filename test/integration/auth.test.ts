import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newApiKey, RateLimiter } from '../../src/http/api-keys.ts';
import { testApp } from '../helpers/app.ts';

type TestApp = Awaited<ReturnType<typeof testApp>>;

describe('rate limits per API key', () => {
  const limited = newApiKey('partner', ['score']);
  const rotated = newApiKey('partner', ['score']);
  let app: TestApp;
  beforeAll(async () => {
    app = await testApp({
      API_KEYS: JSON.stringify([
        { ...limited.entry, rateLimit: 3 },
        { ...rotated.entry, rateLimit: 3 },
      ]),
    });
  });
  afterAll(async () => {
    await app.close();
  });

  // a body that fails validation still passes authentication and counts against the limit
  const call = (key: string) =>
    app.server.inject({ method: 'POST', url: '/v1/transfers/score', headers: { authorization: `Bearer ${key}` }, payload: {} });

  it('answers 429 with Retry-After past the limit, and both keys of a rotation share one allowance', async () => {
    const statuses = [];
    for (const key of [limited.key, rotated.key, limited.key, rotated.key]) statuses.push((await call(key)).statusCode);
    expect(statuses).toEqual([400, 400, 400, 429]);
    const res = await call(limited.key);
    expect(res.statusCode).toBe(429);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.json()).toEqual({
      code: 'CALMPAY_ERR_RATE_LIMITED',
      message: 'The API key "partner" is over its limit of 3 requests per second on this node',
      details: [],
    });
  });
});

describe('RateLimiter', () => {
  it('refills at its rate and holds at most one second of tokens', () => {
    let t = 0;
    const limiter = new RateLimiter(2, () => t);
    expect([limiter.take(), limiter.take(), limiter.take()]).toEqual([0, 0, 0.5]);
    t = 250;
    expect(limiter.take()).toBeCloseTo(0.25);
    t = 500;
    expect(limiter.take()).toBe(0);
    t = 10_000;
    expect([limiter.take(), limiter.take(), limiter.take()]).toEqual([0, 0, 0.5]);
  });

  it('lets a limit below one a second through once per period', () => {
    let t = 0;
    const limiter = new RateLimiter(0.5, () => t);
    expect(limiter.take()).toBe(0);
    expect(limiter.take()).toBe(2);
    t = 2_000;
    expect(limiter.take()).toBe(0);
  });
});

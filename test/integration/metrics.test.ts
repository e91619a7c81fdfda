import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp } from '../helpers/app.ts';

type TestApp = Awaited<ReturnType<typeof testApp>>;

describe('GET /metrics', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await testApp();
  });
  afterAll(async () => {
    await app.close();
  });

  it('counts decisions by action and age band, rule hits and latency, and not replays', async () => {
    const base = {
      occurredAt: new Date(Date.now() - 1000).toISOString(),
      currency: 'CNY',
      payee: { accountId: 'new-payee' },
      context: { onCall: true },
    };
    const elderly = { ...base, transferId: 'm-1', amount: 20000, payer: { accountId: 'old', birthYear: 1940 } };
    const small = { ...base, transferId: 'm-2', amount: 10, payer: { accountId: 'young', birthYear: 1990 } };
    for (const body of [elderly, elderly, small]) {
      expect((await app.server.inject({ method: 'POST', url: '/v1/transfers/score', payload: body })).statusCode).toBe(200);
    }
    const res = await app.server.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4');
    const lines = res.body.split('\n');
    expect(lines).toEqual(
      expect.arrayContaining([
        '# TYPE calmpay_decisions_total counter',
        'calmpay_decisions_total{action="cool_off",segment="elderly"} 1',
        'calmpay_decisions_total{action="allow",segment="adult"} 1',
        'calmpay_rule_hits_total{rule="large-to-new-payee",mode="active"} 1',
        'calmpay_rule_hits_total{rule="elderly-on-call-new-payee",mode="active"} 1',
        'calmpay_score_duration_seconds_count 2',
        'calmpay_score_duration_seconds_bucket{le="+Inf"} 2',
      ]),
    );
  });
});

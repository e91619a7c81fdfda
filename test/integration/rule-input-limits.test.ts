import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_RULE_SET_CHARS, MAX_RULES } from '../../src/rules/language/limits.ts';
import { testApp } from '../helpers/app.ts';

type TestApp = Awaited<ReturnType<typeof testApp>>;

/**
 * Issue 19: about 1 MiB of long expressions sent to POST /v1/rules/validate held the event loop
 * for 1.5-2.3 s, and scoring on that node with it. Now the size of a rule set is bounded
 * (src/rules/language/limits.ts: a clear 400 naming the limit on every route that takes rule files), and
 * rule files sent through the API are checked on a thread of their own.
 */

/** `amount + amount + ... > 1`: long, valid, and the most work per character for the checker. */
const LONG_SUM = `${Array.from({ length: 420 }, () => 'amount').join(' + ')} > 1`;

/** YAML rules with LONG_SUM, up to `chars` characters. */
function longExpressions(chars: number): string {
  let text = '';
  for (let i = 0; ; i++) {
    const rule = `- id: sum-${i}\n  description: a long sum\n  score: 1\n  when: ${LONG_SUM}\n`;
    if (text.length + rule.length > chars) return text;
    text += rule;
  }
}

describe('rule files: size limits and the event loop', () => {
  let app: TestApp;
  let base: string;
  beforeAll(async () => {
    app = await testApp({ RUN_WORKER: 'false', DECISION_SINK: 'false' });
    base = await app.server.listen({ port: 0, host: '127.0.0.1' });
  }, 120_000);
  afterAll(async () => {
    await app?.close();
  });

  const send = (method: string, url: string, body: unknown) =>
    app.server.inject({ method: method as 'POST', url, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) });

  it.each([
    ['POST', '/v1/rules/validate', {}],
    ['PUT', '/v1/rules', { comment: 'big', author: 'ana' }],
    ['POST', '/v1/rules/backtest', {}],
  ])('%s %s: 1 MiB of long expressions is a 400 naming files and the limit', async (method, url, extra) => {
    const text = longExpressions(1_040_000);
    const res = await send(method, url, { files: [{ name: 'big.yaml', text }], ...extra });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({
      code: 'CALMPAY_ERR_VALIDATION',
      message: 'Invalid fields: files',
      details: [
        { field: 'files', message: `the rule files hold ${text.length} characters; the limit is ${MAX_RULE_SET_CHARS} for the whole rule set (MAX_RULE_SET_CHARS)` },
      ],
    });
  });

  it('more rules than MAX_RULES is a 400 naming the limit, on validate too', async () => {
    const text = Array.from({ length: MAX_RULES + 1 }, (_, i) => `- {id: r-${i}, description: d, when: amount > ${i}, score: 1}\n`).join('');
    expect(text.length).toBeLessThan(MAX_RULE_SET_CHARS);
    const res = await send('POST', '/v1/rules/validate', { files: [{ name: 'many.yaml', text }] });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({
      code: 'CALMPAY_ERR_VALIDATION',
      message: 'Invalid fields: files',
      details: [{ field: 'files', message: `the rule set has more than ${MAX_RULES} rules (MAX_RULES); many.yaml alone holds ${MAX_RULES + 1}` }],
    });
    const published = await send('PUT', '/v1/rules', { files: [{ name: 'many.yaml', text }], comment: 'many', author: 'ana' });
    expect(published.statusCode).toBe(400);
    expect(published.json()).toMatchObject({
      code: 'CALMPAY_ERR_RULES_INVALID',
      details: [{ field: 'files.0', file: 'many.yaml', message: `the rule set has more than ${MAX_RULES} rules (MAX_RULES); many.yaml alone holds ${MAX_RULES + 1}` }],
    });
  });

  it('the largest set the limits allow is checked off the event loop: timers tick and /healthz answers meanwhile', async () => {
    const text = longExpressions(MAX_RULE_SET_CHARS);
    const body = JSON.stringify({ files: [{ name: 'big.yaml', text }] });
    const { status, answer, ticks, healthz } = await whileRunning(base, body);
    expect(status).toBe(200);
    expect(answer).toMatchObject({ valid: true, errors: [], ruleCount: Math.floor(text.length / (text.indexOf('- id: sum-1\n'))) });
    // checking it in the event loop's thread took 0.25-0.5 s with at most a few ticks (all
    // during the upload); on a thread of its own, the loop ticks all along
    expect({ ticks: ticks >= 10, healthz: healthz >= 3 }).toEqual({ ticks: true, healthz: true });
  });
});

/**
 * Sends the body to POST /v1/rules/validate over HTTP and, until it is answered, counts the
 * ticks of a 1 ms interval and the /healthz requests answered one after another.
 */
async function whileRunning(base: string, body: string): Promise<{ status: number; answer: unknown; ticks: number; healthz: number }> {
  let ticks = 0;
  let healthz = 0;
  let done = false;
  const timer = setInterval(() => ticks++, 1);
  const probe = (async () => {
    while (!done) {
      const res = await fetch(`${base}/healthz`);
      await res.arrayBuffer();
      if (!done && res.status === 200) healthz++;
    }
  })();
  try {
    const res = await fetch(`${base}/v1/rules/validate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const answer: unknown = await res.json();
    done = true;
    const counted = { ticks, healthz };
    await probe;
    return { status: res.status, answer, ...counted };
  } finally {
    done = true;
    clearInterval(timer);
  }
}

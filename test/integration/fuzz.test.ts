import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/sim/random.ts';
import { testApp } from '../helpers/app.ts';

type TestApp = Awaited<ReturnType<typeof testApp>>;

/**
 * Hostile and broken input (issue 9): 100,000 generated bodies — wrong types, huge numbers,
 * deep nesting, very long strings, unicode edge cases, prototype-pollution keys, truncated
 * JSON — sent to every route. Every answer is a 4xx with the error shape or a 2xx, never a 5xx;
 * the velocity windows and the decision stream hold exactly the scores that were accepted.
 */

const BODIES = 100_000;
const rand = mulberry32(20261121);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

const NASTY_STRINGS = [
  '',
  ' ',
  '\u0000',
  '\ud800', // lone surrogate
  '\u202e\u0644\u0627', // right-to-left override
  '\u200b\u200d\ufeff', // zero-width characters
  '𝕏😀🏳️‍🌈',
  '{a:b}',
  '../../etc/passwd',
  '%00%2e%2e',
  '<script>alert(1)</script>',
  "' OR 1=1 --",
  'constructor',
  '__proto__',
  'x'.repeat(129),
  'é'.repeat(5_000),
];
const NASTY_NUMBERS = [0, -0, -1, 1e308, -1e308, 5e-324, 2 ** 53 + 1, 1.0000000000000002, 123456789.123456789];
const POLLUTION = ['__proto__', 'constructor', 'prototype'];

function validEvent(i: number): Record<string, unknown> {
  return {
    transferId: `fz-${i}`,
    occurredAt: new Date(Date.now() - 60_000).toISOString(),
    amount: 1 + Math.floor(rand() * 5000),
    currency: 'CNY',
    payer: { accountId: `fp-${i % 97}`, birthYear: 1950 + (i % 60) },
    payee: { accountId: `fq-${i % 89}` },
  };
}

function nasty(depth = 0): unknown {
  const kind = Math.floor(rand() * 9);
  switch (kind) {
    case 0:
      return pick(NASTY_STRINGS);
    case 1:
      return pick(NASTY_NUMBERS);
    case 2:
      return pick([true, false, null]);
    case 3:
      return depth > 3 ? [] : Array.from({ length: Math.floor(rand() * 4) }, () => nasty(depth + 1));
    case 4: {
      if (depth > 3) return {};
      const o: Record<string, unknown> = {};
      for (let k = 0; k < 3; k++) o[pick(['a', 'amount', 'payer', 'accountId', ...POLLUTION])] = nasty(depth + 1);
      return o;
    }
    default:
      return pick(NASTY_STRINGS);
  }
}

function deepNesting(n: number): string {
  return `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
}

/** A body as the raw text sent, and whether it is a valid transfer event. */
function body(i: number): { text: string; valid: boolean } {
  const e = validEvent(i);
  switch (Math.floor(rand() * 10)) {
    case 0:
      return { text: JSON.stringify(e), valid: true };
    case 1: {
      // one field replaced by something hostile
      const key = pick(['transferId', 'occurredAt', 'amount', 'currency', 'payer', 'payee', 'channel', 'context']);
      return { text: JSON.stringify({ ...e, [key]: nasty() }), valid: false };
    }
    case 2: {
      // a nested field replaced
      const side = pick(['payer', 'payee']);
      return { text: JSON.stringify({ ...e, [side]: { ...(e[side] as object), [pick(['accountId', 'birthYear', 'timeZone', 'deviceId'])]: nasty() } }), valid: false };
    }
    case 3:
      // prototype pollution spelled out in the JSON text itself
      return { text: JSON.stringify(e).replace(/^\{/, `{"${pick(POLLUTION)}":{"isAdmin":true},`), valid: false };
    case 4: {
      // truncated JSON
      const t = JSON.stringify(e);
      return { text: t.slice(0, Math.floor(rand() * (t.length - 1))), valid: false };
    }
    case 5:
      return { text: deepNesting(1 + Math.floor(rand() * 2_000)), valid: false };
    case 6:
      return { text: JSON.stringify({ ...e, memo: 'm'.repeat(Math.floor(rand() * 40_000)) }), valid: false };
    case 7:
      return { text: JSON.stringify(nasty()), valid: false };
    case 8:
      return { text: pick(['', 'null', '[]', '"x"', '1e999', 'NaN', '{"amount": 1e999}', '\u0000', '{"a":1,}']), valid: false };
    default:
      return { text: JSON.stringify({ ...e, amount: pick([...NASTY_NUMBERS, '100', null, [], {}]) }), valid: false };
  }
}

describe('fuzz: every route, 100,000 generated bodies', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await testApp({ RUN_WORKER: 'false', DECISION_SINK: 'false' });
  });
  afterAll(async () => {
    await app.close();
  });

  it('answers every body with a 4xx in the error shape or a 2xx, and records only accepted scores', async () => {
    const routes = app.server.calmpayRoutes.filter((r) => r.url.startsWith('/v1/'));
    const statuses = new Map<number, number>();
    const accepted = new Set<string>();
    const idPool = ['x-1', 'fz-1', '%F0%9F%98%80', 'a'.repeat(200), '..%2F..', '%00', 'constructor', '__proto__'];
    for (let i = 0; i < BODIES; i++) {
      const route = i % 3 === 0 ? routes.find((r) => r.url === '/v1/transfers/score')! : pick(routes);
      const url = route.url.replace(/:([a-zA-Z]+)/g, () => pick(idPool));
      const b = body(i);
      const res = await app.server.inject({
        method: route.method as 'POST',
        url,
        headers: { 'content-type': pick(['application/json', 'application/json', 'text/plain', 'application/x-www-form-urlencoded']) },
        payload: route.method === 'GET' || route.method === 'DELETE' ? undefined : b.text,
      });
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      if (res.statusCode >= 500 || res.statusCode < 200) {
        throw new Error(`${route.method} ${url} answered ${res.statusCode} to ${JSON.stringify(b.text.slice(0, 300))}: ${res.body.slice(0, 300)}`);
      }
      if (res.statusCode >= 400) {
        const e = res.json() as { code?: unknown; message?: unknown; details?: unknown };
        if (typeof e.code !== 'string' || !e.code.startsWith('CALMPAY_ERR_') || typeof e.message !== 'string' || !Array.isArray(e.details)) {
          throw new Error(`${route.method} ${url} answered ${res.statusCode} without the error shape: ${res.body.slice(0, 300)}`);
        }
      } else if (route.url === '/v1/transfers/score') {
        accepted.add((JSON.parse(b.text) as { transferId: string }).transferId);
      }
    }
    // only the bodies that were valid transfer events were scored
    expect(accepted.size).toBeGreaterThan(1_000);
    expect([...statuses.keys()].every((s) => s < 500)).toBe(true);
    await new Promise((r) => setTimeout(r, 200));
    const claims = await app.redis.keys(`${app.prefix}{t:*}`);
    const claimed = new Set(claims.filter((k) => !k.endsWith(':d') && !k.includes('}:')).map((k) => k.slice(k.indexOf('{t:') + 3, -1)));
    expect([...claimed].sort()).toEqual([...accepted].sort());
    expect(await app.redis.xlen(`${app.prefix}{decisions}`)).toBe(accepted.size);
  }, 600_000);
});

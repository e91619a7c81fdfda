import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  ContextSchema,
  eventHash,
  FAST_PARSE_KEYS,
  parseTransferEvent,
  PayeeSchema,
  PayerSchema,
  TransferEventSchema,
  type TransferEvent,
} from '../../src/features/transfer-event.ts';
import { exampleTransfer } from '../helpers/example-event.ts';
import { checkPart, PARSE_MESSAGES } from '../../src/http/validation.ts';
import { ScoreBody } from '../../src/http/routes/score.ts';
import { mulberry32, transferGenerator } from '../../bench/transfer-gen.ts';

/**
 * parseTransferEvent (the scoring route's parser) checks the common valid event itself and
 * leaves everything else to zod: it must give zod's answer for every input, byte for byte.
 */

const year = new Date().getUTCFullYear();

const base = (): Record<string, unknown> => exampleTransfer({ language: 'zh' });

/** Values to put in a field: valid and invalid ones for every rule of the schema. */
const VALUES: unknown[] = [
  undefined, null, true, false, 0, -0, 1, -1, 1.5, 1899, 1900, year + 1, year + 2, 2 ** 53, 1e12, 1e12 + 1, Number.NaN, Infinity,
  '', 'a', 'a b', 'x'.repeat(128), 'x'.repeat(129), 'x'.repeat(201), 'x'.repeat(501), 'ABC', 'CNY', 'cny', 'XXX', 'CNYY',
  'app', 'APP', 'web_2', 'x'.repeat(33), 'UTC', 'Asia/Calcutta', 'Asia/Shanghai', 'Mars/Base', 'x'.repeat(65),
  '2026-11-21T03:10:00Z', '2026-11-21T03:10:00.123+08:00', '2026-02-29T00:00:00Z', '2028-02-29T00:00:00Z', '2026-11-21T03:10:00',
  '2026-11-21 03:10:00Z', '2026-11-21T24:00:00Z', 'p-1', 'q-7', 'p-1@x/=+:.', 'zh-CN', 'x'.repeat(36), '中文',
  '\u0000', 'a\u0000b', 'Asia/\u0000Shanghai',
  [], ['a'], {}, { accountId: 'p-2' }, { accountId: 'q-7' }, { newDevice: true }, { unknown: 1 },
];

function paths(o: Record<string, unknown>, prefix: string[] = []): string[][] {
  const out: string[][] = [];
  for (const [k, v] of Object.entries(o)) {
    out.push([...prefix, k]);
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) out.push(...paths(v as Record<string, unknown>, [...prefix, k]));
  }
  return out;
}

function withValue(o: Record<string, unknown>, path: readonly string[], value: unknown, remove: boolean): Record<string, unknown> {
  const copy = structuredClone(o);
  let target = copy;
  for (const k of path.slice(0, -1)) target = target[k] as Record<string, unknown>;
  const last = path[path.length - 1]!;
  if (remove) delete target[last];
  else target[last] = value;
  return copy;
}

function expectSameAsZod(input: unknown): void {
  const fast = parseTransferEvent(input);
  const zod = TransferEventSchema.safeParse(input, PARSE_MESSAGES);
  expect(fast.success).toBe(zod.success);
  if (fast.success && zod.success) {
    // key order matters: the idempotency hash is taken over the JSON of the parsed event
    expect(JSON.stringify(fast.data)).toBe(JSON.stringify(zod.data));
    expect(eventHash(fast.data)).toBe(eventHash(zod.data));
    expect(fast.data).toStrictEqual(zod.data);
  } else if (!fast.success && !zod.success) {
    expect(fast.error.issues).toEqual(zod.error.issues);
  }
}

describe('parseTransferEvent', () => {
  it('knows exactly the keys of the schema, in its order', () => {
    expect(FAST_PARSE_KEYS.event).toEqual(Object.keys(TransferEventSchema.shape));
    expect(FAST_PARSE_KEYS.payer).toEqual(Object.keys(PayerSchema.shape));
    expect(FAST_PARSE_KEYS.payee).toEqual(Object.keys(PayeeSchema.shape));
    expect(FAST_PARSE_KEYS.context).toEqual(Object.keys(ContextSchema.shape));
  });

  it('gives the object zod gives for a full and a minimal event, in the schema key order', () => {
    expectSameAsZod(base());
    const minimal = { payee: { accountId: 'q' }, payer: { accountId: 'p' }, currency: 'USD', amount: 0.01, occurredAt: '2026-01-01T00:00:00+01:00', transferId: 'm' };
    expectSameAsZod(minimal);
    const parsed = parseTransferEvent(minimal);
    expect(parsed.success && Object.keys(parsed.data)).toEqual(['transferId', 'occurredAt', 'amount', 'currency', 'payer', 'payee']);
  });

  it('gives zod\'s answer, result or errors, for every field set to every kind of value or removed', () => {
    const event = base();
    let checked = 0;
    for (const path of paths(event)) {
      expectSameAsZod(withValue(event, path, undefined, true));
      for (const value of VALUES) {
        expectSameAsZod(withValue(event, path, value, false));
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(1000);
  });

  it('leaves unknown keys, non-plain objects and the same-account rule to zod', () => {
    expectSameAsZod({ ...base(), extra: 1 });
    expectSameAsZod({ ...base(), payer: { ...(base().payer as object), accountId: 'q-7' } });
    expectSameAsZod(Object.assign(Object.create({ inherited: 1 }) as object, base()));
    expectSameAsZod(JSON.parse('{"__proto__": {"x": 1}, "transferId": "t"}'));
    for (const input of [null, undefined, 1, 'x', [], [base()], new Map()]) expectSameAsZod(input);
  });

  it('hashes an event the same whichever order its keys were sent in', () => {
    const e = base();
    const reversed = Object.fromEntries(Object.entries(e).reverse());
    const a = parseTransferEvent(e);
    const b = parseTransferEvent(reversed);
    expect(a.success && b.success).toBe(true);
    if (a.success && b.success) expect(eventHash(a.data)).toBe(eventHash(b.data));
  });

  it('keeps the idempotency hash: SHA-1 of the event JSON without the language', () => {
    const parsed = TransferEventSchema.parse(base()) as TransferEvent;
    // the digest stored with claims made before this version
    const { language: _language, ...identity } = parsed;
    expect(eventHash(parsed)).toBe(createHash('sha1').update(JSON.stringify(identity)).digest('base64url'));
    expect(eventHash({ ...parsed, language: undefined })).toBe(eventHash(parsed));
    expect(eventHash({ ...parsed, amount: parsed.amount + 0.01 })).not.toBe(eventHash(parsed));
  });

  it('gives zod\'s answer on 5,000 random bodies: generated events with random fields changed, removed or added', () => {
    const rand = mulberry32(20261206);
    const next = transferGenerator({ seed: 3, payers: 50, payees: 80, runId: 'rv', mix: 'retail' });
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const EXTRA_KEYS = ['extra', 'birthyear', 'language', 'memo', 'name', '__proto__', 'constructor'];
    let accepted = 0;
    for (let i = 0; i < 5_000; i++) {
      const event = JSON.parse(JSON.stringify(next())) as Record<string, unknown>;
      if (rand() < 0.3) event.language = pick(['en', 'zh', 'zh-CN', '', 'x'.repeat(36), 'a\u0000']);
      // 0 to 3 random edits; a quarter of the bodies stay as generated
      const edits = Math.floor(rand() * 4);
      let body: Record<string, unknown> = event;
      for (let k = 0; k < edits; k++) {
        const all = paths(body);
        if (all.length === 0) break;
        const path = pick(all);
        const kind = rand();
        if (kind < 0.15) body = withValue(body, path, undefined, true);
        else if (kind < 0.25) body = withValue(body, [...path.slice(0, -1), pick(EXTRA_KEYS)], pick(VALUES), false);
        else body = withValue(body, path, pick(VALUES), false);
      }
      expectSameAsZod(body);
      // the route's own path: the schema with its fast path, as requestValidator runs it
      const routed = checkPart(ScoreBody, 'body', body);
      const zod = TransferEventSchema.safeParse(body, PARSE_MESSAGES);
      expect(routed.ok).toBe(zod.success);
      if (routed.ok && zod.success) {
        expect(JSON.stringify(routed.value)).toBe(JSON.stringify(zod.data));
        accepted++;
      }
    }
    // both kinds were exercised
    expect(accepted).toBeGreaterThan(1_000);
    expect(accepted).toBeLessThan(4_000);
  }, 120_000);
});

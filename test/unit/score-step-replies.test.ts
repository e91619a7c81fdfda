import { describe, expect, it } from 'vitest';
import {
  decodeClaimStep,
  decodeDeviceStep,
  decodePayeeStep,
  decodePayerStep,
  decodeStoredClaim,
  stateFromParts,
  velocityReplyFromParts,
  assembleSteps,
} from '../../src/features/score-step-replies.ts';
import { decodeVelocityReply } from '../../src/features/velocity-state.ts';
import { ScriptReplyError } from '../../src/store/script-reply.ts';

/** Distinct integers, so a mapping that takes one from the wrong place shows. */
const payerInts = Array.from({ length: 15 }, (_, i) => 100 + i);
const payeeInts = Array.from({ length: 21 }, (_, i) => 200 + i);

const fails = (decode: () => unknown, message: string): void => {
  expect(decode).toThrow(ScriptReplyError);
  expect(decode).toThrow(message);
};

describe('the split score step replies (src/store/lua/score-step-*.lua)', () => {
  it('puts each step integer where the single script has it', () => {
    const body = velocityReplyFromParts({ ints: payerInts, currency: 'CNY' }, payeeInts, [300]);
    expect(body).toEqual([
      100, 101, 102, 103, 104, 105, 106, 107, // payer out windows
      108, 109, // last, distinct payees
      215, 216, // pair count and first (payee step)
      110, // device new (payer step)
      300, // device distinct payers
      200, 201, 202, 203, 204, 205, 206, 207, // payee in windows
      208, 209, 210, 211, 212, 213, 214, // out sums, distinct / new payers, reports
      111, 112, 113, 114, // guardian
      'CNY',
      217, 218, 219, 220, // aged reports (payee step)
    ]);
    expect(velocityReplyFromParts({ ints: payerInts, currency: '' }, payeeInts, null)[13]).toBe(-1);
  });

  it('decodes each kind of reply', () => {
    expect(decodeClaimStep([0])).toEqual({ kind: 'claimed' });
    expect(decodeClaimStep([1, 'h|5|pending', ''])).toEqual({ kind: 'claimed-before', claim: { form: 'pending', eventHash: 'h', claimedAtMs: 5 }, decision: null });
    expect(decodeClaimStep([1, 'h', '{"action":"allow"}'])).toEqual({ kind: 'claimed-before', claim: { form: 'legacy', eventHash: 'h' }, decision: '{"action":"allow"}' });
    const body = velocityReplyFromParts({ ints: payerInts.map((v, i) => (i === 11 ? 1 : v)), currency: 'CNY' }, payeeInts, [3]);
    expect(decodeStoredClaim(`h|7|${body.slice(0, 33).join(',')}|CNY|${body.slice(34).join(',')}`)).toEqual({ form: 'complete', eventHash: 'h', claimedAtMs: 7, state: decodeVelocityReply(body) });
    expect(decodeVelocityReply(body).payeeReportsAged).toEqual({ last1d: 217, last7d: 218, last28d: 219, decayed: 0.22 });
    // a claim of the version before the aged reports: they read as missing
    expect(decodeStoredClaim(`h|7|${body.slice(0, 33).join(',')}|CNY`)).toEqual({ form: 'complete', eventHash: 'h', claimedAtMs: 7, state: { ...decodeVelocityReply(body), payeeReportsAged: null } });
    fails(() => decodeStoredClaim(`h|7|${body.slice(0, 33).join(',')}|CNY|1,2`), 'expected 4 comma-separated integers');
    expect(decodePayerStep([0, `${payerInts.join(',')}|CNY`])).toEqual({ kind: 'ran', part: { ints: payerInts, currency: 'CNY' } });
    expect(decodePayerStep([1, `${payerInts.join(',')}|`])).toEqual({ kind: 'repeat', part: { ints: payerInts, currency: '' } });
    expect(decodePayerStep([2, 'Asia/Shanghai'])).toEqual({ kind: 'zone', zone: 'Asia/Shanghai' });
    expect(decodePayeeStep([3, 'other'])).toEqual({ kind: 'conflict', eventHash: 'other' });
    expect(decodeDeviceStep([0, '4'])).toEqual({ kind: 'ran', part: [4] });
  });

  it('fails with an error naming the step on a reply of another shape', () => {
    fails(() => decodePayerStep([0, payerInts.join(',')]), "score-step-payer script replied");
    fails(() => decodePayerStep([0, `${payerInts.slice(1).join(',')}|`]), 'expected 15 comma-separated integers');
    fails(() => decodePayeeStep([2, 'Asia/Shanghai']), 'score-step-payee script replied [2,"Asia/Shanghai"]: unknown code 2');
    fails(() => decodeDeviceStep([0, 'x']), 'expected 1 comma-separated integers');
    fails(() => decodeClaimStep([1, 'h|x|pending', '']), 'claim time is not an integer');
    fails(() => decodeClaimStep('OK'), 'expected an array');
  });

  it('adds up a pending claim of this event from its steps, and keeps the claim of another event', () => {
    const payer = { kind: 'repeat', part: { ints: payerInts.map((v, i) => (i === 11 ? 0 : v)), currency: '' } } as const;
    const payee = { kind: 'ran', part: payeeInts } as const;
    const claim = { kind: 'claimed-before', claim: { form: 'pending', eventHash: 'h', claimedAtMs: 5 }, decision: null } as const;
    expect(assembleSteps('t', 'h', { claim, payer, payee, device: null })).toEqual({
      kind: 'duplicate',
      eventHash: 'h',
      decision: null,
      claimedAtMs: 5,
      pending: true,
      countedNow: ['payee'],
      state: stateFromParts(payer.part, payeeInts, null),
    });
    expect(assembleSteps('t', 'other', { claim, payer: { kind: 'conflict', eventHash: 'h' }, payee, device: null })).toMatchObject({ state: null, countedNow: ['payee'] });
  });
});

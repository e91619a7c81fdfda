import { describe, expect, it } from 'vitest';
import { decodeReportFlagsReply } from '../../src/cases/report-flags.ts';
import { decodeDeadLetterRemoveReply, decodeDeadLetterReply, decodeTransitionReply } from '../../src/cooling/lifecycle-store.ts';
import { decodeScoreReply } from '../../src/features/score-reply.ts';
import { AGED_REPORT_INTS, VELOCITY_REPLY_LENGTH } from '../../src/features/velocity-state.ts';
import { ScriptReplyError } from '../../src/store/script-reply.ts';

/** A new transfer's velocity reply: no history, no guardian limits. */
const velocity = (): number[] => {
  const r = new Array<number>(VELOCITY_REPLY_LENGTH).fill(0);
  for (const i of [8, 11, 12, 13, 28, 31, 32]) r[i] = -1;
  return r;
};

const fails = (decode: () => unknown, message: string): void => {
  expect(decode).toThrow(ScriptReplyError);
  expect(decode).toThrow(message);
};

describe('decodeScoreReply', () => {
  it('decodes each kind of reply', () => {
    const fresh = decodeScoreReply([0, ...velocity(), '', 0, 0, 0, 0]);
    expect(fresh.kind).toBe('new');
    expect(fresh.kind === 'new' && fresh.state.payerLastMs).toBeNull();
    const reported = decodeScoreReply([0, ...velocity(), '', 1, 2, 3, 1_503]);
    expect(reported.kind === 'new' && reported.state.payeeReportsAged).toEqual({ last1d: 1, last7d: 2, last28d: 3, decayed: 1.503 });
    expect(decodeScoreReply([1, 'h|1|0', '{"action":"allow"}'])).toEqual({ kind: 'duplicate', claim: 'h|1|0', decision: '{"action":"allow"}' });
    expect(decodeScoreReply([1, 'h', ''])).toEqual({ kind: 'duplicate', claim: 'h', decision: null });
    expect(decodeScoreReply([2, 'Asia/Shanghai'])).toEqual({ kind: 'zone', zone: 'Asia/Shanghai' });
  });

  it('fails with a clear error on a reply of another shape', () => {
    fails(() => decodeScoreReply('OK'), 'score-features script replied "OK": expected an array');
    fails(() => decodeScoreReply([]), 'score-features script replied []: expected at least 1 elements, got 0');
    fails(() => decodeScoreReply([3, 'x']), 'score-features script replied [3,"x"]: unknown code 3 at 0 (expected 0, 1, 2)');
    fails(() => decodeScoreReply(['0']), 'score-features script replied ["0"]: expected an integer at 0, got "0"');
    fails(() => decodeScoreReply([0, 1, 2]), `score-features script replied [0,1,2]: expected at least ${VELOCITY_REPLY_LENGTH + 2 + AGED_REPORT_INTS} elements, got 3`);
    fails(() => decodeScoreReply([1, 'h']), 'score-features script replied [1,"h"]: expected at least 3 elements, got 2');
    fails(() => decodeScoreReply([2, 7]), 'score-features script replied [2,7]: expected a string at 1, got 7');
  });
});

describe('decodeReportFlagsReply', () => {
  it('decodes a recorded and a repeated report', () => {
    expect(decodeReportFlagsReply([1, 3, 2, 1_700_000_000_000])).toEqual({ recorded: true, flags: { count: 3, reporters: 2, lastMs: 1_700_000_000_000 } });
    expect(decodeReportFlagsReply([0, 0, 0, -1])).toEqual({ recorded: false, flags: { count: 0, reporters: 0, lastMs: null } });
  });

  it('fails with a clear error on a reply of another shape', () => {
    fails(() => decodeReportFlagsReply([1, 3, 2]), 'report-flags script replied [1,3,2]: expected at least 4 elements, got 3');
    fails(() => decodeReportFlagsReply([2, 3, 2, 1]), 'report-flags script replied [2,3,2,1]: unknown code 2 at 0 (expected 0, 1)');
    fails(() => decodeReportFlagsReply([1, '3', 2, 1]), 'report-flags script replied [1,"3",2,1]: expected an integer at 1, got "3"');
    fails(() => decodeReportFlagsReply(null), 'report-flags script replied null: expected an array');
  });
});

describe('decodeTransitionReply', () => {
  it('decodes each outcome', () => {
    expect(decodeTransitionReply('confirm-transfer', [1, 'COOLING_OFF', 'evt_1'])).toEqual({ kind: 'moved', state: 'COOLING_OFF', eventId: 'evt_1' });
    expect(decodeTransitionReply('confirm-transfer', [0, 'COOLING_OFF'])).toEqual({ kind: 'repeat', state: 'COOLING_OFF' });
    expect(decodeTransitionReply('cancel-transfer', [-1, ''])).toEqual({ kind: 'missing' });
    expect(decodeTransitionReply('cancel-transfer', [-2, 'RELEASED'])).toEqual({ kind: 'refused', state: 'RELEASED' });
    expect(decodeTransitionReply('expire-hold', [-3, 'COOLING_OFF', 1_700_000_000_000])).toEqual({ kind: 'early', untilMs: 1_700_000_000_000 });
  });

  it('fails with a clear error naming the script on a reply of another shape', () => {
    fails(() => decodeTransitionReply('confirm-transfer', [1, 'COOLING_OFF']), 'confirm-transfer script replied [1,"COOLING_OFF"]: expected at least 3 elements, got 2');
    fails(() => decodeTransitionReply('review-transfer', [1, 'PAID', 'evt_1']), 'review-transfer script replied [1,"PAID","evt_1"]: unknown state "PAID" at 1');
    fails(() => decodeTransitionReply('abandon-transfer', [7, 'WARNED']), 'abandon-transfer script replied [7,"WARNED"]: unknown code 7 at 0 (expected 1, 0, -1, -2, -3)');
    fails(() => decodeTransitionReply('expire-hold', [-3, 'COOLING_OFF', 'soon']), 'expire-hold script replied [-3,"COOLING_OFF","soon"]: expected an integer at 2, got "soon"');
  });
});

describe('decodeDeadLetterReply', () => {
  it('decodes recorded now and recorded before', () => {
    expect(decodeDeadLetterReply(1)).toBe(true);
    expect(decodeDeadLetterReply(0)).toBe(false);
  });

  it('fails with a clear error on a reply of another shape', () => {
    fails(() => decodeDeadLetterReply(2), 'dead-letter script replied 2: unknown code 2 (expected 1, 0)');
    fails(() => decodeDeadLetterReply('1'), 'dead-letter script replied "1": expected an integer, got "1"');
    fails(() => decodeDeadLetterReply(null), 'dead-letter script replied null: expected an integer, got null');
    fails(() => decodeDeadLetterReply([1]), 'dead-letter script replied [1]: expected an integer, got [1]');
  });
});

describe('decodeDeadLetterRemoveReply', () => {
  it('decodes the count removed', () => {
    expect(decodeDeadLetterRemoveReply(0, 3)).toBe(0);
    expect(decodeDeadLetterRemoveReply(3, 3)).toBe(3);
  });

  it('fails with a clear error on a reply of another shape', () => {
    fails(() => decodeDeadLetterRemoveReply(4, 3), 'dead-letter-remove script replied 4: expected a count from 0 to 3');
    fails(() => decodeDeadLetterRemoveReply(-1, 3), 'dead-letter-remove script replied -1: expected a count from 0 to 3');
    fails(() => decodeDeadLetterRemoveReply(1.5, 3), 'dead-letter-remove script replied 1.5: expected an integer, got 1.5');
    fails(() => decodeDeadLetterRemoveReply('2', 3), 'dead-letter-remove script replied "2": expected an integer, got "2"');
  });
});

import { replyArray, replyCode, replyString } from '../store/script-reply.ts';
import { AGED_REPORT_INTS, decodeVelocityReply, VELOCITY_REPLY_LENGTH, type VelocityState } from './velocity-state.ts';

/** The score-features script's reply (src/store/lua/score-features.lua), as a value. */
export type ScoreReply =
  /** a new transferId: the velocity state before it (the script recorded the transfer) */
  | { readonly kind: 'new'; readonly state: VelocityState }
  /** an already claimed transferId: its claim as stored, and its decision if recorded */
  | { readonly kind: 'duplicate'; readonly claim: string; readonly decision: string | null }
  /** the payer's guardian limits use another time zone: nothing changed, call again in it */
  | { readonly kind: 'zone'; readonly zone: string };

const SCRIPT = 'score-features';

/** Decodes {0, 33 integers, limits currency, 4 integers (aged reports)} | {1, claim, decision or ''} | {2, time zone}. */
export function decodeScoreReply(reply: unknown): ScoreReply {
  switch (replyCode(SCRIPT, reply, [0, 1, 2] as const, 0)) {
    case 0:
      return { kind: 'new', state: decodeVelocityReply(replyArray(SCRIPT, reply, 1 + VELOCITY_REPLY_LENGTH + 1 + AGED_REPORT_INTS).slice(1) as (number | string)[]) };
    case 1: {
      const decision = replyString(SCRIPT, reply, 2);
      return { kind: 'duplicate', claim: replyString(SCRIPT, reply, 1), decision: decision === '' ? null : decision };
    }
    case 2:
      return { kind: 'zone', zone: replyString(SCRIPT, reply, 1) };
  }
}

/**
 * The transfer lifecycle of DESIGN §2 as data: the states, which payer/analyst action is legal
 * from which state, and the names of the events that announce each transition.
 *
 * The Lua scripts in src/store/lua/ (`*-transfer.lua`, `expire-hold.lua`, `escalate-hold.lua`)
 * are the authority that applies a transition atomically; this table is what the API uses to
 * explain a refusal, and test/integration/cooling-lifecycle.test.ts checks the two agree.
 *
 * ```
 * score ─► ALLOWED | BLOCKED                  (no lifecycle: the synchronous answer is final)
 *   └───► WARNED ─confirm─► COOLING_OFF ─expiry, re-check─► RELEASED | HELD_FOR_REVIEW
 *            │      └─(risk below HOLD_RISK_AT)─► RELEASED
 *            │      └─(payee reported since the decision)─► HELD_FOR_REVIEW
 *            └─cancel / no answer─► ABANDONED
 *   COOLING_OFF ─cancel─► CANCELLED;  COOLING_OFF ─new scam report on the payee─► HELD_FOR_REVIEW
 *   HELD_FOR_REVIEW ─analyst release─► RELEASED;  ─analyst reject─► REJECTED;  ─payer cancel─► CANCELLED
 * ```
 */

export const TRANSFER_STATES = [
  'ALLOWED',
  'BLOCKED',
  'WARNED',
  'COOLING_OFF',
  'HELD_FOR_REVIEW',
  'RELEASED',
  'CANCELLED',
  'ABANDONED',
  'REJECTED',
] as const;
export type TransferState = (typeof TRANSFER_STATES)[number];

/** States after which the money moves or never will. */
export const FINAL_STATES: ReadonlySet<TransferState> = new Set(['ALLOWED', 'BLOCKED', 'RELEASED', 'CANCELLED', 'ABANDONED', 'REJECTED']);

export function isTransferState(s: unknown): s is TransferState {
  return typeof s === 'string' && (TRANSFER_STATES as readonly string[]).includes(s);
}

/** What a caller of the API can ask for. */
export const TRANSFER_ACTIONS = ['confirm', 'cancel', 'release', 'reject'] as const;
export type TransferAction = (typeof TRANSFER_ACTIONS)[number];

/** The states each action moves a transfer out of. */
export const LEGAL_FROM: Readonly<Record<TransferAction, readonly TransferState[]>> = {
  confirm: ['WARNED'],
  cancel: ['WARNED', 'COOLING_OFF', 'HELD_FOR_REVIEW'],
  release: ['HELD_FOR_REVIEW'],
  reject: ['HELD_FOR_REVIEW'],
};

/**
 * The states in which repeating an action is answered with the current state and no new
 * transition (idempotency): a second cancel of a cancelled or abandoned transfer, a second
 * confirm of a confirmed one (wherever it went since), a second review with the same verdict.
 * "Confirmed" and "reviewed" are flags in the transfer's hash; this table names only the
 * states where the repeat can be recognised from the state alone.
 */
export const REPEAT_STATES: Readonly<Record<TransferAction, readonly TransferState[]>> = {
  confirm: [],
  cancel: ['CANCELLED', 'ABANDONED'],
  release: [],
  reject: [],
};

const WHY_NOT: Readonly<Partial<Record<TransferState, string>>> = {
  ALLOWED: 'it was allowed when scored and needs no answer from the payer',
  BLOCKED: 'it was blocked when scored',
  WARNED: 'the payer has not confirmed it yet',
  COOLING_OFF: 'it is in its cooling-off hold',
  HELD_FOR_REVIEW: 'it is held for review by an analyst',
  RELEASED: 'it has been released; the money has moved',
  CANCELLED: 'it was cancelled',
  ABANDONED: 'the payer did not go ahead after the warning',
  REJECTED: 'an analyst rejected it',
};

/** The 409 message for an action the current state does not allow, naming the state. */
export function illegalTransitionMessage(transferId: string, action: TransferAction, state: TransferState): string {
  const legal = LEGAL_FROM[action].join(' or ');
  return `Cannot ${action} transfer ${transferId}: it is ${state} (${WHY_NOT[state] ?? state}); ${action} needs ${legal}`;
}

/** The webhook event type announcing a transition into `state`. */
export function eventType(state: TransferState): string {
  return `transfer.${state.toLowerCase()}`;
}

/**
 * The BullMQ job id of a transfer's cooling-off timer: the transfer id itself, so a timer
 * survives restarts and adding it twice is one timer. BullMQ refuses custom ids that are
 * integers or contain ':' (both legal in transfer ids); those are escaped into a form that
 * cannot collide with any raw id ('~' and '%' never occur in transfer ids).
 */
export function holdJobId(transferId: string): string {
  if (/^-?\d+$/.test(transferId) || transferId.includes(':')) return `~${transferId.replaceAll(':', '%3A')}`;
  return transferId;
}

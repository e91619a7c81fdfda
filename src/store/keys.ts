import { readFileSync } from 'node:fs';
import { plainIds, type Pseudonymise } from './pseudonyms.ts';

/**
 * Every Redis key and Lua script of calmpay, in one place (STYLE: BullMQ's habit).
 *
 * Keys carry a hash tag per entity — `{a:<account>}`, `{d:<device>}`, `{t:<transfer>}` — so
 * Redis Cluster places all state of one entity in one slot. Everything is under a
 * configurable prefix (REDIS_KEY_PREFIX, default `cp:`) so tests and tenants can share a server.
 * Every key has a TTL except the bounded decision stream and guardian limits (kept until a
 * guardian removes them), and the lifecycle keys of src/cooling whose entries are removed by
 * the transitions that end them: a transfer in cooling-off or held for review, its indexes
 * (awaiting, due, holds), the outbox (emptied by the relay), trusted contacts, dead letters;
 * and the rule version pointer (one small string, a copy of the SQL store's pointer) with its
 * version's rule files (one string, replaced by the next version).
 */
export interface Keys {
  readonly prefix: string;
  /**
   * The name an account (`a`) or device (`d`) id has in Redis, in keys and in set members:
   * the id itself, or its keyed hash with ACCOUNT_ID_HASH_KEY (src/store/pseudonyms.ts).
   */
  storedId(kind: 'a' | 'd', id: string): string;
  /** idempotency claim of a transfer: the hash of the event first scored under its id */
  tx(transferId: string): string;
  /** the decision first given for a transfer (same slot as its claim) */
  txDecision(transferId: string): string;
  /** velocity windows of amounts an account sent (also: time of its last transfer) */
  accountOut(accountId: string): string;
  /** velocity windows of amounts an account received */
  accountIn(accountId: string): string;
  /** payees an account paid in the last 24h */
  accountPayees(accountId: string): string;
  /** payers into an account in the last 24h (fan-in) */
  accountPayers(accountId: string): string;
  /** payers who paid an account for the first time in the last 24h */
  accountNewPayers(accountId: string): string;
  /** devices an account has used, with first-seen time */
  accountDevices(accountId: string): string;
  /** scam-report flags of an account as a payee (case library) */
  accountReports(accountId: string): string;
  /** case ids whose reports are counted in accountReports (idempotency of report-flags) */
  accountReportCases(accountId: string): string;
  /** digests of the distinct reporters of the cases counted in accountReports */
  accountReporters(accountId: string): string;
  /** case id -> reported-at ms of an account's newest reports as a payee (the aged report features, issue 16) */
  accountReportTimes(accountId: string): string;
  /**
   * guardian limits of an account, its spend per local day and what each transfer added to it
   * (no TTL: set and removed by a guardian; spend records are dropped with their day)
   */
  accountGuardian(accountId: string): string;
  /**
   * first time and count of payer -> payee transfers (in the payer's slot; score-features.lua
   * reads it; the split score's payer step writes it for a rollback, issue 15)
   */
  pair(payerId: string, payeeId: string): string;
  /**
   * the same pair in the payee's slot, for the split score (score-step-payee.lua; issue 15); also
   * written by score-features.lua (release A's dual write) and `npm run redis:migrate`
   */
  pairIn(payeeId: string, payerId: string): string;
  /** marker of an account's score step for a transfer: '<event hash>|<the step's reply>' (issue 15) */
  accountStep(accountId: string, transferId: string): string;
  /** marker of a device's score step for a transfer (issue 15) */
  deviceStep(deviceId: string, transferId: string): string;
  /** payers seen on a device in the last 24h */
  devicePayers(deviceId: string): string;
  /** the bounded decision stream (DESIGN §4 step 6) */
  decisionStream(): string;
  /** lifecycle of a warned transfer (src/cooling): state, decision summary, features, hold */
  txState(transferId: string): string;
  /** audit trail of a transfer's lifecycle: one JSON entry per transition */
  txAudit(transferId: string): string;
  /**
   * on a Redis Cluster, the effects of a transfer's transitions not applied yet (field = seq,
   * value = JSON; lifecycle-common.lua), as long-lived as its lifecycle hash (issue 15)
   */
  txEffects(transferId: string): string;
  /** transfers to this payee in their cooling-off hold (escalated at once on a new scam report) */
  accountHolds(accountId: string): string;
  /** trusted contact of a payer, told when a hold starts (no TTL: set and removed through the API) */
  accountContact(accountId: string): string;
  /** warned transfers awaiting the payer: id -> warning deadline ms (swept into ABANDONED) */
  lifecycleAwaiting(): string;
  /** transfers in cooling-off: id -> hold end ms (the worker's overdue sweep) */
  lifecycleDue(): string;
  /** the lifecycle outbox: one entry per transition, deleted once relayed to delivery jobs */
  lifecycleEvents(): string;
  /** on a Redis Cluster, transitions in flight: transfer id -> ms, swept by the worker (lifecycle-intent.lua) */
  lifecyclePending(): string;
  /** on a Redis Cluster, marker that a transition's outbox entry was appended (lifecycle-effects.lua) */
  lifecycleEventMarker(eventId: string): string;
  /** deliveries (webhooks, notifications) that failed their last attempt */
  deadLetters(): string;
  /** marker that a delivery job was dead-lettered (once per job) */
  deadLetterMarker(jobKey: string): string;
  /** what was done to dead letters (redriven, cleared), by whom and when; newest first, capped */
  deadLetterAudit(): string;
  /** prefix of the BullMQ queues (timers, webhooks, notifications); hash-tagged on a cluster (KeyOptions) */
  bullPrefix(): string;
  /** the active rule version, `<generation>:<version id>` (issue 7; the SQL store is the truth) */
  rulesPointer(): string;
  /**
   * the active version's rule files, JSON `{generation, versionId, files: [{name, text}]}`, written
   * with the pointer (rules-pointer.lua) for processes without SQL (src/rules/versions/rule-version-follower.ts)
   */
  rulesActiveFiles(): string;
  /** pub/sub channel announcing a new rule pointer (a channel, not a key) */
  rulesChannel(): string;
  /** the safety cap's counts of one minute: `total` and one field per rule id, summed over nodes */
  ruleHits(minute: number): string;
}

export interface KeyOptions {
  /**
   * Redis Cluster (REDIS_CLUSTER_NODES): BullMQ's queue keys carry a hash tag (`{cp:bull}`), as
   * BullMQ's scripts need each queue's keys in one slot. Off (one Redis): `cp:bull` as before,
   * so queues a running engine holds keep their keys.
   */
  readonly cluster?: boolean;
}

export function makeKeys(prefix: string, storedId: Pseudonymise = plainIds, opts: KeyOptions = {}): Keys {
  const a = (id: string): string => `${prefix}{a:${storedId('a', id)}}`;
  return Object.freeze({
    prefix,
    storedId,
    tx: (id: string) => `${prefix}{t:${id}}`,
    txDecision: (id: string) => `${prefix}{t:${id}}:d`,
    accountOut: (id: string) => `${a(id)}:out`,
    accountIn: (id: string) => `${a(id)}:in`,
    accountPayees: (id: string) => `${a(id)}:payees`,
    accountPayers: (id: string) => `${a(id)}:payers`,
    accountNewPayers: (id: string) => `${a(id)}:newpayers`,
    accountDevices: (id: string) => `${a(id)}:devices`,
    accountReports: (id: string) => `${a(id)}:reports`,
    accountReportCases: (id: string) => `${a(id)}:reports:cases`,
    accountReporters: (id: string) => `${a(id)}:reports:by`,
    accountReportTimes: (id: string) => `${a(id)}:reports:at`,
    accountGuardian: (id: string) => `${a(id)}:guardian`,
    pair: (payer: string, payee: string) => `${a(payer)}:pair:${storedId('a', payee)}`,
    pairIn: (payee: string, payer: string) => `${a(payee)}:pairin:${storedId('a', payer)}`,
    accountStep: (id: string, transferId: string) => `${a(id)}:s:${transferId}`,
    deviceStep: (id: string, transferId: string) => `${prefix}{d:${storedId('d', id)}}:s:${transferId}`,
    devicePayers: (id: string) => `${prefix}{d:${storedId('d', id)}}:payers`,
    decisionStream: () => `${prefix}{decisions}`,
    txState: (id: string) => `${prefix}{t:${id}}:s`,
    txAudit: (id: string) => `${prefix}{t:${id}}:audit`,
    txEffects: (id: string) => `${prefix}{t:${id}}:fx`,
    accountHolds: (id: string) => `${a(id)}:holds`,
    accountContact: (id: string) => `${a(id)}:contact`,
    lifecycleAwaiting: () => `${prefix}{lifecycle}:awaiting`,
    lifecycleDue: () => `${prefix}{lifecycle}:due`,
    lifecycleEvents: () => `${prefix}{lifecycle}:events`,
    lifecyclePending: () => `${prefix}{lifecycle}:pending`,
    lifecycleEventMarker: (eventId: string) => `${prefix}{lifecycle}:evt:${eventId}`,
    deadLetters: () => `${prefix}{lifecycle}:dead`,
    deadLetterMarker: (jobKey: string) => `${prefix}{lifecycle}:dead:${jobKey}`,
    deadLetterAudit: () => `${prefix}{lifecycle}:dead-audit`,
    bullPrefix: opts.cluster === true ? () => `{${prefix}bull}` : () => `${prefix}bull`,
    rulesPointer: () => `${prefix}{rules}:active`,
    rulesActiveFiles: () => `${prefix}{rules}:active:files`,
    rulesChannel: () => `${prefix}{rules}:changed`,
    ruleHits: (minute: number) => `${prefix}{rules}:hits:${minute}`,
  });
}

function lua(name: string): string {
  return readFileSync(new URL(`./lua/${name}.lua`, import.meta.url), 'utf8');
}

/**
 * A transfer lifecycle script: guardian-refund.lua (refund_guardian_spend, which the
 * transitions that end a transfer unpaid call), lifecycle-common.lua (transition(), the
 * effects), then the operation.
 */
function lifecycleLua(name: string): string {
  return `${lua('guardian-refund')}\n${lua('lifecycle-common')}\n${lua(name)}`;
}

/** An entity step of the split score: score-step-common.lua, the windows when it keeps some, then the step. */
function scoreStepLua(name: string, windows: boolean, reportAge = false): string {
  return [lua('score-step-common'), ...(windows ? [lua('score-windows')] : []), ...(reportAge ? [lua('report-age')] : []), lua(name)].join('\n');
}

/** Lua scripts, one file per atomic operation; each file's header lists KEYS, ARGV and returns. */
export const SCRIPTS = {
  scoreFeatures: { lua: `${lua('report-age')}\n${lua('score-features')}`, numberOfKeys: 15 },
  scoreStepClaim: { lua: lua('score-step-claim'), numberOfKeys: 2 },
  scoreStepPayer: { lua: scoreStepLua('score-step-payer', true), numberOfKeys: 6 },
  scoreStepPayee: { lua: scoreStepLua('score-step-payee', true, true), numberOfKeys: 8 },
  scoreStepDevice: { lua: scoreStepLua('score-step-device', false), numberOfKeys: 2 },
  reportFlags: { lua: lua('report-flags'), numberOfKeys: 4 },
  registerTransfer: { lua: lifecycleLua('register-transfer'), numberOfKeys: 4 },
  confirmTransfer: { lua: lifecycleLua('confirm-transfer'), numberOfKeys: 7 },
  cancelTransfer: { lua: lifecycleLua('cancel-transfer'), numberOfKeys: 7 },
  expireHold: { lua: lifecycleLua('expire-hold'), numberOfKeys: 6 },
  escalateHold: { lua: lifecycleLua('escalate-hold'), numberOfKeys: 5 },
  reviewTransfer: { lua: lifecycleLua('review-transfer'), numberOfKeys: 4 },
  abandonTransfer: { lua: lifecycleLua('abandon-transfer'), numberOfKeys: 5 },
  // the same transitions on a Redis Cluster: the transfer's slot only, effects applied after (issue 15)
  registerTransferSplit: { lua: lifecycleLua('register-transfer'), numberOfKeys: 3 },
  confirmTransferSplit: { lua: lifecycleLua('confirm-transfer'), numberOfKeys: 3 },
  cancelTransferSplit: { lua: lifecycleLua('cancel-transfer'), numberOfKeys: 3 },
  expireHoldSplit: { lua: lifecycleLua('expire-hold'), numberOfKeys: 3 },
  escalateHoldSplit: { lua: lifecycleLua('escalate-hold'), numberOfKeys: 3 },
  reviewTransferSplit: { lua: lifecycleLua('review-transfer'), numberOfKeys: 3 },
  abandonTransferSplit: { lua: lifecycleLua('abandon-transfer'), numberOfKeys: 3 },
  lifecycleEffects: { lua: lua('lifecycle-effects'), numberOfKeys: 4 },
  lifecycleIntent: { lua: lua('lifecycle-intent'), numberOfKeys: 1 },
  deadLetter: { lua: lua('dead-letter'), numberOfKeys: 2 },
  deadLetterRemove: { lua: lua('dead-letter-remove'), numberOfKeys: 2 },
  rulesPointer: { lua: lua('rules-pointer'), numberOfKeys: 2 },
  mergePairIn: { lua: lua('merge-pair-in'), numberOfKeys: 1 },
  guardianRefund: { lua: `${lua('guardian-refund')}\nreturn refund_guardian_spend(KEYS[1], ARGV[1])`, numberOfKeys: 1 },
} as const;

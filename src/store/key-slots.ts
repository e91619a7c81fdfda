/**
 * The slot audit of calmpay's Redis scripts (issue 15, docs/cluster-keys.md): for every Lua
 * script of keys.ts, the keys its caller passes, in KEYS order, and the entity each belongs
 * to. On a Redis Cluster a script runs only when all its keys hash to one slot; keys.ts gives
 * each entity a hash tag (`{t:<transfer>}`, `{a:<account>}`, `{d:<device>}`, and `{lifecycle}`,
 * `{rules}`, `{decisions}` for global state), so a script is single-slot exactly when its keys
 * carry one tag. The cluster test runs every script on a real cluster against this table.
 *
 * The lists copy the callers (src/features/feature-store.ts scoreScriptCall, src/cooling/
 * lifecycle-store.ts, src/cases/report-flags.ts, src/rules/versions/rule-version-sync.ts);
 * the hot-path split (the next session of issue 15) should make the callers read them from here.
 */
import type { Keys } from './keys.ts';
import { SCRIPTS } from './keys.ts';

export type Entity = 'transfer' | 'payer' | 'payee' | 'device' | 'global';
export type ScriptName = keyof typeof SCRIPTS;

/** The ids one call is about; a script uses those it needs. */
export interface CallIds {
  readonly transferId: string;
  readonly payer: string;
  readonly payee: string;
  readonly device: string;
  /** a delivery job's key (dead letters) */
  readonly jobKey: string;
}

export interface ScriptKey {
  /** what the key holds, as the script's header names it */
  readonly role: string;
  readonly entity: Entity;
  readonly key: (k: Keys, ids: CallIds) => string;
}

const key = (role: string, entity: Entity, fn: (k: Keys, ids: CallIds) => string): ScriptKey => ({ role, entity, key: fn });

const lifecycleHead: readonly ScriptKey[] = [
  key('lifecycle hash', 'transfer', (k, i) => k.txState(i.transferId)),
  key('audit list', 'transfer', (k, i) => k.txAudit(i.transferId)),
  key('outbox stream', 'global', (k) => k.lifecycleEvents()),
];
const awaiting = key('awaiting zset', 'global', (k) => k.lifecycleAwaiting());
const due = key('due zset', 'global', (k) => k.lifecycleDue());
const payeeHolds = key("payee's holds", 'payee', (k, i) => k.accountHolds(i.payee));
const payeeReports = key('payee reports', 'payee', (k, i) => k.accountReports(i.payee));
const payerGuardian = key('payer guardian', 'payer', (k, i) => k.accountGuardian(i.payer));
const payeeReportTimes = key('payee report times', 'payee', (k, i) => k.accountReportTimes(i.payee));

const splitTransition: readonly ScriptKey[] = [
  key('lifecycle hash', 'transfer', (k, i) => k.txState(i.transferId)),
  key('audit list', 'transfer', (k, i) => k.txAudit(i.transferId)),
  key('effects hash', 'transfer', (k, i) => k.txEffects(i.transferId)),
];

export const SCRIPT_KEYS: Readonly<Record<ScriptName, readonly ScriptKey[]>> = {
  scoreFeatures: [
    key('tx claim', 'transfer', (k, i) => k.tx(i.transferId)),
    key('tx decision', 'transfer', (k, i) => k.txDecision(i.transferId)),
    key('payer out', 'payer', (k, i) => k.accountOut(i.payer)),
    key('payer payees', 'payer', (k, i) => k.accountPayees(i.payer)),
    key('pair', 'payer', (k, i) => k.pair(i.payer, i.payee)),
    key('payer devices', 'payer', (k, i) => k.accountDevices(i.payer)),
    key('device payers', 'device', (k, i) => k.devicePayers(i.device)),
    key('payee in', 'payee', (k, i) => k.accountIn(i.payee)),
    key('payee out', 'payee', (k, i) => k.accountOut(i.payee)),
    key('payee payers', 'payee', (k, i) => k.accountPayers(i.payee)),
    key('payee new', 'payee', (k, i) => k.accountNewPayers(i.payee)),
    key('payee reports', 'payee', (k, i) => k.accountReports(i.payee)),
    key('payer guardian', 'payer', (k, i) => k.accountGuardian(i.payer)),
    key('pair in (written only: dual write)', 'payee', (k, i) => k.pairIn(i.payee, i.payer)),
    payeeReportTimes,
  ],
  // the split score (issue 15): one slot each
  scoreStepClaim: [
    key('tx claim', 'transfer', (k, i) => k.tx(i.transferId)),
    key('tx decision', 'transfer', (k, i) => k.txDecision(i.transferId)),
  ],
  scoreStepPayer: [
    key('payer out', 'payer', (k, i) => k.accountOut(i.payer)),
    key('payer payees', 'payer', (k, i) => k.accountPayees(i.payer)),
    key('payer devices', 'payer', (k, i) => k.accountDevices(i.payer)),
    payerGuardian,
    key("payer's marker", 'payer', (k, i) => k.accountStep(i.payer, i.transferId)),
    key("pair (today's layout, written only: rollback)", 'payer', (k, i) => k.pair(i.payer, i.payee)),
  ],
  scoreStepPayee: [
    key('payee in', 'payee', (k, i) => k.accountIn(i.payee)),
    key('payee out', 'payee', (k, i) => k.accountOut(i.payee)),
    key('payee payers', 'payee', (k, i) => k.accountPayers(i.payee)),
    key('payee new', 'payee', (k, i) => k.accountNewPayers(i.payee)),
    payeeReports,
    key('pair (in the payee slot)', 'payee', (k, i) => k.pairIn(i.payee, i.payer)),
    key("payee's marker", 'payee', (k, i) => k.accountStep(i.payee, i.transferId)),
    payeeReportTimes,
  ],
  scoreStepDevice: [
    key('device payers', 'device', (k, i) => k.devicePayers(i.device)),
    key("device's marker", 'device', (k, i) => k.deviceStep(i.device, i.transferId)),
  ],
  reportFlags: [
    key('payee reports', 'payee', (k, i) => k.accountReports(i.payee)),
    key('payee cases', 'payee', (k, i) => k.accountReportCases(i.payee)),
    key('payee reporters', 'payee', (k, i) => k.accountReporters(i.payee)),
    payeeReportTimes,
  ],
  registerTransfer: [
    key('lifecycle hash', 'transfer', (k, i) => k.txState(i.transferId)),
    key('audit list', 'transfer', (k, i) => k.txAudit(i.transferId)),
    awaiting,
    key('outbox stream', 'global', (k) => k.lifecycleEvents()),
  ],
  confirmTransfer: [...lifecycleHead, awaiting, due, payeeHolds, payeeReports],
  cancelTransfer: [...lifecycleHead, awaiting, due, payeeHolds, payerGuardian],
  expireHold: [...lifecycleHead, due, payeeHolds, payeeReports],
  escalateHold: [...lifecycleHead, due, payeeHolds],
  reviewTransfer: [...lifecycleHead, payerGuardian],
  abandonTransfer: [...lifecycleHead, awaiting, payerGuardian],
  // the transitions' cluster form (issue 15): the transfer's slot only; the effects follow per slot
  registerTransferSplit: splitTransition,
  confirmTransferSplit: splitTransition,
  cancelTransferSplit: splitTransition,
  expireHoldSplit: splitTransition,
  escalateHoldSplit: splitTransition,
  reviewTransferSplit: splitTransition,
  abandonTransferSplit: splitTransition,
  lifecycleEffects: [
    awaiting,
    due,
    key('outbox stream', 'global', (k) => k.lifecycleEvents()),
    key("marker of the transition's event", 'global', (k, i) => k.lifecycleEventMarker(`evt_${i.transferId}`)),
  ],
  lifecycleIntent: [key('pending zset', 'global', (k) => k.lifecyclePending())],
  deadLetter: [
    key('dead-letter list', 'global', (k) => k.deadLetters()),
    key('marker of this delivery', 'global', (k, i) => k.deadLetterMarker(i.jobKey)),
  ],
  deadLetterRemove: [
    key('dead-letter list', 'global', (k) => k.deadLetters()),
    key('dead-letter audit list', 'global', (k) => k.deadLetterAudit()),
  ],
  rulesPointer: [
    key('pointer', 'global', (k) => k.rulesPointer()),
    key("the active version's files", 'global', (k) => k.rulesActiveFiles()),
  ],
  guardianRefund: [payerGuardian],
  // npm run redis:migrate (src/cli/redis-migrate.ts): the pair read from the payer's slot is passed as arguments
  mergePairIn: [key('pair in', 'payee', (k, i) => k.pairIn(i.payee, i.payer))],
};

/**
 * The hash tag of a key as Redis Cluster reads it: the text between the first `{` and the
 * first `}` after it, when that is not empty; else the whole key.
 */
export function hashTag(redisKey: string): string {
  const open = redisKey.indexOf('{');
  if (open < 0) return redisKey;
  const close = redisKey.indexOf('}', open + 1);
  if (close < 0 || close === open + 1) return redisKey;
  return redisKey.slice(open + 1, close);
}

/** The distinct hash tags of one call of `script`: one tag means one slot. */
export function scriptTags(script: ScriptName, k: Keys, ids: CallIds): string[] {
  return [...new Set(SCRIPT_KEYS[script].map((s) => hashTag(s.key(k, ids))))];
}

/** The entities whose keys one call of `script` touches, in the order of its KEYS. */
export function scriptEntities(script: ScriptName): Entity[] {
  return [...new Set(SCRIPT_KEYS[script].map((s) => s.entity))];
}

/**
 * The lifecycle transitions whose one-Redis form (the transition and its effects in one atomic
 * step, KEYS of several slots) has a cluster form (`<name>Split`: the transfer's slot only,
 * effects applied after; src/cooling/split-transitions.ts). The one-Redis form never runs on a
 * cluster, so it is not a reason to refuse one.
 */
export const CLUSTER_FORMS: Readonly<Partial<Record<ScriptName, ScriptName>>> = {
  registerTransfer: 'registerTransferSplit',
  confirmTransfer: 'confirmTransferSplit',
  cancelTransfer: 'cancelTransferSplit',
  expireHold: 'expireHoldSplit',
  escalateHold: 'escalateHoldSplit',
  reviewTransfer: 'reviewTransferSplit',
  abandonTransfer: 'abandonTransferSplit',
};

/** The file of a script under src/store/lua (scoreFeatures -> score-features.lua; a cluster form is its transition's file). */
export function luaFile(script: ScriptName): string {
  return `${script.replace(/Split$/, '').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}.lua`;
}

/** Ids of a sample call: distinct, so distinct entities get distinct tags. */
export const SAMPLE_IDS: CallIds = Object.freeze({
  transferId: 'tx-sample',
  payer: 'payer-sample',
  payee: 'payee-sample',
  device: 'device-sample',
  jobKey: 'job-sample',
});

/**
 * Scripts whose keys carry more than one hash tag (CROSSSLOT on a cluster): the ones to split
 * or re-key before calmpay runs on a cluster.
 */
export function crossSlotScripts(k: Keys): ScriptName[] {
  return (Object.keys(SCRIPT_KEYS) as ScriptName[]).filter((s) => scriptTags(s, k, SAMPLE_IDS).length > 1);
}

/**
 * Scripts never sent to a cluster: score-features.lua, the one-Redis score (FeatureStore scores
 * by the split steps on a Cluster, score-steps.ts; issue 15).
 */
export const ONE_REDIS_ONLY: readonly ScriptName[] = ['scoreFeatures'];

/** The cross-slot scripts a cluster would run: those without a cluster form (CLUSTER_FORMS) that run there. */
export function clusterBlockingScripts(k: Keys): ScriptName[] {
  return crossSlotScripts(k).filter((s) => CLUSTER_FORMS[s] === undefined && !ONE_REDIS_ONLY.includes(s));
}

/** What else sends keys of several slots in one request (pipelines, scans); docs/cluster-keys.md. */
export const CROSS_SLOT_REQUESTS: readonly string[] = [];

/**
 * Why the engine refuses to start on a Redis Cluster today (issue 15): named from the audit, so
 * it shrinks as scripts are split. Every script and request is cluster-safe now (the score's
 * steps, the decision write per slot, the lifecycle's cluster forms); what is left is that the
 * processes still open single-Redis connections (RedisConnections.create).
 */
export function clusterRefusal(k: Keys): string {
  const scripts = clusterBlockingScripts(k).map((s) => `${luaFile(s)} (${scriptEntities(s).join(', ')})`);
  const crossSlot = [
    ...(scripts.length > 0 ? [`these Lua scripts touch keys of several entities in one atomic step, which a cluster refuses (CROSSSLOT): ${scripts.join('; ')}`] : []),
    ...(CROSS_SLOT_REQUESTS.length > 0 ? [`these requests span slots (CROSSSLOT): ${CROSS_SLOT_REQUESTS.join('; ')}`] : []),
  ];
  return (
    'REDIS_CLUSTER_NODES is set, but calmpay does not run on a Redis Cluster yet (issue 15): ' +
    (crossSlot.length > 0 ? `${crossSlot.join('; and ')}; and ` : '') +
    'the API process still opens single-Redis connections (RedisConnections.create in src/app.ts); the score, the ' +
    'decision write and the lifecycle transitions themselves are cluster-safe, and `npm run worker` and `npm run sink` run on a cluster. ' +
    'Unset REDIS_CLUSTER_NODES and set REDIS_URL to one Redis (or leave both unset for a local one). ' +
    'What is missing and the plan: docs/cluster-keys.md.'
  );
}

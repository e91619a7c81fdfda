import { CATALOGUE_VERSION, recordToVector, type FeatureValue } from '../../src/features/catalogue.ts';
import type { RuleFileText } from '../../src/rules/language/rule-set.ts';
import { DecisionHistory, type DecisionRow } from '../../src/decisions/decision-history.ts';
import type { SqlStore } from '../../src/store/sql/sql-store.ts';

/**
 * A decision history with a known backtest answer, against the fixture rules
 * (test/fixtures/rules/basic.yaml: large-to-new-payee 40/warn, elderly-on-call-new-payee
 * 30/cool_off, rapid-repeat 10, night-shadow 50/block in shadow; thresholds 30/60/95; degraded
 * policy 2000:allow,*:warn).
 *
 * The candidate removes large-to-new-payee and adds big-amount-block (amount >= 50000, 100, block):
 *
 * | transfer | what                                   | active   | candidate | reported |
 * |----------|----------------------------------------|----------|-----------|----------|
 * | bt-1     | 20000 to a new payee                   | warn     | allow     | no       |
 * | bt-2     | 60000 to a new payee                   | warn     | block     | yes      |
 * | bt-3     | 60000 to a known payee                 | allow    | block     | yes      |
 * | bt-4     | 500, elderly on a call, new payee      | cool_off | cool_off  | no       |
 * | bt-5     | 100, nothing                           | allow    | allow     | no       |
 * | bt-6     | 100 at 02:00 (night-shadow fires)      | allow    | allow     | yes      |
 * | bt-7     | another feature catalogue              | skipped  | skipped   | no       |
 * | bt-8     | outside the window                     | —        | —         | yes      |
 * | bt-9     | 3000 in degraded mode (fail mode warn) | warn     | warn      | no       |
 * | bt-10    | 100, a guardian limit blocked it       | block    | block     | no       |
 *
 * bt-1 was stored as `allow` (an older rule version), so the active set reproduces 7 of the 8.
 */

export const WINDOW = { from: '2026-11-10T00:00:00Z', to: '2026-11-11T00:00:00Z' };

const BIG_AMOUNT_BLOCK = `- id: big-amount-block
  description: Very large transfer
  when: amount >= 50000
  score: 100
  action: block
  scam_type: other
`;

/** The fixture rules with large-to-new-payee removed and big-amount-block added. */
export function candidateFiles(fixture: string): RuleFileText[] {
  const lines = fixture.split('\n');
  const start = lines.findIndex((l) => l === '- id: large-to-new-payee');
  let end = start + 1;
  while (!lines[end]!.startsWith('- id:')) end++;
  return [
    { name: 'basic.yaml', text: [...lines.slice(0, start), ...lines.slice(end)].join('\n') },
    { name: 'candidate.yaml', text: BIG_AMOUNT_BLOCK },
  ];
}

interface Seed {
  readonly id: string;
  readonly at: string;
  readonly amount: number;
  readonly features: Readonly<Record<string, FeatureValue>>;
  readonly stored: string;
  readonly shadow?: readonly string[];
  readonly hits?: readonly string[];
  readonly catalogue?: string;
  readonly degraded?: boolean;
  readonly guardian?: boolean;
  readonly reported?: boolean;
}

const SEEDS: readonly Seed[] = [
  { id: 'bt-1', at: '2026-11-10T10:00:00Z', amount: 20000, features: { 'payee.first_seen': true, 'payer.age_band': 'adult' }, stored: 'allow' },
  { id: 'bt-2', at: '2026-11-10T10:01:00Z', amount: 60000, features: { 'payee.first_seen': true, 'payer.age_band': 'adult' }, stored: 'warn', hits: ['large-to-new-payee'], reported: true },
  { id: 'bt-3', at: '2026-11-10T10:02:00Z', amount: 60000, features: { 'payee.first_seen': false, 'payer.age_band': 'adult' }, stored: 'allow', reported: true },
  {
    id: 'bt-4',
    at: '2026-11-10T10:03:00Z',
    amount: 500,
    features: { 'payee.first_seen': true, 'payer.age_band': 'elderly', 'context.on_call': true },
    stored: 'cool_off',
    hits: ['elderly-on-call-new-payee'],
  },
  { id: 'bt-5', at: '2026-11-10T10:04:00Z', amount: 100, features: { 'payee.first_seen': false }, stored: 'allow' },
  { id: 'bt-6', at: '2026-11-10T02:00:00Z', amount: 100, features: { 'payee.first_seen': false, hour_of_day: 2 }, stored: 'allow', shadow: ['night-shadow'], reported: true },
  { id: 'bt-7', at: '2026-11-10T11:00:00Z', amount: 70000, features: { 'payee.first_seen': true }, stored: 'warn', catalogue: 'fc-older' },
  { id: 'bt-8', at: '2026-11-11T00:00:00Z', amount: 70000, features: { 'payee.first_seen': true }, stored: 'warn', reported: true },
  { id: 'bt-9', at: '2026-11-10T12:00:00Z', amount: 3000, features: {}, stored: 'warn', degraded: true },
  { id: 'bt-10', at: '2026-11-10T12:30:00.123456Z', amount: 100, features: { 'payee.first_seen': false }, stored: 'block', guardian: true },
];

function row(s: Seed): DecisionRow {
  const v = recordToVector({ hour_of_day: 10, ...s.features, amount: s.amount, currency: 'CNY' });
  const decision = {
    transferId: s.id,
    action: s.stored,
    riskScore: 0,
    modelScore: null,
    hits: (s.hits ?? []).map((ruleId) => ({ ruleId })),
    shadowHits: (s.shadow ?? []).map((ruleId) => ({ ruleId })),
    degraded: s.degraded === true ? ['features'] : [],
    guardian: s.guardian === true ? { reason: 'daily', currency: 'CNY', limit: 50, spentToday: 0 } : null,
    rulesVersion: 'files-older',
    decidedAt: s.at,
  };
  return {
    transferId: s.id,
    streamId: `1-${s.id}`,
    occurredAtMs: Date.parse(s.at),
    decidedAtMs: Date.parse(s.at),
    payerId: 'p-1',
    payeeId: 'q-1',
    amount: s.amount,
    currency: 'CNY',
    action: s.stored,
    riskScore: 0,
    modelScore: null,
    scamType: null,
    segment: null,
    rulesVersion: 'files-older',
    modelVersion: null,
    catalogue: s.catalogue ?? CATALOGUE_VERSION,
    hitRules: s.hits ?? [],
    shadowRules: s.shadow ?? [],
    decisionJson: JSON.stringify(decision),
    features: v,
  };
}

/** The seeded decisions as stored (bt-10 with whole milliseconds; seedHistory adds microseconds). */
export function seededRows(): DecisionRow[] {
  return SEEDS.map(row);
}

/** Stores the decisions and a case naming the reported ones. */
export async function seedHistory(sql: SqlStore): Promise<void> {
  await new DecisionHistory(sql).insert(SEEDS.map(row));
  // bt-10 is stored with microseconds, which the keyset cursor must page exactly
  await sql.query(`UPDATE decisions SET occurred_at = '2026-11-10T12:30:00.123456Z' WHERE transfer_id = 'bt-10'`);
  const reported = SEEDS.filter((s) => s.reported === true).map((s) => s.id);
  await sql.query(
    `INSERT INTO cases (case_id, reporter_type, reporter_key, payer_id, payee_id, transfer_ids, amount_lost, currency, scam_type,
                        scam_at, reported_at, received_at)
     VALUES ('c-bt', 'victim', 'victim:p-1', 'p-1', 'q-1', $1::text[], 1, 'CNY', 'other', $2, $2, $2)`,
    [reported, new Date('2026-11-12T00:00:00Z')],
  );
  await sql.query(`INSERT INTO case_transfers (transfer_id, case_id) SELECT unnest($1::text[]), 'c-bt'`, [reported]);
}

const tally = (transfers: number, amount: number, reportedScams: number, reportedAmount: number) => ({
  transfers,
  amount: transfers === 0 ? {} : { CNY: amount },
  reportedScams,
  reportedAmount: reportedScams === 0 ? {} : { CNY: reportedAmount },
});

/** The parts of the report the table above decides. */
export const EXPECTED = {
  replayed: 8,
  skippedOtherCatalogue: 1,
  skippedMalformed: 0,
  reported: tally(3, 120100, 3, 120100),
  totals: {
    stored: { allow: 4, block: 1, cool_off: 1, warn: 2 },
    active: { allow: tally(3, 60200, 2, 60100), warn: tally(3, 83000, 1, 60000), cool_off: tally(1, 500, 0, 0), block: tally(1, 100, 0, 0) },
    candidate: { allow: tally(3, 20200, 1, 100), warn: tally(1, 3000, 0, 0), cool_off: tally(1, 500, 0, 0), block: tally(3, 120100, 2, 120000) },
  },
  activeReproducesStored: 7,
  storedRulesVersions: { 'files-older': 8 },
  changes: {
    newly: { warn: tally(0, 0, 0, 0), cool_off: tally(0, 0, 0, 0), block: tally(2, 120000, 2, 120000) },
    noLonger: { warn: tally(2, 80000, 1, 60000), cool_off: tally(0, 0, 0, 0), block: tally(0, 0, 0, 0) },
  },
  ruleErrors: { active: 0, candidate: 0 },
};

const actions = (allow: number, warn: number, cool_off: number, block: number) => ({ allow, warn, cool_off, block });

export const EXPECTED_RULES = [
  {
    ruleId: 'elderly-on-call-new-payee',
    status: 'unchanged',
    mode: 'active',
    active: { hits: 1, reportedScams: 0, actions: actions(0, 0, 1, 0), lostHits: 0, lostHitsReported: 0 },
    candidate: { hits: 1, reportedScams: 0, actions: actions(0, 0, 1, 0), newHits: 0, newHitsReported: 0, changedAction: 0, changedActionReported: 0 },
  },
  {
    ruleId: 'rapid-repeat',
    status: 'unchanged',
    mode: 'active',
    active: { hits: 0, reportedScams: 0, actions: actions(0, 0, 0, 0), lostHits: 0, lostHitsReported: 0 },
    candidate: { hits: 0, reportedScams: 0, actions: actions(0, 0, 0, 0), newHits: 0, newHitsReported: 0, changedAction: 0, changedActionReported: 0 },
  },
  {
    ruleId: 'night-shadow',
    status: 'unchanged',
    mode: 'shadow',
    active: { hits: 1, reportedScams: 1, actions: actions(1, 0, 0, 0), lostHits: 0, lostHitsReported: 0 },
    candidate: { hits: 1, reportedScams: 1, actions: actions(1, 0, 0, 0), newHits: 0, newHitsReported: 0, changedAction: 0, changedActionReported: 0 },
  },
  {
    ruleId: 'big-amount-block',
    status: 'added',
    mode: 'active',
    active: null,
    candidate: { hits: 2, reportedScams: 2, actions: actions(0, 0, 0, 2), newHits: 2, newHitsReported: 2, changedAction: 2, changedActionReported: 2 },
  },
  {
    ruleId: 'large-to-new-payee',
    status: 'removed',
    mode: 'active',
    active: { hits: 2, reportedScams: 1, actions: actions(0, 2, 0, 0), lostHits: 2, lostHitsReported: 1 },
    candidate: null,
  },
];

export const EXPECTED_TRANSITIONS = [
  { from: 'allow', to: 'block', ...tally(1, 60000, 1, 60000) },
  { from: 'warn', to: 'allow', ...tally(1, 20000, 0, 0) },
  { from: 'warn', to: 'block', ...tally(1, 60000, 1, 60000) },
];

/**
 * Rule performance of each side (issue 16), from the table above: fraud is a reported decision
 * (bt-2, bt-3, bt-6), every other replayed one is legitimate (bt-1, bt-4, bt-5, bt-9, bt-10).
 */
export const EXPECTED_PERFORMANCE = {
  active: {
    transfers: 8,
    legitimate: 5,
    fraud: { transfers: 3, amount: { CNY: 120100 } },
    caughtFraud: { transfers: 1, amount: { CNY: 60000 } },
    legitimateRates: { warn: 0.4, cool_off: 0.2, block: 0.2 },
    rules: [
      // warns bt-1 (legitimate) and bt-2 (reported): the only catch of the window, its alone
      {
        ruleId: 'large-to-new-payee',
        hits: 2,
        precision: 0.5,
        legitimateHitRate: 0.2,
        caughtFraudShare: 1,
        uniqueCatches: { transfers: 1, amount: { CNY: 60000 } },
        flagged: false,
      },
      // holds bt-4, legitimate: 20 % of legitimate transfers held, nothing caught
      { ruleId: 'elderly-on-call-new-payee', hits: 1, legitimateInterventions: { warn: 0, cool_off: 1, block: 0 }, uniqueCatches: { transfers: 0 }, flagged: true },
      { ruleId: 'rapid-repeat', hits: 0, precision: null, flagged: false },
      { ruleId: 'night-shadow', mode: 'shadow', hits: 1, fraudHits: 1, missedFraudHits: 1, flagged: false },
    ],
  },
  candidate: {
    transfers: 8,
    legitimate: 5,
    caughtFraud: { transfers: 2, amount: { CNY: 120000 } },
    legitimateRates: { warn: 0.2, cool_off: 0.2, block: 0.2 },
    rules: [
      { ruleId: 'elderly-on-call-new-payee', flagged: true },
      { ruleId: 'rapid-repeat', hits: 0 },
      { ruleId: 'night-shadow', mode: 'shadow', missedFraudHits: 1 },
      // blocks bt-2 and bt-3: without it both are allowed (the guardian block of bt-10 is nobody's catch)
      { ruleId: 'big-amount-block', hits: 2, precision: 1, legitimateHitRate: 0, caughtFraudShare: 1, uniqueCatches: { transfers: 2, amount: { CNY: 120000 } }, flagged: false },
    ],
  },
};

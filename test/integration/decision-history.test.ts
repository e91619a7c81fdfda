import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { arrayLiteral, DecisionHistory, parseStreamEntry, type DecisionRow } from '../../src/decisions/decision-history.ts';
import { migrate } from '../../src/store/sql/migrate.ts';
import type { SqlStore } from '../../src/store/sql/sql-store.ts';
import { SQL_BACKENDS, testSql } from '../helpers/sql.ts';

/**
 * The `decisions` insert sends one array per column (decision-history.ts): values that need
 * quoting in an array literal, nulls, empty arrays, JSON with escapes, duplicate keys and
 * numbers written in several ways must be stored as a row-by-row insert of the same values
 * stores them.
 */

function row(over: Partial<DecisionRow>): DecisionRow {
  return {
    transferId: 't',
    streamId: '1-1',
    occurredAtMs: Date.parse('2026-11-21T03:00:00.123Z'),
    decidedAtMs: Date.parse('2026-11-21T03:00:00.456Z'),
    payerId: 'p',
    payeeId: 'q',
    amount: 149.6,
    currency: 'CNY',
    action: 'warn',
    riskScore: 0.06,
    modelScore: 0.000595,
    scamType: null,
    segment: 'adult',
    rulesVersion: 'r1',
    modelVersion: null,
    catalogue: 'fc-1',
    hitRules: [],
    shadowRules: [],
    decisionJson: '{"a":1}',
    features: [],
    ...over,
  };
}

const ROWS: DecisionRow[] = [
  row({
    transferId: 't-"quoted"\\back',
    payerId: 'p,{x}',
    payeeId: 'NULL',
    segment: null,
    hitRules: ['a"b', 'c\\d', 'NULL', '', '{x,y}', 'é'],
    shadowRules: ['s'],
    decisionJson: '{"s":"x\\"y\\\\z é \\u0001","n":1.50,"big":1e400,"d":{"k":1,"k":2}}',
    features: [1.5, 'x"\\', null, true, 1614.0416666666667, 1e21, -0],
  }),
  row({ transferId: 'plain', amount: 123456789012345.1235, riskScore: 1e-7, modelScore: null, decisionJson: ' [ 1 , 2.0e1 ] ' }),
  row({ transferId: 'dup', amount: 0.0005, decisionJson: '{"first":true}' }),
  row({ transferId: 'dup', amount: 1, decisionJson: '{"first":false}' }),
];

describe('arrayLiteral', () => {
  it('quotes every element and escapes backslashes and double quotes', () => {
    expect(arrayLiteral([])).toBe('{}');
    expect(arrayLiteral(['a', null, '', 'NULL', 'x"y\\z', '{a,b}'])).toBe('{"a",NULL,"","NULL","x\\"y\\\\z","{a,b}"}');
  });
});

describe.each(SQL_BACKENDS)('the decisions insert on %s', (backend) => {
  const sql = testSql(backend);
  let store: SqlStore;
  beforeAll(async () => {
    store = await sql.open();
    await migrate(store); // the PGlite template has the tables already; a Postgres schema starts empty
  });
  afterAll(async () => {
    await store.close();
    await sql.cleanup();
  });

  it('stores what a row-by-row insert of the same values stores, and keeps the first of a duplicate', async () => {
    expect(await new DecisionHistory(store).insert(ROWS)).toBe(3);
    await store.query(`CREATE TABLE expected (LIKE decisions INCLUDING ALL)`);
    for (const r of ROWS) {
      await store.query(
        `INSERT INTO expected VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17::text[], $18::text[], $19::jsonb, $20::jsonb)
         ON CONFLICT (transfer_id) DO NOTHING`,
        [
          r.transferId, r.streamId, new Date(r.occurredAtMs), new Date(r.decidedAtMs), r.payerId, r.payeeId, r.amount, r.currency,
          r.action, r.riskScore, r.modelScore, r.scamType, r.segment, r.rulesVersion, r.modelVersion, r.catalogue, r.hitRules,
          r.shadowRules, r.decisionJson, JSON.stringify(r.features),
        ], // prettier-ignore
      );
    }
    const dump = async (table: string) =>
      (await store.query<{ j: string }>(`SELECT row_to_json(t)::text AS j FROM ${table} t ORDER BY transfer_id`)).rows.map((r) => r.j);
    const stored = await dump('decisions');
    expect(stored).toEqual(await dump('expected'));
    expect(stored).toHaveLength(3);
    const quoted = (await store.query<{ hit_rules: string[]; decision: { d: unknown } }>(`SELECT hit_rules, decision FROM decisions WHERE transfer_id = $1`, [ROWS[0]!.transferId])).rows[0]!;
    expect(quoted.hit_rules).toEqual(['a"b', 'c\\d', 'NULL', '', '{x,y}', 'é']);
    expect(quoted.decision.d).toEqual({ k: 2 });
    expect((await store.query<{ first: boolean }>(`SELECT (decision->>'first')::boolean AS first FROM decisions WHERE transfer_id = 'dup'`)).rows[0]!.first).toBe(true);
  });

  it('stores event times outside years 1-9999 (ISO year 0000 is 1 BC) as the same instants', async () => {
    const rows = [
      row({ transferId: 'y0', occurredAtMs: Date.parse('0000-03-01T00:00:00.250Z') }),
      row({ transferId: 'y-1', occurredAtMs: Date.parse('-000001-12-31T23:59:59Z') }),
      row({ transferId: 'y10000', occurredAtMs: Date.UTC(10000, 0, 1, 12) }),
    ];
    expect(await new DecisionHistory(store).insert(rows)).toBe(3);
    const got = await store.query<{ transfer_id: string; ms: string }>(
      `SELECT transfer_id, (extract(epoch FROM occurred_at) * 1000)::bigint::text AS ms FROM decisions WHERE transfer_id IN ('y0', 'y-1', 'y10000') ORDER BY transfer_id`,
    );
    expect(got.rows).toEqual([
      { transfer_id: 'y-1', ms: String(rows[1]!.occurredAtMs) },
      { transfer_id: 'y0', ms: String(rows[0]!.occurredAtMs) },
      { transfer_id: 'y10000', ms: String(rows[2]!.occurredAtMs) },
    ]);
  });
});

describe('parseStreamEntry', () => {
  const decision = {
    transferId: 't1', action: 'warn', riskScore: 0.5, modelScore: null, hits: [{ ruleId: 'r1', mode: 'act' }], rulesVersion: 'v',
    decidedAt: '2026-11-21T03:00:00.000Z', extra: [1],
  }; // prettier-ignore
  const event = { occurredAt: '2026-11-21T04:00:00+01:00', amount: 12, currency: 'CNY', payerId: 'p', payeeId: 'q' };
  const entry = (d: string, e: string, f: string) => ['transferId', 't1', 'decision', d, 'event', e, 'features', f, 'catalogue', 'c'];

  it('reads a well-formed entry, keeping the decision JSON as it came', () => {
    const d = JSON.stringify(decision);
    const r = parseStreamEntry('1-1', entry(d, JSON.stringify(event), '[1,"a",null,true]'));
    expect(r).toMatchObject({
      transferId: 't1', occurredAtMs: Date.parse('2026-11-21T03:00:00Z'), hitRules: ['r1'], shadowRules: [], modelScore: null,
      scamType: null, segment: null, modelVersion: null, decisionJson: d, features: [1, 'a', null, true],
    }); // prettier-ignore
  });

  it.each([
    ['a non-finite riskScore', JSON.stringify(decision).replace('"riskScore":0.5', '"riskScore":1e400'), JSON.stringify(event), '[]', 'decision'],
    ['a hit without ruleId', JSON.stringify({ ...decision, hits: [{}] }), JSON.stringify(event), '[]', 'decision'],
    ['shadowHits null', JSON.stringify({ ...decision, shadowHits: null }), JSON.stringify(event), '[]', 'decision'],
    ['a decidedAt without offset', JSON.stringify({ ...decision, decidedAt: '2026-11-21T03:00:00' }), JSON.stringify(event), '[]', 'decision'],
    ['a decision that is an array', '[]', JSON.stringify(event), '[]', 'decision'],
    ['a 4-letter currency', JSON.stringify(decision), JSON.stringify({ ...event, currency: 'EURO' }), '[]', 'event'],
    ['an object feature', JSON.stringify(decision), JSON.stringify(event), '[{}]', 'features'],
    ['a non-finite feature', JSON.stringify(decision), JSON.stringify(event), '[1e400]', 'features'],
  ])('rejects %s', (_what, d, e, f, field) => {
    expect(parseStreamEntry('1-1', entry(d, e, f))).toEqual({ error: `stream entry 1-1 has a missing or malformed ${field}` });
  });
});

import { z } from 'zod';
import type { FeatureValue } from '../features/catalogue.ts';
import type { SqlExecutor, SqlStore } from '../store/sql/sql-store.ts';

/**
 * The `decisions` table: every decision with the feature vector it was made on, copied from the
 * Redis decision stream by the decision sink. The stream entry is the contract (written by
 * src/scoring/score-service.ts): fields transferId, decision (StoredDecision JSON), event (JSON
 * occurredAt, amount, currency, payerId, payeeId), features (JSON array in catalogue order),
 * catalogue (CATALOGUE_VERSION).
 */

export interface DecisionRow {
  readonly transferId: string;
  readonly streamId: string;
  readonly occurredAtMs: number;
  readonly decidedAtMs: number;
  readonly payerId: string;
  readonly payeeId: string;
  readonly amount: number;
  readonly currency: string;
  readonly action: string;
  readonly riskScore: number;
  readonly modelScore: number | null;
  readonly scamType: string | null;
  readonly segment: string | null;
  readonly rulesVersion: string;
  readonly modelVersion: string | null;
  readonly catalogue: string;
  readonly hitRules: readonly string[];
  readonly shadowRules: readonly string[];
  /** the StoredDecision JSON as it was in the stream */
  readonly decisionJson: string;
  readonly features: readonly FeatureValue[];
}

/*
 * The checks of a stream entry, written out rather than as zod object schemas: the sink checks
 * every decision, and zod's object parse (a copy of every key of the decision, hits included)
 * was most of the sink's CPU on the API thread outside the SQL thread. They accept exactly what
 * these schemas accepted (zod 4: a number is finite, an object is a non-null non-array object,
 * unknown keys are allowed, an optional key may be absent):
 *   decision: { transferId: string, action: string, riskScore: number, modelScore?: number | null,
 *               scamType?: string | null, segment?: string | null, hits: { ruleId: string }[],
 *               shadowHits?: { ruleId: string }[], rulesVersion: string,
 *               modelVersion?: string | null, decidedAt: ISO datetime with offset }
 *   event:    { occurredAt: ISO datetime with offset, amount: number, currency: string of length 3,
 *               payerId: string, payeeId: string }
 *   features: (number | string | boolean | null)[]
 */
const IsoDateTime = z.iso.datetime({ offset: true });

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isDateTime = (v: unknown): v is string => typeof v === 'string' && IsoDateTime.safeParse(v).success;
/** absent, null or a string */
const optString = (v: unknown): boolean => v === undefined || v === null || typeof v === 'string';

/** the ruleIds of an array of hits, or null when it is not one */
function ruleIds(v: unknown): string[] | null {
  if (!Array.isArray(v)) return null;
  const ids = new Array<string>(v.length);
  for (let i = 0; i < v.length; i++) {
    const h: unknown = v[i];
    if (!isObject(h) || typeof h.ruleId !== 'string') return null;
    ids[i] = h.ruleId;
  }
  return ids;
}

/** The decision's part of a row, as the stream carries it (the time still an ISO string). */
type StreamDecision = Pick<
  DecisionRow,
  'action' | 'riskScore' | 'modelScore' | 'scamType' | 'segment' | 'rulesVersion' | 'modelVersion' | 'hitRules' | 'shadowRules'
> & { readonly decidedAt: string };

function streamDecision(d: unknown): StreamDecision | null {
  if (!isObject(d)) return null;
  const { action, riskScore, modelScore, scamType, segment, rulesVersion, modelVersion, decidedAt } = d;
  if (typeof d.transferId !== 'string' || typeof action !== 'string' || !isNumber(riskScore)) return null;
  if (!(modelScore === undefined || modelScore === null || isNumber(modelScore))) return null;
  if (!optString(scamType) || !optString(segment) || typeof rulesVersion !== 'string' || !optString(modelVersion)) return null;
  if (!isDateTime(decidedAt)) return null;
  const hitRules = ruleIds(d.hits);
  const shadowRules = d.shadowHits === undefined ? [] : ruleIds(d.shadowHits);
  if (hitRules === null || shadowRules === null) return null;
  return {
    action,
    riskScore,
    modelScore: (modelScore as number | null | undefined) ?? null,
    scamType: (scamType as string | null | undefined) ?? null,
    segment: (segment as string | null | undefined) ?? null,
    rulesVersion,
    modelVersion: (modelVersion as string | null | undefined) ?? null,
    decidedAt,
    hitRules,
    shadowRules,
  };
}

interface StreamEvent {
  readonly occurredAt: string;
  readonly amount: number;
  readonly currency: string;
  readonly payerId: string;
  readonly payeeId: string;
}

function streamEvent(e: unknown): StreamEvent | null {
  if (!isObject(e)) return null;
  const { occurredAt, amount, currency, payerId, payeeId } = e;
  if (!isDateTime(occurredAt) || !isNumber(amount) || typeof currency !== 'string' || currency.length !== 3) return null;
  if (typeof payerId !== 'string' || typeof payeeId !== 'string') return null;
  return { occurredAt, amount, currency, payerId, payeeId };
}

function featureVector(v: unknown): FeatureValue[] | null {
  if (!Array.isArray(v)) return null;
  for (const x of v as unknown[]) {
    if (!(x === null || typeof x === 'string' || typeof x === 'boolean' || isNumber(x))) return null;
  }
  return v as FeatureValue[];
}

function json(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A stream entry as a row, or why it cannot be one. */
export function parseStreamEntry(streamId: string, fields: readonly string[]): DecisionRow | { readonly error: string } {
  const f = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i]!, fields[i + 1]!);
  const transferId = f.get('transferId');
  const decisionJson = f.get('decision');
  const catalogue = f.get('catalogue');
  const d = streamDecision(json(decisionJson));
  const e = streamEvent(json(f.get('event')));
  const v = featureVector(json(f.get('features')));
  if (transferId === undefined || decisionJson === undefined || catalogue === undefined || d === null || e === null || v === null) {
    const what = [
      transferId === undefined && 'transferId',
      d === null && 'decision',
      e === null && 'event',
      v === null && 'features',
      catalogue === undefined && 'catalogue',
    ].filter(Boolean);
    return { error: `stream entry ${streamId} has a missing or malformed ${what.join(', ')}` };
  }
  return {
    transferId,
    streamId,
    occurredAtMs: Date.parse(e.occurredAt),
    decidedAtMs: Date.parse(d.decidedAt),
    payerId: e.payerId,
    payeeId: e.payeeId,
    amount: e.amount,
    currency: e.currency,
    action: d.action,
    riskScore: d.riskScore,
    modelScore: d.modelScore,
    scamType: d.scamType,
    segment: d.segment,
    rulesVersion: d.rulesVersion,
    modelVersion: d.modelVersion,
    catalogue,
    hitRules: d.hitRules,
    shadowRules: d.shadowRules,
    decisionJson,
    features: v,
  };
}

/**
 * The columns as the insert receives them (see DecisionHistory.insert): one array parameter
 * each, text cast to the column's type, except the jsonb columns, which come as one JSON array
 * per column. The text[] columns arrive as one array literal per row (a ragged text[][] is not a
 * Postgres array) and are cast row by row.
 */
const INSERT_COLUMNS = [
  ['transfer_id', 'text'], ['stream_id', 'text'], ['occurred_at', 'timestamptz'], ['decided_at', 'timestamptz'],
  ['payer_id', 'text'], ['payee_id', 'text'], ['amount', 'numeric'], ['currency', 'text'], ['action', 'text'],
  ['risk_score', 'real'], ['model_score', 'real'], ['scam_type', 'text'], ['segment', 'text'], ['rules_version', 'text'],
  ['model_version', 'text'], ['catalogue', 'text'], ['hit_rules', 'text[]'], ['shadow_rules', 'text[]'],
  ['decision', 'jsonb'], ['features', 'jsonb'],
] as const; // prettier-ignore

/**
 * `INSERT ... SELECT FROM ROWS FROM (unnest($1::text[]), ..., jsonb_array_elements($19::jsonb), ...)`:
 * twenty parameters whatever the batch size. ROWS FROM walks the arrays side by side, in order,
 * so row k takes element k of every column, and the first of two rows with the same transferId
 * is the one kept, as with a VALUES list. A multi-row VALUES list had twenty parameters per row
 * (10,000 for a batch of 500), each bound on its own, and a statement of that size parsed and
 * planned: PGlite's thread spent about half as much CPU again per row on it (~110 µs against
 * ~70 µs for a 500-row batch of `npm run bench:cpu` decisions) (and Postgres refuses
 * more than 65,535 parameters: batches above 3,276 rows). The JSON columns are sent as one JSON
 * array each, the rows' JSON texts joined with commas: no escaping of the largest values into
 * an array literal, and an element of a jsonb array is the same jsonb value as its text cast on
 * its own.
 */
const INSERT_SQL =
  `INSERT INTO decisions (${INSERT_COLUMNS.map(([c]) => c).join(', ')}) ` +
  `SELECT ${INSERT_COLUMNS.map(([, type], i) => (type === 'text' || type === 'jsonb' ? `c${i}` : `c${i}::${type}`)).join(', ')} ` +
  `FROM ROWS FROM (${INSERT_COLUMNS.map(([, type], i) => (type === 'jsonb' ? `jsonb_array_elements($${i + 1}::jsonb)` : `unnest($${i + 1}::text[])`)).join(', ')}) ` +
  `AS u(${INSERT_COLUMNS.map((_, i) => `c${i}`).join(', ')}) ` +
  'ON CONFLICT (transfer_id) DO NOTHING';

const NEEDS_ESCAPE = /[\\"]/;

/**
 * A Postgres array literal of the values as text: every element double-quoted (backslash and
 * double quote escaped), null as NULL. Built here rather than by the driver so pg and PGlite
 * receive the same text, which the server casts to the column's type.
 */
export function arrayLiteral(values: readonly (string | null)[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i > 0) out += ',';
    if (v === null || v === undefined) out += 'NULL';
    else out += NEEDS_ESCAPE.test(v) ? `"${v.replace(/[\\"]/g, '\\$&')}"` : `"${v}"`;
  }
  return `${out}}`;
}

/**
 * An instant as timestamptz text that Postgres and PGlite both read back as the same instant,
 * also outside years 1-9999 (the API accepts ISO year 0000, which is 1 BC: toISOString's
 * '0000-…' or '-000001-…' is out of range for Postgres, and '+010000-…' is read as an offset),
 * so no event time can make a batch fail to insert.
 */
function iso(ms: number): string {
  const d = new Date(ms);
  const text = d.toISOString();
  const year = d.getUTCFullYear();
  if (year >= 1 && year <= 9999) return text;
  const rest = text.slice(text.indexOf('-', 1)); // '-MM-DDTHH:MM:SS.sssZ'
  return year < 1 ? `${String(1 - year).padStart(4, '0')}${rest} BC` : `${year}${rest}`;
}
const orNull = (v: number | null): string | null => (v === null ? null : String(v));

/** Who paid whom in a recorded transfer. */
export interface TransferParties {
  readonly payerId: string;
  readonly payeeId: string;
}

/**
 * The payer and payee of each of these transfers as the decision history recorded them (one
 * primary-key lookup each); a transfer that is not in the history is absent from the map. Takes
 * an executor so the case library can check a report inside the transaction that inserts it.
 */
export async function transferParties(db: SqlExecutor, transferIds: readonly string[]): Promise<Map<string, TransferParties>> {
  const out = new Map<string, TransferParties>();
  if (transferIds.length === 0) return out;
  const { rows } = await db.query<{ transfer_id: string; payer_id: string; payee_id: string }>(
    'SELECT transfer_id, payer_id, payee_id FROM decisions WHERE transfer_id = ANY($1::text[])',
    [transferIds],
  );
  for (const r of rows) out.set(r.transfer_id, { payerId: r.payer_id, payeeId: r.payee_id });
  return out;
}

/** Rows deleted per statement by the retention, so no single delete holds locks for long. */
const RETENTION_CHUNK = 5_000;

export class DecisionHistory {
  /** @param sql the store, or a transaction of it */
  constructor(private readonly sql: SqlExecutor) {}

  /**
   * Inserts the rows in one statement; a transferId already stored keeps its first decision (the
   * one the payer saw), so re-delivered stream entries change nothing. Returns rows inserted.
   * Every row's decisionJson must be one JSON value (as parseStreamEntry ensures).
   */
  async insert(rows: readonly DecisionRow[]): Promise<number> {
    if (rows.length === 0) return 0;
    // one array per column, in INSERT_COLUMNS order; numbers and instants as the text the
    // drivers sent for them as single parameters (String(n), toISOString)
    const text: (string | null)[][] = Array.from({ length: INSERT_COLUMNS.length - 2 }, () => new Array<string | null>(rows.length));
    const decisions = new Array<string>(rows.length);
    const features = new Array<string>(rows.length);
    for (let j = 0; j < rows.length; j++) {
      const r = rows[j]!;
      const values = [
        r.transferId, r.streamId, iso(r.occurredAtMs), iso(r.decidedAtMs), r.payerId, r.payeeId, String(r.amount),
        r.currency, r.action, String(r.riskScore), orNull(r.modelScore), r.scamType, r.segment, r.rulesVersion,
        r.modelVersion, r.catalogue, arrayLiteral(r.hitRules), arrayLiteral(r.shadowRules),
      ]; // prettier-ignore
      for (let i = 0; i < values.length; i++) text[i]![j] = values[i] ?? null;
      // each one JSON value (parseStreamEntry parsed it; the vector is stringified here), so
      // joined with commas they make an array of exactly one element per row
      decisions[j] = r.decisionJson;
      features[j] = JSON.stringify(r.features);
    }
    const params = [...text.map(arrayLiteral), `[${decisions.join(',')}]`, `[${features.join(',')}]`];
    const res = await this.sql.query(INSERT_SQL, params);
    return res.rowCount;
  }

  /** See transferParties(). */
  parties(transferIds: readonly string[]): Promise<Map<string, TransferParties>> {
    return transferParties(this.sql, transferIds);
  }

  /** Deletes decisions that occurred before `beforeMs`; returns how many. */
  async deleteOlderThan(beforeMs: number): Promise<number> {
    let total = 0;
    for (;;) {
      const res = await this.sql.query(
        `DELETE FROM decisions WHERE transfer_id IN (SELECT transfer_id FROM decisions WHERE occurred_at < $1 LIMIT ${RETENTION_CHUNK})`,
        [new Date(beforeMs)],
      );
      total += res.rowCount;
      if (res.rowCount < RETENTION_CHUNK) return total;
    }
  }
}

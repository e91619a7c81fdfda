import { createReadStream, createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { CATALOGUE_VERSION, FEATURES, type FeatureValue } from '../features/catalogue.ts';
import { encodeVectorInto, MODEL_FEATURE_COUNT, MODEL_FEATURE_NAMES } from '../model/encode.ts';
import type { SqlStore } from '../store/sql/sql-store.ts';
import type { Dataset } from '../train/dataset.ts';

/**
 * The labelled training set (issue 5): every stored decision with the feature vector it was
 * made on, labelled from the case library.
 *
 * Point in time, twice over:
 * - features are the stored vectors, exactly as the engine saw each transfer when it scored it
 *   (never recomputed from later state);
 * - labels are what the case library knew at `asOf`: a transfer is a positive when a case that
 *   the engine had received by `asOf` names it. Only decisions older than `asOf` minus the label
 *   maturity are exported, because a younger transfer may still be reported (its negative label
 *   is not settled yet). The same `asOf` therefore always gives the same file.
 *
 * Only vectors of the current catalogue are exported (the model reads the current order);
 * others are counted in the manifest.
 *
 * Files: `<out>` holds one JSON object per line (TrainingRow); `<out>.manifest.json` describes
 * the export (TrainingSetManifest).
 */

export const TRAINING_SET_FORMAT = 'calmpay-training-set/1';

export interface TrainingRow {
  readonly transferId: string;
  readonly occurredAt: string;
  readonly payerId: string;
  readonly payeeId: string;
  readonly amount: number;
  readonly currency: string;
  /** the action the engine took, and the rules that fired (to judge rules on the same set) */
  readonly action: string;
  readonly hitRules: readonly string[];
  readonly catalogue: string;
  /** in catalogue order (FEATURES of that catalogue version) */
  readonly features: readonly FeatureValue[];
  /** 1: reported as a scam by asOf; 0: not reported within the maturity window */
  readonly label: 0 | 1;
  readonly scamType: string | null;
  readonly caseId: string | null;
}

export interface TrainingSetManifest {
  readonly format: typeof TRAINING_SET_FORMAT;
  readonly catalogue: string;
  readonly featureNames: readonly string[];
  readonly asOf: string;
  readonly maturityDays: number;
  /** decisions that occurred before this are exported */
  readonly occurredBefore: string;
  readonly occurredFrom: string | null;
  readonly rows: number;
  readonly positives: number;
  readonly positivesByScamType: Readonly<Record<string, number>>;
  /** decisions in the window whose vector has another catalogue version */
  readonly skippedOtherCatalogue: number;
}

export interface ExportOptions {
  /** ms; labels are what the case library had received by then */
  readonly asOfMs: number;
  readonly maturityDays: number;
  /** ms; only decisions at or after this (unset: all) */
  readonly fromMs?: number;
}

interface ExportDbRow {
  transfer_id: string;
  occurred_at: Date;
  payer_id: string;
  payee_id: string;
  amount: number;
  currency: string;
  action: string;
  hit_rules: string[];
  catalogue: string;
  features: FeatureValue[];
  case_id: string | null;
  case_scam_type: string | null;
}

const PAGE = 2_000;

/** The export's rows in (occurredAt, transferId) order, read page by page. */
export async function* trainingRows(
  sql: SqlStore,
  opts: ExportOptions,
  onOtherCatalogue: (n: number) => void = () => undefined,
): AsyncGenerator<TrainingRow> {
  const before = new Date(opts.asOfMs - opts.maturityDays * 86_400_000);
  const from = new Date(opts.fromMs ?? 0);
  const asOf = new Date(opts.asOfMs);
  const other = await sql.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM decisions WHERE occurred_at >= $1 AND occurred_at < $2 AND catalogue <> $3',
    [from, before, CATALOGUE_VERSION],
  );
  onOtherCatalogue(other.rows[0]?.n ?? 0);
  // every transfer id is non-empty, so (from, '') precedes the first row at `from`
  let after: { t: Date; id: string } = { t: from, id: '' };
  for (;;) {
    const { rows } = await sql.query<ExportDbRow>(
      `SELECT d.transfer_id, d.occurred_at, d.payer_id, d.payee_id, d.amount::float8 AS amount, d.currency, d.action,
              d.hit_rules, d.catalogue, d.features, c.case_id, c.scam_type AS case_scam_type
         FROM decisions d
         LEFT JOIN case_transfers ct ON ct.transfer_id = d.transfer_id
         LEFT JOIN cases c ON c.case_id = ct.case_id AND c.received_at <= $5
               -- only a case of this payer and payee labels the transfer (issue 19): cases filed
               -- before reports were checked against the history may name another's payment
               AND c.payer_id = d.payer_id AND c.payee_id = d.payee_id
        WHERE d.occurred_at >= $1 AND d.occurred_at < $2 AND d.catalogue = $3
          AND (d.occurred_at, d.transfer_id) > ($4, $6)
        ORDER BY d.occurred_at, d.transfer_id
        LIMIT ${PAGE}`,
      [from, before, CATALOGUE_VERSION, after.t, asOf, after.id],
    );
    for (const r of rows) {
      yield {
        transferId: r.transfer_id,
        occurredAt: r.occurred_at.toISOString(),
        payerId: r.payer_id,
        payeeId: r.payee_id,
        amount: r.amount,
        currency: r.currency,
        action: r.action,
        hitRules: r.hit_rules,
        catalogue: r.catalogue,
        features: r.features,
        label: r.case_id === null ? 0 : 1,
        scamType: r.case_scam_type,
        caseId: r.case_id,
      };
    }
    const last = rows[rows.length - 1];
    if (rows.length < PAGE || last === undefined) return;
    after = { t: last.occurred_at, id: last.transfer_id };
  }
}

/** Writes `<out>` and `<out>.manifest.json`; returns the manifest. */
export async function exportTrainingSet(sql: SqlStore, opts: ExportOptions, out: string): Promise<TrainingSetManifest> {
  const file = createWriteStream(out, { encoding: 'utf8' });
  let rows = 0;
  let positives = 0;
  let skipped = 0;
  const byType: Record<string, number> = {};
  try {
    for await (const row of trainingRows(sql, opts, (n) => (skipped = n))) {
      rows++;
      if (row.label === 1) {
        positives++;
        const t = row.scamType ?? 'other';
        byType[t] = (byType[t] ?? 0) + 1;
      }
      if (!file.write(`${JSON.stringify(row)}\n`)) await once(file, 'drain');
    }
  } finally {
    file.end();
    await once(file, 'close');
  }
  const manifest: TrainingSetManifest = {
    format: TRAINING_SET_FORMAT,
    catalogue: CATALOGUE_VERSION,
    featureNames: FEATURES.map((f) => f.name),
    asOf: new Date(opts.asOfMs).toISOString(),
    maturityDays: opts.maturityDays,
    occurredBefore: new Date(opts.asOfMs - opts.maturityDays * 86_400_000).toISOString(),
    occurredFrom: opts.fromMs === undefined ? null : new Date(opts.fromMs).toISOString(),
    rows,
    positives,
    positivesByScamType: byType,
    skippedOtherCatalogue: skipped,
  };
  await writeFile(`${out}.manifest.json`, `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

const Row = z.object({
  transferId: z.string(),
  occurredAt: z.string(),
  payerId: z.string(),
  payeeId: z.string(),
  amount: z.number(),
  currency: z.string(),
  action: z.string(),
  hitRules: z.array(z.string()),
  catalogue: z.string(),
  features: z.array(z.union([z.number(), z.string(), z.boolean(), z.null()])),
  label: z.union([z.literal(0), z.literal(1)]),
  scamType: z.string().nullable(),
  caseId: z.string().nullable(),
});

/** Reads an exported file back (the trainer's entry point); a malformed line is an error naming it. */
export async function readTrainingSet(path: string): Promise<TrainingRow[]> {
  const rows: TrainingRow[] = [];
  let n = 0;
  for await (const line of createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity })) {
    n++;
    if (line.trim() === '') continue;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      throw new Error(`${path}:${n}: not JSON`);
    }
    const parsed = Row.safeParse(json);
    if (!parsed.success) throw new Error(`${path}:${n}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    rows.push(parsed.data);
  }
  return rows;
}

/** The rows as the trainer's Dataset, encoded exactly as the live model session encodes vectors. */
export function trainingDataset(rows: readonly TrainingRow[]): Dataset {
  const x = new Float32Array(rows.length * MODEL_FEATURE_COUNT);
  const labels = new Uint8Array(rows.length);
  rows.forEach((r, i) => {
    if (r.catalogue !== CATALOGUE_VERSION) {
      throw new Error(`row ${i} (${r.transferId}) has catalogue ${r.catalogue}, the engine has ${CATALOGUE_VERSION}`);
    }
    encodeVectorInto(r.features, x, i * MODEL_FEATURE_COUNT);
    labels[i] = r.label;
  });
  return { x, nRows: rows.length, nFeatures: MODEL_FEATURE_COUNT, labels, featureNames: MODEL_FEATURE_NAMES };
}

/**
 * `npm run bench:model`: the model's cost per transfer, one onnxruntime run per transfer
 * against the micro-batched path (src/model/model-session.ts), in the same process and run.
 *
 * 1. A model of realistic size: BENCH_MODEL_TREES (250) gradient-boosted trees of depth ≤
 *    BENCH_MODEL_DEPTH (6, up to 63 leaves) trained on BENCH_MODEL_TRAIN_ROWS synthetic rows over
 *    the catalogue's features (model-data.ts), exported to ONNX and loaded by the ModelScorer
 *    exactly as the engine loads it (one session, one intra-op thread).
 * 2. single-row: `session.run` on a [1, F] tensor per transfer, awaited one after another —
 *    what scoring each request on its own costs.
 * 3. micro-batched: BENCH_MODEL_CONCURRENCY (64) callers, each awaiting `scorer.score(row)` in a
 *    loop, as concurrent requests do.
 * Model time per transfer is the process's CPU time (user + system) over the rows scored: the
 *    process does nothing else, and onnxruntime-node runs on the event-loop thread with one
 *    intra-op thread, so it is the model path's time (batch assembly, the run, resolving the
 *    callers). Wall time is reported beside it; it is larger when other processes share the
 *    cores, as on a busy 2-core machine.
 * 4. For reference: raw `session.run` on batches of the size the micro-batcher forms (the
 *    floor: the difference to 3 is the batching overhead), and `assess` (score plus top-3
 *    factors) under the same concurrency.
 * 5. The same for the first BENCH_MODEL_SWEEP (25,50,100) trees of the model, to show how the
 *    cost grows with the model.
 * 6. BENCH_MODEL_FILES (comma-separated model manifests, e.g. models/calmpay-gbdt-s2.json): each
 *    of these trained models is measured the same way after the synthetic one, so a shipped
 *    model's own cost sits beside the reference sizes in one run.
 * Every path must give every row the same score as one run over all rows (|Δ| ≤ 1e-6), or the
 * run exits 1. Each figure is the median of BENCH_MODEL_REPS (5) passes after a warm-up.
 * Target: ≤ 5 µs of model time per transfer on the micro-batched path. Results:
 * bench/results/model-batch.json. The exit code is 0 whether or not the target is met.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { MODEL_FEATURE_COUNT } from '../src/model/encode.ts';
import { parseManifest } from '../src/model/manifest.ts';
import { ModelScorer } from '../src/model/model-session.ts';
import { DEFAULT_GBDT_PARAMS, trainGbdt, type GbdtModel } from '../src/train/gbdt.ts';
import { saveModel } from '../src/train/save-model.ts';
import { syntheticModelData, type SyntheticModelData } from './model-data.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const envInt = (name: string, def: number): number => Number(process.env[name] ?? def);
const TREES = envInt('BENCH_MODEL_TREES', 250);
const DEPTH = envInt('BENCH_MODEL_DEPTH', 6);
const TRAIN_ROWS = envInt('BENCH_MODEL_TRAIN_ROWS', 30_000);
const SCORE_ROWS = envInt('BENCH_MODEL_ROWS', 20_000);
const CONCURRENCY = envInt('BENCH_MODEL_CONCURRENCY', 64);
const MAX_BATCH = envInt('BENCH_MODEL_MAX_BATCH', 256);
const REPS = envInt('BENCH_MODEL_REPS', 5);
const SINGLE_ROWS = Math.min(SCORE_ROWS, envInt('BENCH_MODEL_SINGLE_ROWS', 5_000));
const WARMUP_PASSES = 3;
const WARMUP_MS = 1_000;
const SWEEP = (process.env.BENCH_MODEL_SWEEP ?? '25,50,100').split(',').map(Number).filter((k) => k > 0);
const MODEL_FILES = (process.env.BENCH_MODEL_FILES ?? '').split(',').filter((f) => f.trim() !== '');
const TARGET_US = 5;
const TOLERANCE = 1e-6;

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

interface Rep {
  readonly wallUs: number;
  readonly cpuUs: number;
}

interface Measured {
  readonly usPerTransfer: number;
  readonly cpuUsPerTransfer: number;
  readonly repsUs: number[];
}

/** Warm-up (at least WARMUP_PASSES passes and WARMUP_MS), then REPS timed passes. */
async function measure(rows: number, pass: () => Promise<void>): Promise<Measured> {
  const t0 = performance.now();
  for (let i = 0; i < WARMUP_PASSES || performance.now() - t0 < WARMUP_MS; i++) await pass();
  const reps: Rep[] = [];
  for (let r = 0; r < REPS; r++) {
    const cpu0 = process.cpuUsage();
    const t = performance.now();
    await pass();
    const wall = (performance.now() - t) * 1_000;
    const cpu = process.cpuUsage(cpu0);
    reps.push({ wallUs: wall / rows, cpuUs: (cpu.user + cpu.system) / rows });
  }
  return { usPerTransfer: median(reps.map((r) => r.wallUs)), cpuUsPerTransfer: median(reps.map((r) => r.cpuUs)), repsUs: reps.map((r) => r.wallUs) };
}

function check(name: string, got: ArrayLike<number>, want: ArrayLike<number>, n: number): void {
  let worst = 0;
  let at = -1;
  for (let i = 0; i < n; i++) {
    const d = Math.abs(got[i]! - want[i]!);
    if (!(d <= worst)) {
      worst = d;
      at = i;
    }
  }
  if (!(worst <= TOLERANCE)) {
    console.error(`DISAGREEMENT: ${name} row ${at}: ${got[at]} against the single-row run's ${want[at]}`);
    process.exit(1);
  }
}

interface SizeResult {
  /** `synthetic` or the model file's name-version */
  readonly model: string;
  readonly trees: number;
  readonly nodes: number;
  readonly onnxBytes: number;
  readonly singleRow: Measured;
  readonly microBatched: Measured & { readonly batches: number; readonly avgBatch: number; readonly largestBatch: number };
  readonly rawBatch: Measured;
  readonly assess: Measured | null;
  /** single-row / micro-batched, CPU time */
  readonly ratio: number;
  readonly wallRatio: number;
}

/** A trained model from its manifest (the ensemble the ONNX file was exported from). */
function modelFromManifest(file: string): { label: string; model: GbdtModel } {
  const parsed = parseManifest(readFileSync(path.resolve(root, file), 'utf8'));
  if (!parsed.ok) throw new Error(`${file}: ${parsed.problems.join('; ')}`);
  const m = parsed.manifest;
  if (m.ensemble.nFeatures !== MODEL_FEATURE_COUNT) throw new Error(`${file}: ${m.ensemble.nFeatures} features, the encoding has ${MODEL_FEATURE_COUNT}`);
  return {
    label: `${m.name}-${m.version}`,
    model: { ...m.ensemble, featureNames: m.featureNames, params: { ...DEFAULT_GBDT_PARAMS, ...m.params } },
  };
}

/** A model with the first `k` trees of `model` (a boosted prefix is itself a model). */
const prefix = (model: GbdtModel, k: number): GbdtModel => ({ ...model, trees: model.trees.slice(0, k) });

async function benchModel(model: GbdtModel, data: SyntheticModelData, withAssess: boolean, label = 'synthetic'): Promise<SizeResult> {
  const F = MODEL_FEATURE_COUNT;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'calmpay-bench-model-'));
  try {
    const saved = await saveModel({
      dir,
      model,
      name: 'bench',
      version: String(model.trees.length),
      trainingWindow: { from: '2026-01-01T00:00:00Z', to: '2026-02-01T00:00:00Z' },
      validationWindow: null,
      dataSource: `bench/model-data.ts seed 1, ${TRAIN_ROWS} rows`,
      metrics: { rocAuc: Number.NaN, averagePrecision: Number.NaN, recallAt1pct: Number.NaN },
      baselineMetrics: null,
    });
    const scorer = await ModelScorer.open({ dir, watch: false, batch: { maxBatch: MAX_BATCH, deadlineMs: 10_000, maxQueue: 100_000 } });
    try {
      const session = scorer.current()?.session;
      if (!session) throw new Error(`the model did not load: ${JSON.stringify(scorer.status().problems)}`);
      const x = data.dataset.x;

      // reference scores: one run over every row
      const reference = new Float32Array(SCORE_ROWS);
      reference.set((await session.run({ features: new ort.Tensor('float32', x, [SCORE_ROWS, F]) }, ['probability'])).probability!.data as Float32Array);

      // one run per transfer
      const singleScores = new Float32Array(SINGLE_ROWS);
      const singleRow = await measure(SINGLE_ROWS, async () => {
        for (let i = 0; i < SINGLE_ROWS; i++) {
          const out = await session.run({ features: new ort.Tensor('float32', x.slice(i * F, (i + 1) * F), [1, F]) }, ['probability']);
          singleScores[i] = (out.probability!.data as Float32Array)[0]!;
        }
      });
      check('single-row', singleScores, reference, SINGLE_ROWS);

      // raw runs on batches of the size the micro-batcher forms under this concurrency: the floor
      const rawSize = Math.min(MAX_BATCH, CONCURRENCY);
      const rawScores = new Float32Array(SCORE_ROWS);
      const rawBatch = await measure(SCORE_ROWS, async () => {
        for (let s = 0; s < SCORE_ROWS; s += rawSize) {
          const n = Math.min(rawSize, SCORE_ROWS - s);
          const out = await session.run({ features: new ort.Tensor('float32', x.slice(s * F, (s + n) * F), [n, F]) }, ['probability']);
          rawScores.set(out.probability!.data as Float32Array, s);
        }
      });
      check('raw batches', rawScores, reference, SCORE_ROWS);

      // the micro-batched path: CONCURRENCY callers, each awaiting its own row's score
      const concurrent = async (each: (i: number) => Promise<void>): Promise<void> => {
        let next = 0;
        await Promise.all(
          Array.from({ length: CONCURRENCY }, async () => {
            for (let i = next++; i < SCORE_ROWS; i = next++) await each(i);
          }),
        );
      };
      const microScores = new Float32Array(SCORE_ROWS);
      const before = scorer.batchCounters();
      const micro = await measure(SCORE_ROWS, () =>
        concurrent(async (i) => {
          const r = await scorer.score(x.subarray(i * F, (i + 1) * F));
          if (!r.ok) throw new Error(`micro-batched score failed: ${r.reason} ${r.message}`);
          microScores[i] = r.score;
        }),
      );
      const after = scorer.batchCounters();
      check('micro-batched', microScores, reference, SCORE_ROWS);
      const batches = after.batches - before.batches;

      // what the decision takes: score + top-3 factors
      const assess = withAssess
        ? await measure(SCORE_ROWS, () =>
            concurrent(async (i) => {
              const a = await scorer.assess(data.vectors[i]!, 3);
              if (a.modelScore === null || Math.abs(a.modelScore - reference[i]!) > 1e-5) throw new Error(`assess row ${i}: ${a.modelScore} against ${reference[i]}`);
            }),
          )
        : null;
      return {
        model: label,
        trees: model.trees.length,
        nodes: model.trees.reduce((k, t) => k + t.feature.length, 0),
        onnxBytes: saved.onnxBytes.length,
        singleRow,
        microBatched: { ...micro, batches, avgBatch: (after.rows - before.rows) / batches, largestBatch: after.largestBatch },
        rawBatch,
        assess,
        ratio: singleRow.cpuUsPerTransfer / micro.cpuUsPerTransfer,
        wallRatio: singleRow.usPerTransfer / micro.usPerTransfer,
      };
    } finally {
      await scorer.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const fmt = (m: Measured): string => `${m.cpuUsPerTransfer.toFixed(2).padStart(7)} µs (wall ${m.usPerTransfer.toFixed(2)})`;

async function main(): Promise<void> {
  console.log(`model-batch: node ${process.version}, onnxruntime ${ort.env.versions.common}, ${os.cpus().length} cores; ${CONCURRENCY} concurrent callers, batches ≤ ${MAX_BATCH}`);
  let t = performance.now();
  const train = syntheticModelData(TRAIN_ROWS, 1);
  const data = syntheticModelData(SCORE_ROWS, 2);
  console.log(`  data: ${TRAIN_ROWS} training rows, ${SCORE_ROWS} scoring rows (${((performance.now() - t) / 1000).toFixed(1)} s)`);
  t = performance.now();
  const { model } = trainGbdt(train.dataset, null, { maxRounds: TREES, maxDepth: DEPTH, maxLeaves: 2 ** DEPTH - 1, learningRate: 0.05, subsample: 0.8, minChildSamples: 10 });
  console.log(`  trained ${model.trees.length} trees of depth ≤ ${DEPTH} over ${MODEL_FEATURE_COUNT} features (${((performance.now() - t) / 1000).toFixed(1)} s)`);

  const headline = await benchModel(model, data, true);
  const sweep: SizeResult[] = [];
  for (const k of SWEEP) if (k < model.trees.length) sweep.push(await benchModel(prefix(model, k), data, false));
  const files: SizeResult[] = [];
  for (const f of MODEL_FILES) {
    const { label, model: trained } = modelFromManifest(f);
    files.push(await benchModel(trained, data, true, label));
  }

  console.log(`\nmodel time per transfer: process CPU µs (wall µs in brackets), median of ${REPS}:`);
  console.log(`  model                 trees  nodes    single-row run          micro-batched           raw ${Math.min(MAX_BATCH, CONCURRENCY)}-row batches      ratio  avg batch`);
  for (const r of [...sweep, headline, ...files]) {
    console.log(
      `  ${r.model.padEnd(20)}  ${String(r.trees).padStart(5)}  ${String(r.nodes).padStart(5)}   ${fmt(r.singleRow)}   ${fmt(r.microBatched)}   ${fmt(r.rawBatch)}   ${r.ratio.toFixed(1).padStart(5)}×  ${r.microBatched.avgBatch.toFixed(1)}`,
    );
  }
  for (const r of [headline, ...files]) if (r.assess) console.log(`  assess (score + top-3 factors), ${r.model} ${r.trees} trees: ${fmt(r.assess)}`);
  for (const r of files) {
    const ok = r.microBatched.cpuUsPerTransfer <= TARGET_US;
    console.log(`  ${ok ? 'PASS' : 'FAIL'}  ${r.model}: micro-batched ${r.microBatched.cpuUsPerTransfer.toFixed(2)} µs per transfer (≤ ${TARGET_US}), ${r.ratio.toFixed(1)}× below its single-row run`);
  }
  const pass = headline.microBatched.cpuUsPerTransfer <= TARGET_US;
  console.log(`  ratio single-row / micro-batched (${headline.trees} trees): ${headline.ratio.toFixed(1)}× CPU, ${headline.wallRatio.toFixed(1)}× wall`);
  console.log(`  ${pass ? 'PASS' : 'FAIL'}  micro-batched ≤ ${TARGET_US} µs of model time per transfer with ${headline.trees} trees (${headline.microBatched.cpuUsPerTransfer.toFixed(2)} µs)`);
  const meets = [...sweep, headline].filter((r) => r.microBatched.cpuUsPerTransfer <= TARGET_US).map((r) => r.trees);
  console.log(`  sizes within the target on this machine: ${meets.length > 0 ? `${meets.join(', ')} trees` : 'none'}`);

  const out = path.join(root, 'bench/results/model-batch.json');
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(
    out,
    `${JSON.stringify(
      {
        at: new Date().toISOString(),
        node: process.version,
        onnxruntime: ort.env.versions.common,
        cores: os.cpus().length,
        loadAverage: os.loadavg(),
        depth: DEPTH,
        features: MODEL_FEATURE_COUNT,
        trainRows: TRAIN_ROWS,
        rows: SCORE_ROWS,
        singleRows: SINGLE_ROWS,
        concurrency: CONCURRENCY,
        maxBatch: MAX_BATCH,
        reps: REPS,
        headline,
        sweep,
        files,
        target: { usPerTransfer: TARGET_US, pass, sizesWithin: meets, filesWithin: files.filter((r) => r.microBatched.cpuUsPerTransfer <= TARGET_US).map((r) => r.model) },
      },
      null,
      2,
    )}\n`,
  );
  console.log(`\nwritten ${path.relative(root, out)}`);
}

await main();

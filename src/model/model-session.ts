import { watch, type FSWatcher } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import type { FeatureValue } from '../features/catalogue.ts';
import { saabasContributions, topFactors, type ModelFactor } from './contributions.ts';
import { encodeVector, ENCODING_VERSION, featureNameMismatch, MODEL_FEATURE_COUNT } from './encode.ts';
import { parseManifest, sha256, type ModelManifest } from './manifest.ts';
import { MicroBatcher, type BatcherStats, type BatchResult, type MicroBatcherOptions, type ModelFailureReason } from './micro-batcher.ts';
import { compileEnsemble, predictProbability, type CompiledEnsemble, type TreeEnsemble } from './tree-ensemble.ts';
import { mulberry32 } from '../sim/random.ts';

/**
 * The model at scoring time (DESIGN §4 step 4, §6): one onnxruntime session per loaded model,
 * created once; rows micro-batched across concurrent requests (micro-batcher.ts); a new model
 * in the directory swapped in without a restart.
 *
 * Which model: every `*.json` manifest in `dir` (optionally only one `name`, or one pinned
 * `version`) is a candidate, newest `createdAt` first. A reload walks the candidates from the
 * newest down to the active one and loads the first that passes every check; a candidate that
 * fails is reported (status().problems, for /readyz) and the active model stays. So a corrupt
 * or mismatched new file never replaces a working model, and at start-up the newest loadable
 * model wins. A failed file is not retried until it changes. Deleting the active model's files
 * rolls back to the newest remaining loadable model; an empty directory keeps the active one.
 *
 * Checks before a model goes live: the manifest parses (manifest.ts); its feature names and
 * encoding version are the current encoding's (encode.ts); the ONNX file's SHA-256 is the
 * manifest's; onnxruntime loads it and it has the manifest's input and output; and it scores
 * a set of probe rows (all missing, and values on and around the trees' thresholds) like the
 * manifest's own trees do (|Δ| ≤ 1e-4), so the trees the explainer uses are the trees that
 * score.
 *
 * Swap: the active model is one reference, replaced at once; a batch keeps the model it
 * started on, and a replaced session is released when its last batch is done.
 */

export interface ModelScorerOptions {
  readonly dir: string;
  /** only manifests with this model name */
  readonly name?: string;
  /** only this version (pinning); unset: the newest */
  readonly version?: string;
  /** reload when files in `dir` change (default true) */
  readonly watch?: boolean;
  readonly debounceMs?: number;
  readonly batch?: Partial<Omit<MicroBatcherOptions, 'rowLength'>>;
  /** factors to explain per scored row (default 3; 0: none) */
  readonly topFactors?: number;
  /**
   * explain only scores at or above this probability (default 0: every score). Explaining
   * costs about as much as scoring one row; factors matter for transfers that get a warning.
   */
  readonly explainFrom?: number;
  /** onnxruntime intra-op threads (default 1: the event loop's own thread does the work) */
  readonly intraOpThreads?: number;
  /** without a model, check() reports not ready (default false: the engine scores with rules alone) */
  readonly requireModel?: boolean;
  readonly log?: (message: string) => void;
}

export interface LoadedModel {
  readonly name: string;
  readonly version: string;
  readonly manifestFile: string;
  readonly onnxFile: string;
  readonly loadedAt: string;
  readonly manifest: ModelManifest;
  readonly ensemble: TreeEnsemble;
  /** the same trees as flat arrays, for explanations */
  readonly compiled: CompiledEnsemble;
  readonly session: ort.InferenceSession;
}

export interface ModelProblem {
  readonly file: string;
  readonly message: string;
  readonly at: string;
}

export interface ModelStatus {
  readonly active: {
    readonly name: string;
    readonly version: string;
    readonly createdAt: string;
    readonly manifestFile: string;
    readonly sha256: string;
    readonly trees: number;
    readonly loadedAt: string;
  } | null;
  /** candidates newer than the active model that were refused, and manifests that do not parse */
  readonly problems: readonly ModelProblem[];
  readonly lastReloadAt: string | null;
}

/** What the decision takes from the model for one transfer. */
export interface ModelAssessment {
  /** P(fraud) in [0, 1], or null when the model did not score */
  readonly modelScore: number | null;
  readonly modelVersion: string | null;
  /** the largest contributions (signed) behind modelScore; empty without a score or below explainFrom */
  readonly factors: readonly ModelFactor[];
  /** why there is no score: the decision lists 'model' in `degraded` and the policy uses rules alone */
  readonly failure: { readonly reason: ModelFailureReason; readonly message: string } | null;
  /** time from the call to the answer, µs */
  readonly timingUs: number;
}

export type ModelScoreResult = BatchResult<LoadedModel>;

type LoadResult = { readonly ok: true; readonly model: LoadedModel } | { readonly ok: false; readonly message: string };

const PROBE_ROWS = 64;
const PROBE_TOLERANCE = 1e-4;

/**
 * Probe rows for the load-time check: one all-missing row, then rows whose values are the
 * trees' thresholds, their float32 neighbours, or missing (seeded, so every load probes alike).
 */
export function probeRows(e: TreeEnsemble, n = PROBE_ROWS): Float32Array {
  const byFeature: number[][] = Array.from({ length: e.nFeatures }, () => []);
  for (const t of e.trees) {
    for (let i = 0; i < t.feature.length; i++) if (t.feature[i]! >= 0) byFeature[t.feature[i]!]!.push(t.threshold[i]!);
  }
  const rand = mulberry32(0x5eed);
  const rows = new Float32Array(n * e.nFeatures).fill(Number.NaN);
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  for (let r = 1; r < n; r++) {
    for (let f = 0; f < e.nFeatures; f++) {
      const ts = byFeature[f]!;
      const u = rand();
      if (ts.length === 0 || u < 0.2) continue;
      f32[0] = ts[Math.floor(rand() * ts.length)]!;
      // the threshold itself, or one float32 step to either side
      if (u > 0.7 && f32[0] !== 0) u32[0] = u32[0]! + (rand() < 0.5 ? 1 : -1);
      rows[r * e.nFeatures + f] = f32[0]!;
    }
  }
  return rows;
}

function sessionOptions(threads: number): ort.InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
  };
}

async function runSession(model: LoadedModel, rows: Float32Array, n: number): Promise<Float32Array> {
  const input = new ort.Tensor('float32', rows, [n, model.ensemble.nFeatures]);
  const output = model.manifest.onnx.output;
  const out = await model.session.run({ [model.manifest.onnx.input]: input }, [output]);
  const t = out[output];
  if (t === undefined || !(t.data instanceof Float32Array)) throw new Error(`the session gave no float32 output ${output}`);
  return t.data;
}

/** Loads one model from its manifest file, checking everything listed above. */
export async function loadModel(manifestFile: string, intraOpThreads = 1): Promise<LoadResult> {
  let text: string;
  try {
    text = await readFile(manifestFile, 'utf8');
  } catch (err) {
    return { ok: false, message: `cannot read the manifest: ${(err as Error).message}` };
  }
  const parsed = parseManifest(text);
  if (!parsed.ok) return { ok: false, message: `invalid manifest: ${parsed.problems.join('; ')}` };
  const m = parsed.manifest;
  const mismatch = featureNameMismatch(m.featureNames);
  if (mismatch !== null) return { ok: false, message: mismatch };
  if (m.encodingVersion !== ENCODING_VERSION) {
    return { ok: false, message: `the model was trained on encoding ${m.encodingVersion}, the engine encodes ${ENCODING_VERSION}` };
  }
  const onnxFile = path.join(path.dirname(manifestFile), m.onnx.file);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(onnxFile);
  } catch (err) {
    return { ok: false, message: `cannot read ${m.onnx.file}: ${(err as Error).message}` };
  }
  const hash = sha256(bytes);
  if (hash !== m.onnx.sha256) return { ok: false, message: `${m.onnx.file} has SHA-256 ${hash}, the manifest says ${m.onnx.sha256}` };
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, sessionOptions(intraOpThreads));
  } catch (err) {
    return { ok: false, message: `onnxruntime cannot load ${m.onnx.file}: ${(err as Error).message}` };
  }
  const model: LoadedModel = {
    name: m.name,
    version: m.version,
    manifestFile,
    onnxFile,
    loadedAt: new Date().toISOString(),
    manifest: m,
    ensemble: m.ensemble,
    compiled: compileEnsemble(m.ensemble),
    session,
  };
  const fail = async (message: string): Promise<LoadResult> => {
    await session.release().catch(() => undefined);
    return { ok: false, message };
  };
  if (!session.inputNames.includes(m.onnx.input)) return fail(`${m.onnx.file} has no input ${m.onnx.input} (inputs: ${session.inputNames.join(', ')})`);
  if (!session.outputNames.includes(m.onnx.output)) return fail(`${m.onnx.file} has no output ${m.onnx.output} (outputs: ${session.outputNames.join(', ')})`);
  const probes = probeRows(m.ensemble);
  let scores: Float32Array;
  try {
    scores = await runSession(model, probes, PROBE_ROWS);
  } catch (err) {
    return fail(`${m.onnx.file} failed on probe rows: ${(err as Error).message}`);
  }
  for (let r = 0; r < PROBE_ROWS; r++) {
    const expected = predictProbability(m.ensemble, probes, r * m.ensemble.nFeatures);
    const got = scores[r]!;
    if (!(Math.abs(got - expected) <= PROBE_TOLERANCE)) {
      return fail(`${m.onnx.file} does not score like the manifest's trees (probe row ${r}: ONNX ${got}, trees ${expected})`);
    }
  }
  return { ok: true, model };
}

/** A loaded model with the batches running on it, so a replaced session is released only when idle. */
class Holder {
  inFlight = 0;
  retired = false;
  private released = false;
  constructor(
    readonly model: LoadedModel,
    readonly stamp: string,
  ) {}

  retire(): void {
    this.retired = true;
    this.releaseIfIdle();
  }

  releaseIfIdle(): void {
    if (!this.retired || this.inFlight > 0 || this.released) return;
    this.released = true;
    void this.model.session.release().catch(() => undefined);
  }
}

interface Candidate {
  readonly manifestFile: string;
  readonly stamp: string;
  readonly name: string;
  readonly version: string;
  readonly createdAt: number;
  /** the ONNX file the manifest names (null when it names none) */
  readonly onnxFile: string | null;
}

const MANIFEST_FILE = /\.json$/;
const MODEL_FILE = /\.(json|onnx)$/;

async function fileStamp(...files: string[]): Promise<string | null> {
  try {
    const stats = await Promise.all(files.map((f) => stat(f)));
    return stats.map((s) => `${s.size}:${s.mtimeMs}`).join('|');
  } catch {
    return null;
  }
}

export class ModelScorer {
  private readonly o: ModelScorerOptions;
  private readonly batcher: MicroBatcher<LoadedModel>;
  /** the holder of each model a batch may still run on (weak: a released model goes with it) */
  private readonly holders = new WeakMap<LoadedModel, Holder>();
  private active: Holder | null = null;
  private problems: ModelProblem[] = [];
  private lastReloadAt: string | null = null;
  /** manifests read before, by file: the stamp they were read at and their header (or why not) */
  private readonly headers = new Map<string, { stamp: string; header: Candidate | null; problem: string | null }>();
  /** candidates that failed to load, by manifest file and stamp: not retried until they change */
  private readonly failures = new Map<string, { stamp: string; problem: ModelProblem }>();
  private reloading: Promise<void> | null = null;
  private reloadAgain = false;
  private watcher: FSWatcher | null = null;
  private debounce: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(options: ModelScorerOptions) {
    this.o = options;
    this.batcher = new MicroBatcher<LoadedModel>(
      {
        acquire: () => {
          const h = this.active;
          if (h === null) return null;
          h.inFlight++;
          this.holders.set(h.model, h);
          return h.model;
        },
        run: (m, rows, n) => runSession(m, rows, n),
        release: (m) => {
          const h = this.holders.get(m);
          if (h === undefined) return;
          h.inFlight--;
          h.releaseIfIdle();
        },
      },
      { ...options.batch, rowLength: MODEL_FEATURE_COUNT },
    );
  }

  /** Loads the newest loadable model in `options.dir` (if any) and starts watching the directory. */
  static async open(options: ModelScorerOptions): Promise<ModelScorer> {
    const scorer = new ModelScorer(options);
    await scorer.reload();
    if (options.watch ?? true) scorer.watchDirectory();
    return scorer;
  }

  /** The model that scores the next batch, or null. */
  current(): LoadedModel | null {
    return this.active?.model ?? null;
  }

  status(): ModelStatus {
    const m = this.active?.model;
    return {
      active:
        m === undefined
          ? null
          : {
              name: m.name,
              version: m.version,
              createdAt: m.manifest.createdAt,
              manifestFile: path.basename(m.manifestFile),
              sha256: m.manifest.onnx.sha256,
              trees: m.ensemble.trees.length,
              loadedAt: m.loadedAt,
            },
      problems: [...this.problems],
      lastReloadAt: this.lastReloadAt,
    };
  }

  /** For /readyz: shaped like the API's ReadinessCheck (`{ name, check() }`). */
  readonly readiness = {
    name: 'model',
    check: async (): Promise<{ ready: boolean; detail: string }> => {
      const s = this.status();
      const rejected = s.problems.map((p) => `${p.file} refused: ${p.message}`).join('; ');
      const base = s.active === null ? 'no model loaded: scoring with rules alone' : `${s.active.name} ${s.active.version} (${s.active.trees} trees)`;
      return { ready: s.active !== null || !(this.o.requireModel ?? false), detail: rejected ? `${base}; ${rejected}` : base };
    },
  };

  /** P(fraud) of one encoded row (encode.ts), micro-batched; never rejects. */
  score(row: Float32Array): Promise<ModelScoreResult> {
    return this.batcher.score(row);
  }

  /**
   * Scores a feature vector (catalogue order) and explains the score: what the decision
   * needs from the model. Never rejects; a failure is a value (`failure`).
   */
  async assess(v: readonly FeatureValue[], topN: number = this.o.topFactors ?? 3): Promise<ModelAssessment> {
    const t0 = performance.now();
    const row = encodeVector(v);
    const r = await this.score(row);
    if (!r.ok) {
      return { modelScore: null, modelVersion: null, factors: [], failure: { reason: r.reason, message: r.message }, timingUs: Math.round((performance.now() - t0) * 1000) };
    }
    const explain = topN > 0 && r.score >= (this.o.explainFrom ?? 0);
    const factors = explain ? topFactors(saabasContributions(r.model.compiled, row), row, topN) : [];
    return {
      modelScore: Math.round(r.score * 1e6) / 1e6,
      modelVersion: r.model.version,
      factors,
      failure: null,
      timingUs: Math.round((performance.now() - t0) * 1000),
    };
  }

  batchCounters(): BatcherStats {
    return this.batcher.counters();
  }

  /** Re-reads the directory and swaps in a newer loadable model; concurrent calls share one pass. */
  reload(): Promise<void> {
    if (this.reloading !== null) {
      this.reloadAgain = true;
      return this.reloading;
    }
    this.reloading = (async () => {
      do {
        this.reloadAgain = false;
        await this.reloadOnce();
      } while (this.reloadAgain && !this.closed);
    })().finally(() => {
      this.reloading = null;
    });
    return this.reloading;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.debounce);
    this.watcher?.close();
    this.watcher = null;
    this.batcher.close();
    await this.reloading;
    this.active?.retire();
    this.active = null;
  }

  private log(message: string): void {
    this.o.log?.(message);
  }

  /** Reloads when a model file in the directory changes (open() does this unless `watch` is false); until close(). */
  watchDirectory(): void {
    if (this.watcher !== null || this.closed) return;
    const debounceMs = this.o.debounceMs ?? 100;
    try {
      this.watcher = watch(this.o.dir, { persistent: false }, (_event, filename) => {
        if (filename !== null && !MODEL_FILE.test(filename)) return;
        clearTimeout(this.debounce);
        this.debounce = setTimeout(() => void this.reload(), debounceMs);
      });
      this.watcher.on('error', (err: Error) => {
        this.problems = [...this.problems, { file: this.o.dir, message: `watching the model directory failed: ${err.message}`, at: new Date().toISOString() }];
      });
    } catch (err) {
      this.problems = [...this.problems, { file: this.o.dir, message: `cannot watch the model directory: ${(err as Error).message}`, at: new Date().toISOString() }];
    }
  }

  private async candidates(problems: ModelProblem[]): Promise<Candidate[]> {
    let names: string[];
    try {
      names = (await readdir(this.o.dir)).filter((f) => MANIFEST_FILE.test(f)).sort();
    } catch (err) {
      problems.push({ file: this.o.dir, message: `cannot read the model directory: ${(err as Error).message}`, at: new Date().toISOString() });
      return [];
    }
    const out: Candidate[] = [];
    for (const f of names) {
      const manifestFile = path.join(this.o.dir, f);
      const stamp = await fileStamp(manifestFile);
      if (stamp === null) continue; // removed meanwhile
      let entry = this.headers.get(manifestFile);
      if (entry === undefined || entry.stamp !== stamp) {
        entry = await this.readHeader(manifestFile, stamp);
        this.headers.set(manifestFile, entry);
      }
      if (entry.problem !== null) problems.push({ file: f, message: entry.problem, at: new Date().toISOString() });
      const h = entry.header;
      if (h === null) continue;
      if (this.o.name !== undefined && h.name !== this.o.name) continue;
      if (this.o.version !== undefined && h.version !== this.o.version) continue;
      out.push(h);
    }
    return out.sort((a, b) => b.createdAt - a.createdAt || b.version.localeCompare(a.version, 'en', { numeric: true }) || a.manifestFile.localeCompare(b.manifestFile));
  }

  private async readHeader(manifestFile: string, stamp: string): Promise<{ stamp: string; header: Candidate | null; problem: string | null }> {
    let json: unknown;
    try {
      json = JSON.parse(await readFile(manifestFile, 'utf8'));
    } catch (err) {
      return { stamp, header: null, problem: `not a readable JSON manifest: ${(err as Error).message}` };
    }
    const h = json as { name?: unknown; version?: unknown; createdAt?: unknown; onnx?: { file?: unknown } };
    const createdAt = typeof h.createdAt === 'string' ? Date.parse(h.createdAt) : Number.NaN;
    if (typeof h.name !== 'string' || typeof h.version !== 'string' || Number.isNaN(createdAt)) {
      return { stamp, header: null, problem: 'not a model manifest (name, version and createdAt are required)' };
    }
    const onnxFile = typeof h.onnx?.file === 'string' ? path.join(path.dirname(manifestFile), path.basename(h.onnx.file)) : null;
    return { stamp, header: { manifestFile, stamp, name: h.name, version: h.version, createdAt, onnxFile }, problem: null };
  }

  private async reloadOnce(): Promise<void> {
    const problems: ModelProblem[] = [];
    const candidates = await this.candidates(problems);
    for (const c of candidates) {
      if (this.closed) return;
      const onnxStamp = c.onnxFile === null ? null : await fileStamp(c.onnxFile);
      const stamp = `${c.stamp}|${onnxStamp ?? 'missing'}`;
      const active = this.active;
      if (active !== null && active.model.manifestFile === c.manifestFile && active.stamp === stamp) break;
      const failed = this.failures.get(c.manifestFile);
      if (failed !== undefined && failed.stamp === stamp) {
        problems.push(failed.problem);
        continue;
      }
      const result = await loadModel(c.manifestFile, this.o.intraOpThreads ?? 1);
      if (this.closed) {
        if (result.ok) await result.model.session.release().catch(() => undefined);
        return;
      }
      if (result.ok) {
        this.failures.delete(c.manifestFile);
        const previous = this.active;
        this.active = new Holder(result.model, stamp);
        previous?.retire();
        this.log(`model ${result.model.name} ${result.model.version} is active (${path.basename(c.manifestFile)})`);
        break;
      }
      const problem = { file: path.basename(c.manifestFile), message: result.message, at: new Date().toISOString() };
      this.failures.set(c.manifestFile, { stamp, problem });
      this.log(`model ${path.basename(c.manifestFile)} refused: ${result.message}`);
      problems.push(problem);
    }
    this.problems = problems;
    this.lastReloadAt = new Date().toISOString();
  }
}

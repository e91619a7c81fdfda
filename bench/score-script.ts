/**
 * `npm run bench:script`: the score script alone, without HTTP: Redis CPU per call of
 * src/store/lua/score-features.lua on generated transfers (BENCH_MIX), against a Redis of its
 * own. The figure to watch when changing the script; `npm run bench:cpu` gives the whole score.
 *
 * `npm run bench:script -- --steps` (issue 15): in the same run and on the same Redis, the
 * single script called one by one (as the score route does today), the single script with the
 * calls of one event-loop turn in one pipeline, and the split score's four steps
 * (src/features/score-steps.ts: the steps of one turn's transfers in one pipeline); each on its
 * own key prefix with the same transfers, interleaved over SCRIPT_ROUNDS rounds. Prints Redis
 * CPU and wall time per score and the ratios to the single script.
 *
 * Env: SCRIPT_CALLS (30000 per mode and round), SCRIPT_CONCURRENCY (16; 64 with --steps),
 * SCRIPT_ROUNDS (2, --steps), SCRIPT_AOF (1: the Redis writes an append-only file, as
 * ./data/redis does; 0: no persistence), BENCH_PAYERS, BENCH_PAYEES, BENCH_MIX.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { eventHash, TransferEventSchema, type TransferEvent } from '../src/features/transfer-event.ts';
import { FeatureStore, scoreScriptCall, type FeatureStoreOptions } from '../src/features/feature-store.ts';
import { decodeScoreReply } from '../src/features/score-reply.ts';
import { ScoreSteps } from '../src/features/score-steps.ts';
import { makeKeys, type Keys } from '../src/store/keys.ts';
import { startLocalRedis } from '../src/store/local-redis.ts';
import { redisCpuUs } from './processes.ts';
import { mixFromEnv, transferGenerator } from './transfer-gen.ts';

const stepsMode = process.argv.includes('--steps');
const calls = Number(process.env.SCRIPT_CALLS ?? 30_000);
const concurrency = Number(process.env.SCRIPT_CONCURRENCY ?? (stepsMode ? 64 : 16));
const rounds = Number(process.env.SCRIPT_ROUNDS ?? 2);
const payers = Number(process.env.BENCH_PAYERS ?? 100_000);
const payees = Number(process.env.BENCH_PAYEES ?? 20_000);
const OPTS: FeatureStoreOptions = { idempotencyTtlSeconds: 86_400, pairTtlDays: 400, distinctCap: 10_000, decisionStreamMaxLen: 10_000 };

/** One way of scoring a transfer (the velocity part only). */
type Score = (e: TransferEvent) => Promise<unknown>;

/** The single script with the calls of one event-loop turn in one pipeline (no zone retries: the mix has no guardian limits). */
function pipelinedScript(redis: Redis, keys: Keys): Score {
  let batch: { args: (string | number)[]; resolve: (v: unknown) => void; reject: (e: Error) => void }[] = [];
  const flush = async (): Promise<void> => {
    const b = batch;
    batch = [];
    const p = redis.pipeline();
    for (const c of b) p.cpScoreFeatures(...c.args);
    const results = (await p.exec()) ?? [];
    b.forEach((c, i) => {
      const [err, reply] = results[i] ?? [new Error('aborted'), null];
      if (err) c.reject(err);
      else c.resolve(decodeScoreReply(reply));
    });
  };
  return (e) =>
    new Promise((resolve, reject) => {
      const t = Date.parse(e.occurredAt);
      if (batch.length === 0) setImmediate(() => void flush());
      batch.push({ args: scoreScriptCall(keys, OPTS, e, t, eventHash(e), '', Date.now()), resolve, reject });
    });
}

const local = await startLocalRedis({ dataDir: mkdtempSync(path.join(os.tmpdir(), 'calmpay-script-redis-')), appendOnly: process.env.SCRIPT_AOF !== '0' });
const redis = new Redis(local.url);
const stats = new Redis(local.url);
try {
  const mix = mixFromEnv();
  const runId = `s${Date.now().toString(36)}`;
  const onErr = (err: Error): void => {
    throw err;
  };
  const modes: { name: string; score: Score; gen: () => unknown }[] = [];
  const add = (name: string, prefix: string, make: (keys: Keys) => Score): void => {
    // the same seed and run id: every mode scores the same transfers, each under its own prefix
    modes.push({ name, score: make(makeKeys(prefix)), gen: transferGenerator({ seed: 1, payers, payees, runId, mix }) });
  };
  add('script (one call each)', 's:', (keys) => {
    const store = new FeatureStore(redis, keys, OPTS, onErr);
    return (e) => store.claimAndUpdate(e, Date.parse(e.occurredAt), eventHash(e));
  });
  if (stepsMode) {
    add('script (pipelined per turn)', 'p:', (keys) => {
      new FeatureStore(redis, keys, OPTS, onErr); // defines cpScoreFeatures
      return pipelinedScript(redis, keys);
    });
    add('claim, then 3 steps (pipelined per turn)', 'q:', (keys) => {
      const steps = new ScoreSteps(redis, keys, OPTS, 5_000);
      return (e) => steps.score({ e, tMs: Date.parse(e.occurredAt), eventHash: eventHash(e), claimMs: Date.now() });
    });
  }
  const run = async (m: (typeof modes)[number], n: number): Promise<number> => {
    let left = n;
    let latencyNs = 0n;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (left-- > 0) {
          const e = TransferEventSchema.parse(m.gen());
          const t0 = process.hrtime.bigint();
          await m.score(e);
          latencyNs += process.hrtime.bigint() - t0;
        }
      }),
    );
    return Number(latencyNs) / 1000 / n;
  };
  for (const m of modes) await run(m, Math.min(5000, calls));
  const totals = modes.map(() => ({ cpuUs: 0, wallUs: 0, latencyUs: 0, evalUs: 0, evalCalls: 0 }));
  for (let round = 0; round < (stepsMode ? rounds : 1); round++) {
    for (const [i, m] of modes.entries()) {
      await stats.config('RESETSTAT');
      const cpu0 = await redisCpuUs(stats);
      const t0 = process.hrtime.bigint();
      const latency = await run(m, calls);
      const wall = Number(process.hrtime.bigint() - t0) / 1000;
      const tot = totals[i]!;
      tot.cpuUs += (await redisCpuUs(stats)) - cpu0;
      tot.wallUs += wall;
      tot.latencyUs += latency * calls;
      for (const [, c, us] of (await stats.info('commandstats')).matchAll(/cmdstat_evalsha:calls=(\d+),usec=(\d+)/g)) {
        tot.evalCalls += Number(c);
        tot.evalUs += Number(us);
      }
    }
  }
  const n = calls * (stepsMode ? rounds : 1);
  const perScore = totals.map((t) => ({ cpu: t.cpuUs / n, wall: t.wallUs / n, latency: t.latencyUs / n, evalsha: t.evalUs / Math.max(1, t.evalCalls), evalPerScore: t.evalUs / n }));
  if (!stepsMode) {
    console.log(`${calls} score-script calls, mix ${mix}: Redis CPU ${perScore[0]!.cpu.toFixed(1)} µs per call; evalsha ${perScore[0]!.evalsha.toFixed(1)} µs per call (wall, inside Redis)`);
  } else {
    console.log(`${n} scores per mode (${rounds} interleaved rounds), mix ${mix}, concurrency ${concurrency}, one Redis:`);
    const base = perScore[0]!;
    for (const [i, m] of modes.entries()) {
      const s = perScore[i]!;
      console.log(
        `  ${m.name.padEnd(30)} Redis CPU ${s.cpu.toFixed(1).padStart(6)} µs/score (x${(s.cpu / base.cpu).toFixed(2)}); ` +
          `inside scripts ${s.evalPerScore.toFixed(1)} µs/score; wall ${s.wall.toFixed(1)} µs/score (x${(s.wall / base.wall).toFixed(2)}); ` +
          `mean latency ${s.latency.toFixed(0)} µs`,
      );
    }
    const [, piped, steps] = perScore;
    console.log(`  steps / pipelined script: Redis CPU x${(steps!.cpu / piped!.cpu).toFixed(2)}, wall x${(steps!.wall / piped!.wall).toFixed(2)}`);
  }
} finally {
  redis.disconnect();
  stats.disconnect();
  await local.stop();
}

/**
 * `npm run bench:window-replay`: the training replay of one simulated stream through the score
 * script on Redis (FeatureReplay) and through its model in memory (WindowReplay), in one run,
 * alternating, each as the training pipeline runs it (replayLabelled: vectors, reports,
 * encoding). Reports transfers per second of each and the ratio; checks on the way that both
 * gave the same encoded rows (test/integration/window-replay.test.ts checks every vector).
 *
 * Env: BENCH_PAYERS (2000), BENCH_DAYS (14), BENCH_ROUNDS (2). Redis: a throwaway local
 * redis-server, no persistence (as `npm run train` starts one).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { DEFAULT_AGE_BANDS } from '../src/features/build-vector.ts';
import { FeatureReplay } from '../src/features/feature-replay.ts';
import type { VectorReplay } from '../src/features/replay-batches.ts';
import { WindowReplay } from '../src/features/window-replay.ts';
import { simulate } from '../src/sim/index.ts';
import { startLocalRedis } from '../src/store/local-redis.ts';
import { labelled, replayLabelled, type LabelledEvent } from '../src/train/pipeline.ts';
import { benchResultFile } from './result-file.ts';

const payers = Number(process.env.BENCH_PAYERS ?? 2_000);
const days = Number(process.env.BENCH_DAYS ?? 14);
const rounds = Number(process.env.BENCH_ROUNDS ?? 2);

const rows: LabelledEvent[] = [...simulate({ payers, days, seed: 5, start: '2026-06-01' })].map(labelled);

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'calmpay-window-replay-redis-'));
const local = await startLocalRedis({ dataDir, appendOnly: false });
const redis = new Redis(local.url);
const seconds: Record<'redis' | 'memory', number[]> = { redis: [], memory: [] };
let reference: Buffer | null = null;
try {
  const time = async (what: 'redis' | 'memory', replay: VectorReplay): Promise<void> => {
    const started = process.hrtime.bigint();
    const set = await replayLabelled(replay, rows);
    seconds[what].push(Number(process.hrtime.bigint() - started) / 1e9);
    const x = Buffer.from(set.data.x.buffer);
    if (reference === null) reference = x;
    else if (!reference.equals(x)) throw new Error(`the ${what} replay encoded other rows than the first`);
  };
  for (let r = 0; r < rounds; r++) {
    await time('redis', new FeatureReplay({ redis, ageBands: DEFAULT_AGE_BANDS }));
    await time('memory', new WindowReplay({ ageBands: DEFAULT_AGE_BANDS }));
  }
} finally {
  await redis.quit();
  await local.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
const best = (xs: number[]): number => Math.min(...xs);
const perSecond = (what: 'redis' | 'memory'): number => Math.round(rows.length / best(seconds[what]));
const result = {
  transfers: rows.length,
  simulator: { payers, days, seed: 5 },
  rounds,
  seconds,
  transfersPerSecond: { featureReplayOnRedis: perSecond('redis'), windowReplayInMemory: perSecond('memory') },
  speedup: Math.round((best(seconds.redis) / best(seconds.memory)) * 100) / 100,
  cpus: os.cpus().length,
};
const file = benchResultFile(path.resolve(import.meta.dirname, '..'), 'window-replay.json');
mkdirSync(path.dirname(file), { recursive: true });
writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result, null, 2));
console.log(`written to ${path.relative(process.cwd(), file)}`);

/**
 * `npm run bench:script`: the score script alone, without HTTP: Redis CPU per call of
 * src/store/lua/score-features.lua on generated transfers (BENCH_MIX), against a Redis of its
 * own. The figure to watch when changing the script; `npm run bench:cpu` gives the whole score.
 *
 * Env: SCRIPT_CALLS (30000), SCRIPT_CONCURRENCY (16), BENCH_PAYERS, BENCH_PAYEES, BENCH_MIX.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { eventHash, TransferEventSchema } from '../src/features/transfer-event.ts';
import { FeatureStore } from '../src/features/feature-store.ts';
import { makeKeys } from '../src/store/keys.ts';
import { startLocalRedis } from '../src/store/local-redis.ts';
import { redisCpuUs } from './processes.ts';
import { mixFromEnv, transferGenerator } from './transfer-gen.ts';

const calls = Number(process.env.SCRIPT_CALLS ?? 30_000);
const concurrency = Number(process.env.SCRIPT_CONCURRENCY ?? 16);
const payers = Number(process.env.BENCH_PAYERS ?? 100_000);
const payees = Number(process.env.BENCH_PAYEES ?? 20_000);

const local = await startLocalRedis({ dataDir: mkdtempSync(path.join(os.tmpdir(), 'calmpay-script-redis-')), appendOnly: true });
const redis = new Redis(local.url);
const stats = new Redis(local.url);
try {
  const store = new FeatureStore(redis, makeKeys('s:'), { idempotencyTtlSeconds: 86_400, pairTtlDays: 400, distinctCap: 10_000, decisionStreamMaxLen: 10_000 }, (err) => {
    throw err;
  });
  const mix = mixFromEnv();
  const gen = transferGenerator({ seed: 1, payers, payees, runId: `s${Date.now().toString(36)}`, mix });
  const run = async (n: number) => {
    let left = n;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (left-- > 0) {
          const e = TransferEventSchema.parse(gen());
          await store.claimAndUpdate(e, Date.parse(e.occurredAt), eventHash(e));
        }
      }),
    );
  };
  await run(Math.min(5000, calls));
  await stats.config('RESETSTAT');
  const cpu0 = await redisCpuUs(stats);
  await run(calls);
  const cpu = (await redisCpuUs(stats)) - cpu0;
  const info = await stats.info('commandstats');
  const evalsha = /cmdstat_evalsha:calls=(\d+),usec=(\d+)/.exec(info);
  console.log(`${calls} score-script calls, mix ${mix}: Redis CPU ${(cpu / calls).toFixed(1)} µs per call; evalsha ${evalsha ? (Number(evalsha[2]) / Number(evalsha[1])).toFixed(1) : '?'} µs per call (wall, inside Redis)`);
} finally {
  redis.disconnect();
  stats.disconnect();
  await local.stop();
}

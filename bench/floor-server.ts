import Fastify from 'fastify';
import { Redis } from 'ioredis';
import { loadConfig } from '../src/config.ts';
import { featureStoreOptions } from '../src/config-wiring.ts';
import { parseTransferEvent } from '../src/features/transfer-event.ts';
import { scoreScriptCall } from '../src/features/feature-store.ts';
import { makeKeys, SCRIPTS } from '../src/store/keys.ts';

/**
 * The design's floor, a third target of `npm run bench`: what a stateless node pays for the
 * least a score can do under DESIGN §4 — validate the event as the engine does
 * (parseTransferEvent), make ONE Redis call with the score script's keys and arguments
 * (scoreScriptCall) whose script only makes the idempotency claim `SET NX PX` (the one write
 * any design of it must make), and answer a small JSON object. No windows, rules, model,
 * decision record or lifecycle.
 *
 * Its ratio against bare fastify is the ceiling of any engine that keeps the design's one Redis
 * round trip per score on this machine, whatever the script and the scoring code cost; the
 * engine's ratio against it is how far the engine is from that ceiling.
 */
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { enableAutoPipelining: false, maxRetriesPerRequest: 1 });
const config = loadConfig({ ...process.env, REDIS_KEY_PREFIX: process.env.REDIS_KEY_PREFIX ?? 'floor:' });
const keys = makeKeys(config.store.redisKeyPrefix);
/** the score script's key count (its ARGV count is 28) */
const K = SCRIPTS.scoreFeatures.numberOfKeys;
redis.defineCommand('floorClaim', {
  numberOfKeys: K,
  lua: "if redis.call('SET', KEYS[1], ARGV[3], 'NX', 'PX', ARGV[7]) then return {0} end return {1}",
});
// FLOOR_MODE picks what the floor does after validation:
// - `claim` (default): one script call per request, as above;
// - `batch`: the claims of one event-loop turn go to Redis as ONE script call (the same keys and
//   arguments, concatenated), to measure what batching round trips would buy;
// - `validate`: no Redis call at all, the floor of an engine that would keep its state in process.
redis.defineCommand('floorClaimBatch', {
  lua:
    `local out = {} for i = 1, #KEYS / ${K} do local k, a = (i - 1) * ${K}, (i - 1) * 28 ` +
    "if redis.call('SET', KEYS[k + 1], ARGV[a + 3], 'NX', 'PX', ARGV[a + 7]) then out[i] = 0 else out[i] = 1 end end return out",
});
declare module 'ioredis' {
  interface RedisCommander<Context> {
    floorClaim(...args: (string | number)[]): import('ioredis').Result<number[], Context>;
    floorClaimBatch(...args: (string | number)[]): import('ioredis').Result<number[], Context>;
  }
}
const MODES = ['claim', 'batch', 'validate'] as const;
const mode = process.env.FLOOR_MODE ?? 'claim';
if (!(MODES as readonly string[]).includes(mode)) throw new Error(`FLOOR_MODE must be ${MODES.join(', ')}; got ${JSON.stringify(mode)}`);
let queued: { keys: string[]; args: (string | number)[]; done: (claimed: number) => void; fail: (err: Error) => void }[] = [];
function sendBatch(): void {
  const batch = queued;
  queued = [];
  const keys = batch.flatMap((q) => q.keys);
  const args = batch.flatMap((q) => q.args);
  redis.floorClaimBatch(keys.length, ...keys, ...args).then(
    (out) => batch.forEach((q, i) => q.done(out[i]!)),
    (err: Error) => batch.forEach((q) => q.fail(err)),
  );
}
function claim(all: (string | number)[]): Promise<number> {
  if (mode === 'validate') return Promise.resolve(0);
  if (mode === 'claim') return redis.floorClaim(...all).then((r) => r[0]!);
  return new Promise((done, fail) => {
    if (queued.length === 0) setImmediate(sendBatch);
    queued.push({ keys: all.slice(0, K) as string[], args: all.slice(K), done, fail });
  });
}

const app = Fastify({ logger: false, bodyLimit: 16_384 });
app.post('/v1/transfers/score', async (request, reply) => {
  const parsed = parseTransferEvent(request.body);
  if (!parsed.success) return reply.code(400).send({ code: 'CALMPAY_ERR_VALIDATION', message: parsed.error.message });
  const e = parsed.data;
  // the engine's own call (keys and arguments), with the transfer's claim as its only write
  const claimed = await claim(scoreScriptCall(keys, featureStoreOptions(config), e, Date.parse(e.occurredAt), 'h'.repeat(27), '', Date.now()));
  return { transferId: e.transferId, action: 'allow', replayed: claimed === 1 };
});
app.get('/healthz', async () => ({ status: 'ok' }));
const port = Number(process.env.PORT ?? 3200);
await app.listen({ host: '127.0.0.1', port });
console.log(`design floor listening on ${port}`);
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    void app.close().then(() => redis.quit()).finally(() => process.exit(0));
  });
}

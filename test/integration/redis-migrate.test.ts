/**
 * `npm run redis:migrate` (issue 15, release A; src/store/pair-migration.ts): a store of today's
 * layout (pairs only in the payer's slot, as score-features.lua wrote them before the dual write)
 * gets every pair in the payee's slot, equal to its pair, with the same expiry; a second run
 * changes nothing; on one Redis and on a 3-primary cluster, through the CLI.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FeatureStore, type FeatureStoreOptions } from '../../src/features/feature-store.ts';
import { eventHash } from '../../src/features/transfer-event.ts';
import { mulberry32 } from '../../src/sim/random.ts';
import { makeKeys } from '../../src/store/keys.ts';
import { migratePairs, pairPattern, parsePairKey } from '../../src/store/pair-migration.ts';
import { closeRedis, RedisConnections, type RedisClient } from '../../src/store/redis-connections.ts';
import { parseClusterNodes } from '../../src/store/redis-target.ts';
import { redisUrl } from '../helpers/redis.ts';
import { startTestCluster, type LocalCluster } from '../helpers/redis-cluster.ts';
import { transferEvent } from '../helpers/velocity-streams.ts';

const run = promisify(execFile);
const OPTS: FeatureStoreOptions = { idempotencyTtlSeconds: 3600, pairTtlDays: 400, distinctCap: 100, decisionStreamMaxLen: 1000 };
const DAY = 86_400_000;

let single: Redis;
let cluster: LocalCluster;
let clustered: RedisClient;

beforeAll(async () => {
  single = new Redis(redisUrl());
  cluster = await startTestCluster();
  clustered = await new RedisConnections(parseClusterNodes(cluster.nodeList)!, 5_000).openClient('tool');
}, 60_000);

afterAll(async () => {
  await single?.quit();
  if (clustered !== undefined) await closeRedis(clustered);
  await cluster?.stop();
});

async function keysMatching(redis: RedisClient, pattern: string): Promise<string[]> {
  const found: string[] = [];
  for (const node of redis instanceof Cluster ? redis.nodes('master') : [redis]) {
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      found.push(...batch);
      cursor = next;
    } while (cursor !== '0');
  }
  // SCAN may return a key twice (while Redis resizes its table, e.g. under other tests' writes)
  return [...new Set(found)].sort();
}

/** The counts of a summary line; they add up to the keys scanned, which are at least `pairs` (SCAN may repeat a key). */
function summary(line: string, pairs: number, primaries: 1 | 3): Record<'scanned' | 'created' | 'merged' | 'unchanged' | 'gone' | 'malformed', number> {
  const m = new RegExp(
    `^redis:migrate: (\\d+) pair keys on ${primaries} primar(?:y|ies): (\\d+) pairin created, (\\d+) merged, (\\d+) already up to date, (\\d+) expired meanwhile, (\\d+) malformed \\(left as they are\\), in [\\d.]+ s$`,
  ).exec(line);
  expect(m, line).not.toBeNull();
  const [scanned, created, merged, unchanged, gone, malformed] = m!.slice(1).map(Number) as [number, number, number, number, number, number];
  expect(scanned).toBeGreaterThanOrEqual(pairs);
  expect(created + merged + unchanged + gone + malformed).toBe(scanned);
  return { scanned, created, merged, unchanged, gone, malformed };
}

/** Every key under the prefix with its DUMP and expiry (unix ms). */
async function snapshot(redis: RedisClient, prefix: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const key of await keysMatching(redis, `${prefix}*`)) {
    out.set(key, `${(await redis.dumpBuffer(key))?.toString('base64')} ${await redis.pexpiretime(key)}`);
  }
  return out;
}

/** Every pair has its pair in, equal in value and expiry (see below); answers the number of pairs. */
async function expectPairsMigrated(redis: RedisClient, prefix: string): Promise<number> {
  const pairs = await keysMatching(redis, pairPattern(prefix));
  const k = makeKeys(prefix);
  for (const key of pairs) {
    const ids = parsePairKey(prefix, key)!;
    const inKey = k.pairIn(ids.payee, ids.payer);
    expect(await redis.get(inKey), inKey).toBe(await redis.get(key));
    // equal, or a millisecond or two later for a pair dual-written by score-features.lua (its
    // two SET ... PX run microseconds apart, and Redis 7.0 reads the clock per command)
    const [at, inAt] = [await redis.pexpiretime(key), await redis.pexpiretime(inKey)];
    expect(inAt, inKey).toBeGreaterThanOrEqual(at);
    expect(inAt, inKey).toBeLessThanOrEqual(at + 10);
  }
  return pairs.length;
}

/**
 * Today's layout on one Redis: transfers scored by score-features.lua among a few accounts
 * (repeat pairs, late events), then every pair in removed: what a store written before release
 * A's dual write holds. Then some pairs in as a rolling deploy leaves them: partial ones (a
 * smaller count, a later first time, an earlier expiry) and transfers scored again by release A.
 */
async function seedTodaysLayout(prefix: string): Promise<void> {
  const k = makeKeys(prefix);
  const store = new FeatureStore(single, k, OPTS, (err) => {
    throw err;
  });
  const rand = mulberry32(3);
  const t0 = Date.now() - 30 * DAY;
  for (let n = 0; n < 300; n++) {
    const tMs = t0 + Math.floor(rand() * 29 * DAY);
    const e = transferEvent({ tMs, amount: 10 + Math.floor(rand() * 500), payerId: `p${Math.floor(rand() * 12)}`, payeeId: `q${Math.floor(rand() * 8)}`, deviceId: null }, `tx-${n}`);
    expect((await store.claimAndUpdate(e, tMs, eventHash(e))).kind).toBe('new');
  }
  const ins = await keysMatching(single, `${prefix}{a:*}:pairin:*`);
  expect(ins.length).toBeGreaterThan(40);
  await single.del(...ins);
  // release A scores a few more: their pairs are dual-written (pair in = pair)
  for (let n = 0; n < 20; n++) {
    const tMs = t0 + 29 * DAY + n * 60_000;
    const e = transferEvent({ tMs, amount: 20, payerId: `p${n % 12}`, payeeId: `q${n % 8}`, deviceId: null }, `tx-a-${n}`);
    expect((await store.claimAndUpdate(e, tMs, eventHash(e))).kind).toBe('new');
  }
  const pairs = await keysMatching(single, pairPattern(prefix));
  // a pair in behind its pair (as after a crash of a half-finished write, or a hand edit): merged
  for (const key of pairs.slice(0, 5)) {
    const ids = parsePairKey(prefix, key)!;
    const [first, count] = (await single.get(key))!.split(',').map(Number) as [number, number];
    await single.set(k.pairIn(ids.payee, ids.payer), `${first + 1000},${Math.max(1, count - 1)}`, 'PX', 60_000);
  }
}

/** The CLI with these variables (REDIS_URL and REDIS_CLUSTER_NODES only as given); its stdout. */
async function cli(env: Record<string, string>, ...args: string[]): Promise<string> {
  const { REDIS_URL: _url, REDIS_CLUSTER_NODES: _nodes, ...rest } = process.env;
  const { stdout } = await run('npx', ['tsx', 'src/cli/redis-migrate.ts', ...args], { env: { ...rest, ...env }, timeout: 60_000 });
  return stdout.trim();
}

describe('npm run redis:migrate', () => {
  it('on one Redis: every pair gets its pair in (merged with one already there), and a second run changes nothing', async () => {
    const prefix = `mig-${randomUUID().slice(0, 8)}:`;
    await seedTodaysLayout(prefix);
    const pairs = await keysMatching(single, pairPattern(prefix));
    const before = await keysMatching(single, `${prefix}{a:*}:pairin:*`);
    expect(before.length).toBeLessThan(pairs.length);

    const first = summary(await cli({ REDIS_URL: redisUrl(), REDIS_KEY_PREFIX: prefix }, '--batch', '7'), pairs.length, 1);
    expect(first).toMatchObject({ created: pairs.length - before.length, merged: 5, gone: 0, malformed: 0 });
    expect(await expectPairsMigrated(single, prefix)).toBe(pairs.length);
    expect((await keysMatching(single, `${prefix}{a:*}:pairin:*`)).length).toBe(pairs.length);

    const state = await snapshot(single, prefix);
    const second = summary(await cli({ REDIS_URL: redisUrl(), REDIS_KEY_PREFIX: prefix }), pairs.length, 1);
    expect(second).toMatchObject({ created: 0, merged: 0, gone: 0, malformed: 0 });
    expect(await snapshot(single, prefix)).toEqual(state);
  }, 120_000);

  it('keeps the earlier first time, the larger count and the later expiry of a pair in that is ahead', async () => {
    const prefix = `mig-${randomUUID().slice(0, 8)}:`;
    const k = makeKeys(prefix);
    const at = Date.now() + 3_600_000;
    await single.set(k.pair('a', 'b'), '5000,3', 'PXAT', at);
    await single.set(k.pairIn('b', 'a'), '4000,2', 'PXAT', at + 10_000);
    await single.set(k.pair('c', 'd'), '5000,3', 'PXAT', at);
    await single.set(k.pairIn('d', 'c'), 'not a pair', 'PXAT', at);
    expect(await migratePairs(single, prefix, { batch: 1 })).toEqual({ scanned: 2, created: 0, merged: 1, unchanged: 0, gone: 0, malformed: 1 });
    expect(await single.get(k.pairIn('b', 'a'))).toBe('4000,3');
    expect(await single.pexpiretime(k.pairIn('b', 'a'))).toBe(at + 10_000);
    expect(await single.get(k.pairIn('d', 'c'))).toBe('not a pair');
    await expect(migratePairs(single, prefix, { batch: 0 })).rejects.toThrow(/batch/);
  });

  it('on the 3-primary cluster: pairs on every primary, each pair in written in the payee slot, a second run changes nothing', async () => {
    // today's layout copied from one Redis (score-features.lua does not run on a cluster)
    const source = `mig-${randomUUID().slice(0, 8)}:`;
    await seedTodaysLayout(source);
    const prefix = `migc-${randomUUID().slice(0, 8)}:`;
    for (const key of await keysMatching(single, pairPattern(source))) {
      await clustered.set(prefix + key.slice(source.length), (await single.get(key))!, 'PXAT', await single.pexpiretime(key));
    }
    const pairs = await keysMatching(clustered, pairPattern(prefix));
    expect(pairs.length).toBeGreaterThan(40);
    for (const node of (clustered as Cluster).nodes('master')) expect((await node.scan('0', 'MATCH', pairPattern(prefix), 'COUNT', 10_000))[1].length).toBeGreaterThan(0);

    const env = { REDIS_CLUSTER_NODES: cluster.nodeList, REDIS_KEY_PREFIX: prefix };
    expect(summary(await cli(env), pairs.length, 3)).toMatchObject({ created: pairs.length, merged: 0, gone: 0, malformed: 0 });
    expect(await expectPairsMigrated(clustered, prefix)).toBe(pairs.length);
    const state = await snapshot(clustered, prefix);
    expect(summary(await cli(env), pairs.length, 3)).toMatchObject({ created: 0, merged: 0, gone: 0, malformed: 0 });
    expect(await snapshot(clustered, prefix)).toEqual(state);
  }, 120_000);

  it('refuses a bad --batch, naming it', async () => {
    await expect(cli({ REDIS_URL: redisUrl() }, '--batch', '0')).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('--batch must be an integer >= 1, got "0"') });
  }, 60_000);
});

/**
 * Every key of a test's prefix and its content, on one Redis or on each primary of a cluster:
 * for differential tests that compare the state two runs left.
 */
import { Cluster } from 'ioredis';
import type { RedisClient } from '../../src/store/redis-connections.ts';

/** Every key under `prefix`: on each primary of a cluster. */
export async function keysUnder(redis: RedisClient, prefix: string): Promise<string[]> {
  const nodes = redis instanceof Cluster ? redis.nodes('master') : [redis];
  const found: string[] = [];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      found.push(...batch);
      cursor = next;
    } while (cursor !== '0');
  }
  return [...new Set(found)];
}

export interface KeyContent {
  readonly type: string;
  readonly value: unknown;
  /** whether the key has a TTL */
  readonly ttl: boolean;
}

/** A key's content as comparable values (a stream: its entries' fields, without ids). */
export async function keyContent(redis: RedisClient, key: string): Promise<KeyContent> {
  const type = await redis.type(key);
  const ttl = (await redis.pttl(key)) > 0;
  switch (type) {
    case 'hash':
      return { type, ttl, value: Object.entries(await redis.hgetall(key)).sort(([a], [b]) => (a < b ? -1 : 1)) };
    case 'zset':
      return { type, ttl, value: await redis.zrange(key, 0, -1, 'WITHSCORES') };
    case 'string':
      return { type, ttl, value: await redis.get(key) };
    case 'list':
      return { type, ttl, value: await redis.lrange(key, 0, -1) };
    default:
      return { type, ttl, value: null };
  }
}

/** The keys under `prefix` (named without it) that `keep` accepts, with their content. */
export async function keysWithContent(redis: RedisClient, prefix: string, keep: (name: string) => boolean): Promise<Map<string, KeyContent>> {
  const out = new Map<string, KeyContent>();
  for (const key of await keysUnder(redis, prefix)) {
    const name = key.slice(prefix.length);
    if (keep(name)) out.set(name, await keyContent(redis, key));
  }
  return out;
}

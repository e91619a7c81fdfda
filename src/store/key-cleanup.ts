import { Cluster } from 'ioredis';
import { hashTag } from './key-slots.ts';
import { globEscape, primaries } from './pair-migration.ts';
import type { RedisClient } from './redis-connections.ts';

/**
 * Removes every key under `prefix` (UNLINK), on one Redis or on every primary of a Redis
 * Cluster (issue 15): SCAN sees only the node it is sent to, and a multi-key UNLINK across
 * slots is CROSSSLOT, so on a cluster each primary is scanned and the keys found are unlinked
 * per hash tag (one tag, one slot), through the cluster client (which follows a slot that moved
 * meanwhile). Returns how many keys it unlinked.
 */
export async function unlinkPrefix(redis: RedisClient, prefix: string, scanCount = 10_000): Promise<number> {
  const pattern = `${globEscape(prefix)}*`;
  let removed = 0;
  for (const node of primaries(redis)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', scanCount);
      cursor = next;
      if (keys.length === 0) continue;
      if (!(redis instanceof Cluster)) {
        removed += await redis.unlink(...keys);
        continue;
      }
      const bySlot = new Map<string, string[]>();
      for (const key of keys) {
        const tag = hashTag(key);
        const group = bySlot.get(tag);
        if (group === undefined) bySlot.set(tag, [key]);
        else group.push(key);
      }
      const counts = await Promise.all([...bySlot.values()].map((group) => redis.unlink(...group)));
      removed += counts.reduce((a, b) => a + b, 0);
    } while (cursor !== '0');
  }
  return removed;
}

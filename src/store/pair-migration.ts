/**
 * The pair migration of issue 15, release A (`npm run redis:migrate`, docs/cluster-keys.md):
 * every payer -> payee pair of today's layout, `<prefix>{a:<payer>}:pair:<payee>` in the payer's
 * slot, is written into the payee's slot as `<prefix>{a:<payee>}:pairin:<payer>` (what the split
 * score's payee step reads), merged with what is there by merge-pair-in.lua: the earlier first
 * time, the larger count, the later expiry. Run once every node writes both (release A): pairs
 * scored since are dual-written, the migration brings the ones scored before.
 *
 * SCAN on one Redis, or on each primary of a cluster; reads a batch of pairs from the node that
 * holds them (one pipeline), writes each pair in (its own slot, so one script call each, sent
 * together). Idempotent (a second run changes nothing) and restartable: an interrupted run is
 * simply run again. Ids in the keys are already in their stored form (plain or keyed hashes:
 * src/store/pseudonyms.ts), so the pair in is named from them as they are.
 */
import { Cluster, type Redis, type Result } from 'ioredis';
import { makeKeys, SCRIPTS } from './keys.ts';
import type { RedisClient } from './redis-connections.ts';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    cpMergePairIn(key: string, value: string, expireAtMs: number): Result<number, Context>;
  }
}

export interface PairMigrationCounts {
  /** pair keys found by SCAN */
  scanned: number;
  /** pairs in written where there was none */
  created: number;
  /** pairs in that were there and took an earlier first time, a larger count or a later expiry */
  merged: number;
  /** pairs in already equal to (or ahead of) their pair: nothing written */
  unchanged: number;
  /** pairs that expired between SCAN and the read */
  gone: number;
  /** a pair or a pair in that is not '<integer>,<integer>', or a key that does not parse: left as it is */
  malformed: number;
}

export interface PairMigrationOptions {
  /** keys per SCAN COUNT and per batch of reads and writes (bounded: at most this many commands in flight) */
  readonly batch: number;
  /** after each batch, with the counts so far */
  readonly onBatch?: (counts: Readonly<PairMigrationCounts>) => void;
}

/** A key name as a SCAN MATCH pattern that matches only itself (Redis glob: `*`, `?`, `[`, `]`, `\`). */
export function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/** The pattern of today's pair keys under `prefix`. */
export function pairPattern(prefix: string): string {
  return `${globEscape(prefix)}{a:*}:pair:*`;
}

/** The payer and payee (stored ids) of a pair key, or null for a key that is not one. */
export function parsePairKey(prefix: string, key: string): { payer: string; payee: string } | null {
  if (!key.startsWith(prefix)) return null;
  const m = /^\{a:([^}]+)\}:pair:(.+)$/.exec(key.slice(prefix.length));
  return m === null ? null : { payer: m[1]!, payee: m[2]! };
}

const PAIR_VALUE = /^\d+,\d+$/;

export function definePairMigration(redis: RedisClient): void {
  if (typeof (redis as Partial<Redis>).cpMergePairIn !== 'function') redis.defineCommand('cpMergePairIn', SCRIPTS.mergePairIn);
}

/** The primaries to scan: the one Redis, or every master of the cluster. */
export function primaries(redis: RedisClient): Redis[] {
  return redis instanceof Cluster ? redis.nodes('master') : [redis];
}

export async function migratePairs(redis: RedisClient, prefix: string, opts: PairMigrationOptions): Promise<PairMigrationCounts> {
  if (!Number.isInteger(opts.batch) || opts.batch < 1) throw new Error(`batch must be a positive integer, got ${opts.batch}`);
  definePairMigration(redis);
  // ids are already stored ids: name the pair in from them without hashing again
  const keys = makeKeys(prefix);
  const counts: PairMigrationCounts = { scanned: 0, created: 0, merged: 0, unchanged: 0, gone: 0, malformed: 0 };
  const pattern = pairPattern(prefix);
  for (const node of primaries(redis)) {
    let cursor = '0';
    do {
      const [next, found] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', opts.batch);
      cursor = next;
      for (let i = 0; i < found.length; i += opts.batch) {
        await migrateBatch(redis, node, keys, prefix, found.slice(i, i + opts.batch), counts);
        opts.onBatch?.(counts);
      }
    } while (cursor !== '0');
  }
  return counts;
}

async function migrateBatch(
  redis: RedisClient,
  node: Redis,
  keys: ReturnType<typeof makeKeys>,
  prefix: string,
  batch: readonly string[],
  counts: PairMigrationCounts,
): Promise<void> {
  const pairs = batch.map((key) => ({ key, ids: parsePairKey(prefix, key) }));
  counts.scanned += pairs.length;
  const p = node.pipeline();
  for (const { key } of pairs) p.get(key).pexpiretime(key);
  const read = await p.exec();
  if (read === null) throw new Error('the read pipeline was aborted');
  const writes: Promise<number>[] = [];
  pairs.forEach(({ ids }, n) => {
    const [getErr, value] = read[2 * n]!;
    const [ttlErr, expireAt] = read[2 * n + 1]!;
    if (getErr !== null) throw getErr;
    if (ttlErr !== null) throw ttlErr;
    if (value === null) {
      counts.gone++;
      return;
    }
    if (ids === null || typeof value !== 'string' || !PAIR_VALUE.test(value)) {
      counts.malformed++;
      return;
    }
    // -2: expired since the GET; -1: no expiry (the script keeps none)
    if (expireAt === -2) {
      counts.gone++;
      return;
    }
    writes.push(redis.cpMergePairIn(keys.pairIn(ids.payee, ids.payer), value, Number(expireAt)));
  });
  for (const outcome of await Promise.all(writes)) {
    if (outcome === 1) counts.created++;
    else if (outcome === 2) counts.merged++;
    else if (outcome === 0) counts.unchanged++;
    else counts.malformed++;
  }
}

/** The summary line of a run. */
export function migrationSummary(c: Readonly<PairMigrationCounts>, nodes: number, ms: number): string {
  return (
    `redis:migrate: ${c.scanned} pair keys on ${nodes} ${nodes === 1 ? 'primary' : 'primaries'}: ` +
    `${c.created} pairin created, ${c.merged} merged, ${c.unchanged} already up to date, ` +
    `${c.gone} expired meanwhile, ${c.malformed} malformed (left as they are), in ${(ms / 1000).toFixed(1)} s`
  );
}

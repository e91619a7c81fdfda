import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import type { StoredDecision } from '../../src/scoring/decision.ts';
import type { Keys } from '../../src/store/keys.ts';
import { RuleHitCounter } from '../../src/rules/versions/rule-hit-counter.ts';
import { RuleVersionSync } from '../../src/rules/versions/rule-version-sync.ts';
import type { RuleVersions } from '../../src/rules/versions/rule-versions.ts';

/**
 * close() of the safety cap's counter and of the rule version sync waits for the work already
 * under way, and nothing starts after it: at shutdown the Redis and SQL connections are closed
 * right after, and a flush or poll must not reach them.
 */

/** A promise the test resolves when it wants. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

/** Lets every pending callback run (several event-loop turns). */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

const keys = {
  ruleHits: (m: number) => `t:{rules}:hits:${m}`,
  rulesPointer: () => 't:{rules}:active',
  rulesActiveFiles: () => 't:{rules}:active:files',
  rulesChannel: () => 't:{rules}:changed',
} as unknown as Keys;

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

describe('RuleHitCounter.close', () => {
  /** A Redis whose pipelines note their commands; the first exec waits for `held` when given. */
  function counterRedis(events: string[], held?: Promise<void>) {
    let execs = 0;
    const pipeline = () => {
      const cmds: string[] = [];
      const p = {
        hincrby: (..._a: unknown[]) => (cmds.push('hincrby'), p),
        expire: (..._a: unknown[]) => (cmds.push('expire'), p),
        hgetall: (..._a: unknown[]) => (cmds.push('hgetall'), p),
        exec: async () => {
          const kind = cmds[0] === 'hgetall' ? 'check' : 'flush';
          events.push(`${kind} start`);
          if (execs++ === 0 && held !== undefined) await held;
          events.push(`${kind} end`);
          return cmds.map((c) => [null, c === 'hgetall' ? {} : 1]);
        },
      };
      return p;
    };
    return { pipeline } as unknown as Redis;
  }

  function counter(redis: Redis, flushMs = 60_000): RuleHitCounter {
    const versions = { active: { ruleSet: { rules: [] } } } as unknown as RuleVersions;
    const config = { enabled: true, multiple: 10, minShare: 0.05, minSample: 500, windowMinutes: 5, flushMs };
    return new RuleHitCounter({ redis, keys, versions, config, clock: () => 1_800_000_000_000, log: quiet });
  }

  const decision = { hits: [{ ruleId: 'a' }], shadowHits: [] } as unknown as StoredDecision;

  it('waits for a tick in flight, and no tick runs after it', async () => {
    const events: string[] = [];
    const held = gate();
    const c = counter(counterRedis(events, held.promise));
    c.note(decision);
    const tick = c.tick();
    await settle();
    expect(events).toEqual(['flush start']);
    let closed = false;
    const closing = c.close().then(() => {
      closed = true;
      events.push('closed');
    });
    await settle();
    expect(closed).toBe(false); // the flush is still in flight
    held.open();
    await closing;
    await tick;
    // the tick ran to its end (flush, then check) before close resolved
    expect(events).toEqual(['flush start', 'flush end', 'check start', 'check end', 'closed']);
    c.note(decision);
    await c.tick();
    expect(events.at(-1)).toBe('closed');
  });

  it('stops its timer', async () => {
    const events: string[] = [];
    const c = counter(counterRedis(events), 10);
    c.note(decision);
    c.start();
    await c.close();
    await new Promise((r) => setTimeout(r, 50));
    expect(events).toEqual([]);
  });
});

describe('RuleVersionSync.close', () => {
  /** The sync over a fake Redis whose GET of the pointer waits for `held`, and versions that note refreshes. */
  async function sync(held: Promise<void>) {
    const events: string[] = [];
    const subscriber = Object.assign(new EventEmitter(), { subscribe: async () => 1 });
    const redis = {
      eval: async () => {
        events.push('announce');
        return 1;
      },
      get: async () => {
        events.push('get start');
        await held;
        events.push('get end');
        return '7:3'; // the served generation: the poll goes on to ask SQL
      },
    };
    const refreshed = gate();
    const versions = {
      active: { pointer: { versionId: 3, generation: 7, activatedAt: '' }, ruleSet: { files: [] }, version: { id: 3 } },
      refresh: async () => {
        events.push('refresh start');
        await refreshed.promise;
        events.push('refresh end');
      },
    };
    const s = new RuleVersionSync({
      redis: redis as unknown as Redis,
      subscriber: subscriber as unknown as Redis,
      keys,
      versions: versions as unknown as RuleVersions,
      pollMs: 60_000,
      log: quiet,
    });
    await s.start();
    events.length = 0; // the announcement at start
    return { s, events, subscriber, refreshed };
  }

  it('waits for a poll in flight, and none starts after it', async () => {
    const held = gate();
    const { s, events, subscriber, refreshed } = await sync(held.promise);
    refreshed.open();
    const poll = s.check();
    await settle();
    expect(events).toEqual(['get start']);
    let closed = false;
    const closing = s.close().then(() => {
      closed = true;
      events.push('closed');
    });
    await settle();
    expect(closed).toBe(false);
    held.open();
    await closing;
    await poll;
    expect(events).toEqual(['get start', 'get end', 'refresh start', 'refresh end', 'closed']);
    // after close: no poll, no reload on an announcement, no announcement of our own
    await s.check();
    subscriber.emit('message', 't:{rules}:changed', '8:4');
    subscriber.emit('ready');
    await s.announce({ versionId: 4, generation: 8, activatedAt: '', activatedBy: 'test' }, []);
    await settle();
    expect(events.at(-1)).toBe('closed');
  });

  it('waits for a reload an announcement started', async () => {
    const held = gate();
    held.open();
    const { s, events, subscriber, refreshed } = await sync(held.promise);
    subscriber.emit('message', 't:{rules}:changed', '8:4');
    await settle();
    expect(events).toEqual(['refresh start']);
    const closing = s.close().then(() => events.push('closed'));
    await settle();
    expect(events).toEqual(['refresh start']);
    refreshed.open();
    await closing;
    expect(events).toEqual(['refresh start', 'refresh end', 'closed']);
  });
});

import type { ConnectionOptions } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { redactUrl } from './sql/sql-store.ts';

/**
 * The one place that decides how calmpay talks to Redis (issue 18): every connection is
 * opened here, for a named role, with the role's retry and deadline policy. Each connection
 * is named `calmpay:<role>` (CLIENT LIST shows who holds what).
 *
 * Auto-pipelining is off everywhere: measured with npm run bench, it batches the score
 * scripts of concurrent requests into lock-step rounds (Redis busy while Node waits, then
 * the reverse) and lowered throughput; decision writes are batched by FeatureStore instead.
 */
export type RedisRole = 'score' | 'subscriber' | 'sink' | 'lifecycle' | 'relay' | 'tool';

interface RolePolicy {
  /** why the role has its policy */
  readonly why: string;
  /** null: no retries, commands wait until the connection is back */
  readonly maxRetriesPerRequest: number | null;
  /** commands sent while the connection is away wait for it (true) or fail at once (false) */
  readonly offlineQueue: boolean;
  /** every command answers or fails within STORE_DEADLINE_MS */
  readonly deadline: boolean;
}

export const REDIS_ROLES: Readonly<Record<RedisRole, RolePolicy>> = {
  score: {
    why:
      'scores and API routes: a score fails fast (503) or takes the degraded path rather than queue behind a dead or ' +
      'frozen connection (issue 19: SIGSTOP or a stalled network keeps the socket open)',
    maxRetriesPerRequest: 1,
    offlineQueue: false,
    deadline: true,
  },
  subscriber: {
    why: 'the rule version channel: a subscribed connection can do nothing else; it waits through outages (the poll covers them)',
    maxRetriesPerRequest: null,
    offlineQueue: true,
    deadline: false,
  },
  sink: {
    why: 'the decision sink: XREADGROUP BLOCK holds its connection, so it never shares the scoring one and has no deadline',
    maxRetriesPerRequest: 1,
    offlineQueue: false,
    deadline: false,
  },
  lifecycle: {
    why: 'the lifecycle worker: default retries and offline queue, so a Redis restart delays its work rather than failing it',
    maxRetriesPerRequest: 20,
    offlineQueue: true,
    deadline: false,
  },
  relay: {
    why: 'the outbox relay: blocking reads that wait through outages',
    maxRetriesPerRequest: null,
    offlineQueue: true,
    deadline: false,
  },
  tool: {
    why: 'command-line tools (replay, train, eval:segments): ioredis defaults, a slow answer is better than none',
    maxRetriesPerRequest: 20,
    offlineQueue: true,
    deadline: false,
  },
};

export class RedisConnectError extends Error {
  override name = 'RedisConnectError';
}

export class RedisConnections {
  /** where Redis is, for messages and /readyz (public): never its password */
  readonly location: string;
  private readonly url: string;
  private readonly deadlineMs: number;

  /** @param deadlineMs STORE_DEADLINE_MS, for the roles with a deadline */
  constructor(url: string, deadlineMs: number) {
    this.url = url;
    this.deadlineMs = deadlineMs;
    this.location = redactUrl(url, 'redis');
  }

  /** A connection for `role`, not connected yet (it connects at its first command or connect()). */
  create(role: RedisRole): Redis {
    return new Redis(this.url, redisOptions(role, this.deadlineMs));
  }

  /** A connected connection for `role`; RedisConnectError naming the location when Redis does not answer. */
  async open(role: RedisRole): Promise<Redis> {
    const redis = this.create(role);
    await redis.connect().catch((err: Error) => {
      redis.disconnect();
      throw new RedisConnectError(`Cannot connect to Redis at ${this.location}: ${err.message}`);
    });
    return redis;
  }

  /** BullMQ queues and workers connect by themselves (BullMQ sets maxRetriesPerRequest: null for its workers). */
  bullmq(): ConnectionOptions {
    return { url: this.url, connectionName: 'calmpay:bullmq' } as ConnectionOptions;
  }
}

export function redisOptions(role: RedisRole, deadlineMs: number): RedisOptions {
  const p = REDIS_ROLES[role];
  return {
    connectionName: `calmpay:${role}`,
    enableAutoPipelining: false,
    maxRetriesPerRequest: p.maxRetriesPerRequest,
    enableOfflineQueue: p.offlineQueue,
    ...(p.deadline ? { commandTimeout: deadlineMs } : {}),
    lazyConnect: true,
  };
}

/** Closes a connection: QUIT when it is up (pending replies arrive first), else at once. */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status !== 'ready') {
    redis.disconnect();
    return;
  }
  await redis.quit().catch(() => redis.disconnect());
}

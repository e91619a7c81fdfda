import type { ConnectionOptions } from 'bullmq';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { clusterLocation, type RedisClusterTarget } from './redis-target.ts';
import { redactUrl } from './sql/sql-store.ts';

/**
 * The one place that decides how calmpay talks to Redis (issue 18): every connection is
 * opened here, for a named role, with the role's retry and deadline policy. Each connection
 * is named `calmpay:<role>` (CLIENT LIST shows who holds what).
 *
 * Auto-pipelining is off on one Redis: measured with npm run bench, it batches the score
 * scripts of concurrent requests into lock-step rounds (Redis busy while Node waits, then
 * the reverse) and lowered throughput; decision writes are batched by FeatureStore instead.
 * On a cluster the score role has it on: the split score's steps and the record's writes are
 * sent one command each (a Cluster pipeline must stay on one node), and auto-pipelining
 * batches them per node (issue 15, docs/cluster-keys.md; not measured yet).
 *
 * Cluster mode (REDIS_CLUSTER_NODES, issue 15): every role gets an ioredis `Cluster` with the
 * same policy (client()); create() and open() stay single-Redis only, because the engine does
 * not run on a cluster yet (src/store/key-slots.ts clusterRefusal, docs/cluster-keys.md).
 */
export type RedisRole = 'score' | 'subscriber' | 'sink' | 'lifecycle' | 'relay' | 'tool' | 'bullmq';

/** One Redis (REDIS_URL) or a Redis Cluster (REDIS_CLUSTER_NODES). */
export type RedisClient = Redis | Cluster;

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
  bullmq: {
    why: 'BullMQ queues and workers: BullMQ requires maxRetriesPerRequest null for its blocking workers; jobs wait through outages',
    maxRetriesPerRequest: null,
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
  /** the cluster's seed nodes in cluster mode, else null */
  readonly cluster: RedisClusterTarget | null;
  private readonly url: string;
  private readonly deadlineMs: number;

  /**
   * @param target REDIS_URL of one Redis, or the cluster of REDIS_CLUSTER_NODES
   * @param deadlineMs STORE_DEADLINE_MS, for the roles with a deadline
   */
  constructor(target: string | RedisClusterTarget, deadlineMs: number) {
    this.deadlineMs = deadlineMs;
    if (typeof target === 'string') {
      this.url = target;
      this.cluster = null;
      this.location = redactUrl(target, 'redis');
    } else {
      this.url = '';
      this.cluster = target;
      this.location = clusterLocation(target);
    }
  }

  /**
   * A connection to the one Redis for `role`, not connected yet (it connects at its first
   * command or connect()). In cluster mode an Error: what would use it does not run on a
   * cluster yet (client() gives a cluster connection).
   */
  create(role: RedisRole): Redis {
    if (this.cluster !== null) {
      throw new Error(`a single-Redis connection for ${role} was asked for in cluster mode (${this.location}); use client()`);
    }
    return new Redis(this.url, redisOptions(role, this.deadlineMs));
  }

  /** A connection for `role` in either mode (ioredis Cluster in cluster mode), not connected yet. */
  client(role: RedisRole): RedisClient {
    if (this.cluster === null) return this.create(role);
    return new Cluster(
      this.cluster.nodes.map((n) => ({ host: n.host, port: n.port })),
      clusterOptions(role, this.deadlineMs, this.cluster),
    );
  }

  /** A connected connection for `role`; RedisConnectError naming the location when Redis does not answer. */
  async open(role: RedisRole): Promise<Redis> {
    return connectOrExplain(this.create(role), this.location);
  }

  /** A connected client() for `role` (either mode); RedisConnectError naming the location when it does not answer. */
  async openClient(role: RedisRole): Promise<RedisClient> {
    return connectOrExplain(this.client(role), this.location);
  }

  /**
   * BullMQ queues and workers. One Redis: options (BullMQ connects by itself, and sets
   * maxRetriesPerRequest: null for its workers). Cluster: a Cluster connection of the bullmq
   * role, which the caller closes (BullMQ does not close a connection it was given); its queues
   * need a hash-tagged prefix (keys.ts makeKeys `cluster`, BullMQ's Redis Cluster pattern).
   */
  bullmq(): ConnectionOptions {
    if (this.cluster !== null) return this.client('bullmq');
    return { url: this.url, connectionName: 'calmpay:bullmq' } as ConnectionOptions;
  }
}

async function connectOrExplain<T extends RedisClient>(redis: T, location: string): Promise<T> {
  await redis.connect().catch((err: Error) => {
    redis.disconnect();
    throw new RedisConnectError(`Cannot connect to Redis at ${location}: ${err.message}`);
  });
  return redis;
}

/**
 * A role's policy on a cluster. Per node (redisOptions): the role's retries and deadline, its
 * name, the cluster's credentials. For the whole cluster: the role's offline queue; the ready
 * event only once CLUSTER INFO says the cluster is ok (enableReadyCheck); reads and writes
 * from primaries only (scaleReads 'master': a score reads what the previous one wrote, a
 * replica may lag); no keyPrefix (keys.ts puts the prefix in each key, and BullMQ refuses a
 * connection with one); no natMap (nodes announce addresses clients reach).
 */
export function clusterOptions(role: RedisRole, deadlineMs: number, target: RedisClusterTarget): ClusterOptions {
  const { enableOfflineQueue, lazyConnect, ...perNode } = redisOptions(role, deadlineMs);
  return {
    enableReadyCheck: true,
    scaleReads: 'master',
    enableOfflineQueue,
    enableAutoPipelining: role === 'score',
    lazyConnect,
    redisOptions: {
      ...perNode,
      ...(target.username !== undefined ? { username: target.username } : {}),
      ...(target.password !== undefined ? { password: target.password } : {}),
      ...(target.tls ? { tls: {} } : {}),
    },
  };
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
export async function closeRedis(redis: RedisClient): Promise<void> {
  if (redis.status !== 'ready') {
    redis.disconnect();
    return;
  }
  await redis.quit().catch(() => redis.disconnect());
}

/**
 * A Redis Cluster of a test file's own (src/store/local-cluster.ts): 3 primaries on free ports
 * of 127.0.0.1, optionally one replica each. Start it in beforeAll and stop it in afterAll
 * (afterAll runs when tests fail too); the nodes and their directory also go when the test
 * process exits or dies (local-redis.ts's lifetime contract).
 */
import { Redis } from 'ioredis';
import { infoFields, startLocalCluster, type LocalCluster } from '../../src/store/local-cluster.ts';

export type { LocalCluster };

export function startTestCluster(opts: { replicasPerPrimary?: 0 | 1 } = {}): Promise<LocalCluster> {
  return startLocalCluster({
    primaries: 3,
    replicasPerPrimary: opts.replicasPerPrimary ?? 0,
    log: process.env.DEBUG ? (line) => process.stderr.write(`[test cluster] ${line}\n`) : undefined,
  });
}

/** CLUSTER INFO of one node, as fields. */
export async function clusterInfo(host: string, port: number): Promise<Map<string, string>> {
  const node = new Redis({ host, port, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  try {
    return infoFields((await node.call('CLUSTER', 'INFO')) as string);
  } finally {
    node.disconnect();
  }
}

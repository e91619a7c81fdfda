/**
 * REDIS_CLUSTER_NODES (issue 15): the seed nodes of a Redis Cluster, `host:port,host:port`
 * (any of its nodes; ioredis learns the rest from CLUSTER SLOTS). An entry may be a URL
 * (`redis://user:password@host:port`, `rediss://` for TLS) to carry credentials; the first
 * entry's credentials and scheme apply to every node. Unset: one Redis at REDIS_URL.
 */
import { ConfigError } from '../config-env.ts';

export interface ClusterNodeAddress {
  readonly host: string;
  readonly port: number;
}

export interface RedisClusterTarget {
  readonly nodes: readonly ClusterNodeAddress[];
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly tls: boolean;
}

export const CLUSTER_NODES_VARIABLE = 'REDIS_CLUSTER_NODES';

/** null when unset or empty; ConfigError naming the variable and the bad entry otherwise. */
export function parseClusterNodes(raw: string | undefined): RedisClusterTarget | null {
  if (raw === undefined || raw.trim() === '') return null;
  const entries = raw.split(',').map((e) => e.trim());
  const urls = entries.map((entry) => {
    const bad = (why: string): ConfigError =>
      new ConfigError(`${CLUSTER_NODES_VARIABLE} must be host:port[,host:port...] (or redis:// URLs); "${entry}" ${why}`);
    if (entry === '') throw bad('is empty');
    let url: URL;
    try {
      url = new URL(entry.includes('://') ? entry : `redis://${entry}`);
    } catch {
      throw bad('is not host:port');
    }
    if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw bad('has a scheme other than redis:// or rediss://');
    if (url.hostname === '') throw bad('has no host');
    const port = Number(url.port);
    if (url.port === '' || !Number.isInteger(port) || port < 1 || port > 65_535) throw bad('has no port between 1 and 65535');
    if ((url.pathname !== '' && url.pathname !== '/') || url.search !== '') throw bad('has a database or options (a cluster has database 0 only)');
    return url;
  });
  const first = urls[0]!;
  return Object.freeze({
    nodes: Object.freeze(urls.map((u) => Object.freeze({ host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port) }))),
    username: first.username === '' ? undefined : decodeURIComponent(first.username),
    password: first.password === '' ? undefined : decodeURIComponent(first.password),
    tls: first.protocol === 'rediss:',
  });
}

/** host:port list, never a password (messages, /readyz). */
export function clusterLocation(target: RedisClusterTarget): string {
  return `cluster ${target.nodes.map((n) => `${n.host}:${n.port}`).join(',')}`;
}

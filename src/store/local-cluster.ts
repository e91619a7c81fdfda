/**
 * A private Redis Cluster on 127.0.0.1 (issue 15): for the cluster tests
 * (test/helpers/redis-cluster.ts) and `npm run redis:cluster`. Never for data anyone keeps:
 * no snapshots, no append-only file, everything under one directory that stop() removes.
 *
 * Each node is a redis-server started by src/store/local-redis.ts (so it inherits that file's
 * lifetime contract: it ends with this process, even a killed one, through PDEATHSIG) with
 * `--cluster-enabled yes` and a cluster config file of its own. `redis-cli --cluster create`
 * then assigns the 16384 slots to the primaries (and, with replicas, one replica to each), and
 * start resolves only once every node's CLUSTER INFO says `cluster_state:ok` with all slots
 * served and every node known, and every replica's link to its primary is up.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { findExecutable, startLocalRedis, type LocalRedis } from './local-redis.ts';

export const CLUSTER_SLOTS = 16_384;
const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 30_000;
const CREATE_TIMEOUT_MS = 60_000;
const POLL_MS = 100;

export interface LocalClusterNode {
  readonly host: string;
  readonly port: number;
  readonly pid: number;
  /** as `redis-cli --cluster create` assigned it (a failover changes it later) */
  readonly role: 'primary' | 'replica';
  /** this node's cluster id (CLUSTER MYID) */
  readonly id: string;
  /** Stops this node alone (a failover test); safe to call more than once. */
  stop(): Promise<void>;
}

export interface LocalCluster {
  readonly nodes: readonly LocalClusterNode[];
  /** `host:port,host:port,...` of every node: the value for REDIS_CLUSTER_NODES */
  readonly nodeList: string;
  /** where the nodes keep their cluster config files and logs (removed by stop()) */
  readonly dir: string;
  /** Stops every node and removes `dir`. Safe to call more than once. */
  stop(): Promise<void>;
}

export interface StartLocalClusterOptions {
  /** default 3 (the fewest Redis Cluster accepts) */
  primaries?: number;
  /** 0 (default) or 1: one replica per primary, for failover tests */
  replicasPerPrimary?: 0 | 1;
  /** cluster-node-timeout: how long a primary may be unreachable before a failover; default 2000 */
  nodeTimeoutMs?: number;
  /** progress lines; default: none */
  log?: (line: string) => void;
}

export const REDIS_CLI_MISSING =
  'redis-cli was not found on PATH; it builds the cluster (`redis-cli --cluster create`). ' +
  'Install it with `apt-get install -y redis-tools` (Debian/Ubuntu) or `brew install redis` (macOS).';

export async function startLocalCluster(opts: StartLocalClusterOptions = {}): Promise<LocalCluster> {
  const primaries = opts.primaries ?? 3;
  const replicas = opts.replicasPerPrimary ?? 0;
  if (!Number.isInteger(primaries) || primaries < 3) throw new Error(`a Redis Cluster needs at least 3 primaries, got ${primaries}`);
  const log = opts.log ?? (() => {});
  const cli = findExecutable('redis-cli');
  if (cli === null) throw new Error(REDIS_CLI_MISSING);

  const dir = mkdtempSync(join(tmpdir(), 'calmpay-cluster-'));
  // the nodes end with this process (local-redis.ts); their directory goes with them
  const removeDir = (): void => rmSync(dir, { recursive: true, force: true });
  process.on('exit', removeDir);
  const servers: LocalRedis[] = [];
  const stopAll = async (): Promise<void> => {
    await Promise.all(servers.map((s) => s.stop()));
    removeDir();
    process.off('exit', removeDir);
  };
  try {
    const count = primaries * (1 + replicas);
    const nodeArgs = ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', String(opts.nodeTimeoutMs ?? 2_000)];
    const started = await Promise.allSettled(
      Array.from({ length: count }, (_, i) => {
        const dataDir = join(dir, `node-${i}`);
        mkdirSync(dataDir);
        return startLocalRedis({ dataDir, appendOnly: false, extraArgs: nodeArgs, log: (line) => log(`[node ${i}] ${line}`) });
      }),
    );
    for (const s of started) if (s.status === 'fulfilled') servers.push(s.value);
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;

    const addresses = servers.map((s) => `${HOST}:${s.port}`);
    log(`redis-cli --cluster create ${addresses.join(' ')} --cluster-replicas ${replicas}`);
    await run(cli, ['--cluster', 'create', ...addresses, '--cluster-replicas', String(replicas), '--cluster-yes']);
    const ids = await waitUntilServing(servers.map((s) => s.port), primaries);
    const nodes = servers.map((s): LocalClusterNode => {
      const id = ids.get(s.port)!;
      return { host: HOST, port: s.port, pid: s.pid, role: id.role, id: id.id, stop: s.stop };
    });
    log(`cluster ready: ${primaries} primaries, ${primaries * replicas} replicas, ${CLUSTER_SLOTS} slots`);
    let stopping: Promise<void> | null = null;
    return { nodes, nodeList: addresses.join(','), dir, stop: () => (stopping ??= stopAll()) };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

function run(command: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: CREATE_TIMEOUT_MS, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) {
        const tail = `${stdout}\n${stderr}`.trim().split('\n').slice(-15).join('\n');
        reject(new Error(`${command} ${args.join(' ')} failed: ${err.message}\n${tail}`));
      } else resolve(stdout);
    });
  });
}

/** `field:value` lines of an INFO-style reply. */
export function infoFields(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const at = line.indexOf(':');
    if (at > 0) out.set(line.slice(0, at), line.slice(at + 1).trim());
  }
  return out;
}

/**
 * Waits until every node serves: cluster_state ok, all slots assigned and ok, every node known,
 * each replica's link up. Answers each node's id and role (from CLUSTER NODES).
 */
async function waitUntilServing(ports: readonly number[], primaries: number): Promise<Map<number, { id: string; role: 'primary' | 'replica' }>> {
  const clients = ports.map((port) => new Redis({ host: HOST, port, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null }));
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let why = 'not asked yet';
  try {
    for (;;) {
      why = await notServing(clients, ports.length, primaries);
      if (why === '') break;
      if (Date.now() > deadline) throw new Error(`the local cluster did not become ready within ${READY_TIMEOUT_MS} ms: ${why}`);
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    const lines = ((await clients[0]!.call('CLUSTER', 'NODES')) as string).trim().split('\n');
    const out = new Map<number, { id: string; role: 'primary' | 'replica' }>();
    for (const line of lines) {
      const [id, address, flags] = line.split(' ');
      const port = Number(address!.split('@')[0]!.split(':').at(-1));
      out.set(port, { id: id!, role: flags!.split(',').includes('master') ? 'primary' : 'replica' });
    }
    return out;
  } finally {
    for (const c of clients) c.disconnect();
  }
}

/** '' when every node serves, else what the first one that does not is missing. */
async function notServing(clients: readonly Redis[], nodes: number, primaries: number): Promise<string> {
  for (const [i, c] of clients.entries()) {
    try {
      const info = infoFields((await c.call('CLUSTER', 'INFO')) as string);
      const want: Record<string, string> = {
        cluster_state: 'ok',
        cluster_slots_assigned: String(CLUSTER_SLOTS),
        cluster_slots_ok: String(CLUSTER_SLOTS),
        cluster_known_nodes: String(nodes),
        cluster_size: String(primaries),
      };
      for (const [field, value] of Object.entries(want)) {
        if (info.get(field) !== value) return `node ${i}: ${field} is ${info.get(field) ?? 'absent'}, not ${value}`;
      }
      const replication = infoFields(await c.info('replication'));
      if (replication.get('role') === 'slave' && replication.get('master_link_status') !== 'up') {
        return `node ${i}: replica link to its primary is ${replication.get('master_link_status') ?? 'absent'}`;
      }
    } catch (err) {
      return `node ${i}: ${(err as Error).message}`;
    }
  }
  return '';
}

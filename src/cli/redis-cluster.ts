import { startLocalCluster } from '../store/local-cluster.ts';

/**
 * `npm run redis:cluster [-- --replicas 1] [-- --primaries N]`: a throwaway local Redis Cluster
 * (src/store/local-cluster.ts) on free ports of 127.0.0.1, for trying cluster mode by hand.
 * Prints the REDIS_CLUSTER_NODES value to use and runs until Ctrl-C (SIGINT) or SIGTERM, then
 * stops every node and removes its directory. Nothing it stores survives it.
 */

function usage(why: string): never {
  process.stderr.write(`${why}\nusage: npm run redis:cluster [-- --primaries N (default 3)] [--replicas 0|1 (default 0)]\n`);
  process.exit(2);
}

function intFlag(args: readonly string[], name: string, def: number): number {
  const i = args.indexOf(name);
  if (i < 0) return def;
  const n = Number(args[i + 1]);
  if (!Number.isInteger(n)) usage(`${name} needs an integer, got "${args[i + 1] ?? ''}"`);
  return n;
}

const args = process.argv.slice(2);
const unknown = args.filter((a, i) => a.startsWith('--') ? a !== '--primaries' && a !== '--replicas' : !['--primaries', '--replicas'].includes(args[i - 1] ?? ''));
if (unknown.length > 0) usage(`unknown argument(s): ${unknown.join(' ')}`);
const primaries = intFlag(args, '--primaries', 3);
const replicas = intFlag(args, '--replicas', 0);
if (primaries < 3) usage('--primaries must be at least 3');
if (replicas !== 0 && replicas !== 1) usage('--replicas must be 0 or 1');

const cluster = await startLocalCluster({ primaries, replicasPerPrimary: replicas, log: (line) => process.stderr.write(`[cluster] ${line}\n`) }).catch(
  (err: Error) => {
    process.stderr.write(`npm run redis:cluster: ${err.message}\n`);
    process.exit(1);
  },
);
for (const n of cluster.nodes) process.stdout.write(`${n.role.padEnd(7)} ${n.host}:${n.port} pid ${n.pid}\n`);
process.stdout.write(`REDIS_CLUSTER_NODES=${cluster.nodeList}\n`);
process.stdout.write('Ctrl-C stops the cluster and removes its data.\n');
let stopping = false;
const stop = (signal: NodeJS.Signals): void => {
  if (stopping) return;
  stopping = true;
  process.stderr.write(`[cluster] ${signal}: stopping ${cluster.nodes.length} nodes\n`);
  void cluster.stop().then(
    () => process.exit(0),
    (err: Error) => {
      process.stderr.write(`[cluster] stopping failed: ${err.message}\n`);
      process.exit(1);
    },
  );
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

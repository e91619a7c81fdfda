/**
 * `npm run bench`: autocannon against POST /v1/transfers/score with varied transfers, beside
 * bare fastify parsing the same JSON, in the same run, same machine, same client settings.
 * Prints throughput and p50/p99 for both and their ratio; writes bench/results/score-load.json.
 * A third target, the design floor (bench/floor-server.ts: the engine's validation and one
 * Redis call of the score script's shape, nothing else), shows the ceiling that one Redis
 * round trip per score puts on any engine of this design on this machine (BENCH_FLOOR=false
 * leaves it out).
 *
 * Traffic goes only to 127.0.0.1, and each phase is bounded in time (BENCH_SECONDS, default 15).
 * Env: BENCH_SECONDS, BENCH_CONNECTIONS (64), BENCH_PAYERS (100000), BENCH_PAYEES (20000), BENCH_MIX
 * (retail | hot, see bench/transfer-gen.ts), BENCH_AUTH=true (API keys on: the engine checks a key on every request),
 * REDIS_URL (else a local redis-server is started for the run, append-only like npm start).
 */
import autocannon from 'autocannon';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLocalRedis } from '../src/store/local-redis.ts';
import { benchAuth, freePort, scoreRequests, startScript, stopChild, waitReady } from './processes.ts';
import { mixFromEnv, transferGenerator } from './transfer-gen.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const seconds = Number(process.env.BENCH_SECONDS ?? 15);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 64);
const payers = Number(process.env.BENCH_PAYERS ?? 100_000);
const payees = Number(process.env.BENCH_PAYEES ?? 20_000);
const mix = mixFromEnv();
const auth = benchAuth();
const withFloor = process.env.BENCH_FLOOR !== 'false';

interface Phase {
  readonly name: string;
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly requests: number;
  readonly non2xx: number;
  readonly errors: number;
}

async function load(name: string, port: number, gen: () => Record<string, unknown>, duration: number): Promise<Phase> {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections,
    duration,
    requests: scoreRequests(gen, auth.headers),
  });
  return {
    name,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

async function main(): Promise<void> {
  const runId = `b${Date.now().toString(36)}`;
  let redisUrl = process.env.REDIS_URL;
  const local = redisUrl
    ? null
    : await startLocalRedis({ dataDir: mkdtempSync(path.join(os.tmpdir(), 'calmpay-bench-redis-')), appendOnly: true });
  redisUrl ??= local!.url;

  const barePort = await freePort();
  const floorPort = await freePort();
  const enginePort = await freePort();
  const bare = startScript('bench/bare-server.ts', { PORT: String(barePort) });
  const floor = withFloor ? startScript('bench/floor-server.ts', { PORT: String(floorPort), REDIS_URL: redisUrl, REDIS_KEY_PREFIX: `${runId}f:` }) : null;
  const engine = startScript('src/main.ts', {
    ...auth.engineEnv,
    PORT: String(enginePort),
    REDIS_URL: redisUrl,
    // a fresh SQL store (PGlite) for the run, never the user's ./data
    DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'calmpay-bench-data-')),
    REDIS_KEY_PREFIX: `${runId}:`,
    LOG_LEVEL: 'warn',
    WATCH_RULES: 'false',
  });
  const phases: Phase[] = [];
  try {
    await waitReady(`http://127.0.0.1:${barePort}/healthz`, bare);
    if (floor) await waitReady(`http://127.0.0.1:${floorPort}/healthz`, floor);
    await waitReady(`http://127.0.0.1:${enginePort}/readyz`, engine);
    const gen = transferGenerator({ seed: 1, payers, payees, runId, mix });
    // warm up every target (JIT, connection pools, Redis script cache), then measure
    await load('warm-up bare', barePort, gen, 3);
    if (floor) await load('warm-up floor', floorPort, gen, 3);
    await load('warm-up scoring', enginePort, gen, 3);
    phases.push(await load('bare fastify', barePort, gen, seconds));
    if (floor) phases.push(await load('design floor', floorPort, gen, seconds));
    phases.push(await load('calmpay score', enginePort, gen, seconds));
  } finally {
    await stopChild(bare);
    if (floor) await stopChild(floor);
    await stopChild(engine);
    await local?.stop();
  }

  const b = phases[0]!;
  const s = phases[phases.length - 1]!;
  const f = floor ? phases[1]! : null;
  const ratio = s.rps / b.rps;
  console.log(`\nPOST /v1/transfers/score, ${connections} connections, ${seconds} s each, ${os.cpus().length} cores, mix ${mix}, auth ${auth.headers.authorization ? 'on' : 'off'}`);
  console.log('target            req/s     p50 ms   p99 ms   requests   non-2xx  errors');
  for (const p of phases) {
    console.log(
      `${p.name.padEnd(16)} ${p.rps.toFixed(0).padStart(7)} ${p.p50.toFixed(1).padStart(9)} ${p.p99.toFixed(1).padStart(8)} ${String(p.requests).padStart(10)} ${String(p.non2xx).padStart(9)} ${String(p.errors).padStart(7)}`,
    );
  }
  console.log(`throughput ratio scoring/bare: ${ratio.toFixed(2)} (target >= 0.60); scoring p99 ${s.p99.toFixed(1)} ms (target <= 15)`);
  if (f) console.log(`design floor/bare: ${(f.rps / b.rps).toFixed(2)} (the ceiling of one Redis round trip per score); scoring/floor: ${(s.rps / f.rps).toFixed(2)}`);
  mkdirSync(path.join(root, 'bench/results'), { recursive: true });
  writeFileSync(
    path.join(root, 'bench/results/score-load.json'),
    JSON.stringify({ at: new Date().toISOString(), connections, seconds, cores: os.cpus().length, mix, auth: auth.headers.authorization !== undefined, phases, ratio, floorRatio: f ? f.rps / b.rps : null }, null, 2) + '\n',
  );
  if (f && (f.non2xx > 0 || f.errors > 0)) {
    console.error(`the design floor answered ${f.non2xx} non-2xx and ${f.errors} errors: its figure is not valid`);
    process.exitCode = 1;
  }
  if (s.non2xx > 0 || s.errors > 0) {
    console.error(`scoring answered ${s.non2xx} non-2xx and ${s.errors} errors: the figures above are not valid`);
    process.exitCode = 1;
  }
}

await main();

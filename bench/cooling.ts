/**
 * `npm run bench:cooling`: the cooling-off queue under load (issue 4). Against a redis-server
 * of its own (append-only, like `npm start`), with the worker as a separate process
 * (`npm run worker`) delivering webhooks to a receiver in this process:
 *
 * 1. registration cost: the decision write of the scoring path with and without the lifecycle
 *    registration of a warned transfer (Redis CPU per decision; Node time of registrationFor);
 * 2. memory: Redis memory per pending hold (10,000 holds of an hour, outbox relayed);
 * 3. sustained load: BENCH_RATE new holds per second for BENCH_SECONDS, each held
 *    BENCH_HOLD_SECONDS: how late the releases are (p50/p99/max of release time minus the
 *    hold's end, from each transfer's audit trail), every hold released exactly once, and the
 *    webhook deliveries (each release seen once after deduplication by event id).
 *
 * A hold here is what the API does for it: the registration the score writes (same code,
 * registrationFor), then LifecycleService.confirm (its scripts and the BullMQ timer). HTTP
 * parsing is left out: it is measured by `npm run bench`.
 *
 * Env: BENCH_SECONDS (60), BENCH_RATE (1000), BENCH_HOLD_SECONDS (5), BENCH_MEMORY_HOLDS
 * (10000), BENCH_WEBHOOKS (1; 0: no webhook deliveries), BENCH_WORKER_PROFILE (a directory: the
 * worker process writes a V8 CPU profile there). Writes bench/results/cooling.json.
 */
import type { ChildProcess } from 'node:child_process';
import { startScript } from './processes.ts';
import { createServer } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { loadConfig, type Config } from '../src/config.ts';
import { featureStoreOptions, lifecycleSettings, registrationTimes } from '../src/config-wiring.ts';
import { segmentPolicy } from '../src/scoring/scoring-config.ts';
import type { ScoreChoices } from '../src/scoring/score-choices.ts';
import { HoldTimers } from '../src/cooling/hold-timers.ts';
import { RedisConnections } from '../src/store/redis-connections.ts';
import { LifecycleService } from '../src/cooling/lifecycle-service.ts';
import { defineLifecycleCommands, LifecycleStore } from '../src/cooling/lifecycle-store.ts';
import { registrationFor, type RegisteredDecision } from '../src/cooling/registration.ts';
import { CATALOGUE_VERSION, idx, type FeatureValue } from '../src/features/catalogue.ts';
import type { TransferEvent } from '../src/features/transfer-event.ts';
import { loadRuleDir } from '../src/rules/language/index.ts';
import { FeatureStore } from '../src/features/feature-store.ts';
import { makeKeys, type Keys } from '../src/store/keys.ts';
import { startLocalRedis } from '../src/store/local-redis.ts';
import { featureVectorGenerator } from './feature-vectors.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const RATE = Number(process.env.BENCH_RATE ?? 1_000);
const HOLD_SECONDS = Number(process.env.BENCH_HOLD_SECONDS ?? 5);
const MEMORY_HOLDS = Number(process.env.BENCH_MEMORY_HOLDS ?? 10_000);
const WEBHOOKS = process.env.BENCH_WEBHOOKS !== '0';
const REGISTRATION_SAMPLE = 20_000;
const SECRET = 'bench-webhook-secret-0123';
const PREFIX = 'bench:';
const TICK_MS = 10;
const MAX_IN_FLIGHT = 2_000;

const quiet = { info: () => {}, warn: () => {}, error: (o: object, m: string) => console.error(m, o) };

function pct(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function info(redis: Redis, section: string, field: string): Promise<number> {
  const text = await redis.info(section);
  const m = new RegExp(`^${field}:([0-9.]+)`, 'm').exec(text);
  if (!m) throw new Error(`INFO ${section} has no ${field}`);
  return Number(m[1]);
}

const redisCpu = async (redis: Redis): Promise<number> => (await info(redis, 'cpu', 'used_cpu_user')) + (await info(redis, 'cpu', 'used_cpu_sys'));

/** A cool_off decision of an elderly payer with a realistic feature vector, as the score makes it. */
function holdMaker(config: Config) {
  const vectors = featureVectorGenerator(7);
  const choices = { language: config.i18n.defaultLanguage, policy: segmentPolicy(config.scoring, 'elderly') };
  const times = registrationTimes(config);
  let n = 0;
  return (prefix: string): { id: string; args: readonly string[]; decision: RegisteredDecision; decisionJson: string; event: TransferEvent; v: FeatureValue[]; features: string; choices: ScoreChoices } => {
    const id = `${prefix}-${n++}`;
    const v = vectors();
    v[idx('payer.age_band')] = 'elderly';
    const now = new Date().toISOString();
    const decision: RegisteredDecision = {
      action: 'cool_off',
      riskScore: 70,
      modelScore: null,
      scamType: 'impersonation',
      segment: 'elderly',
      rulesVersion: 'bench',
      decidedAt: now,
    };
    const event: TransferEvent = {
      transferId: id,
      occurredAt: now,
      amount: 6_000 + (n % 5_000),
      currency: 'CNY',
      payer: { accountId: `p-${n % 50_000}` },
      payee: { accountId: `q-${n % 10_000}` },
    } as TransferEvent;
    const features = JSON.stringify(v);
    const reg = registrationFor(decision, event, v, features, choices, times);
    if (reg === null) throw new Error('a cool_off decision must register');
    // what the decision write stores besides the lifecycle (a compact decision, as ScoreService writes it)
    const decisionJson = JSON.stringify({ transferId: id, ...decision, ruleScore: 70, hits: [{ ruleId: 'elderly-new-payee-large', score: 40, action: 'cool_off', scamType: 'impersonation' }], shadowHits: [], ruleErrors: [], degraded: [], guardian: null, modelVersion: null, holdMinutes: 1 });
    return { id, args: reg.args, decision, decisionJson, event, v, features, choices };
  };
}

function register(redis: Redis, keys: Keys, holds: readonly { id: string; args: readonly string[] }[]): Promise<unknown> {
  const p = redis.pipeline();
  for (const h of holds) p.cpRegisterTransfer(keys.txState(h.id), keys.txAudit(h.id), keys.lifecycleAwaiting(), keys.lifecycleEvents(), ...h.args);
  return p.exec();
}

interface Receipt {
  readonly type: string;
  readonly transferId: string;
  readonly delayMs: number;
}

async function startReceiver(): Promise<{ url: string; receipts: Map<string, Receipt>; duplicates: () => number; close: () => Promise<void> }> {
  const receipts = new Map<string, Receipt>();
  let duplicates = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const id = String(req.headers['calmpay-event-id']);
      if (receipts.has(id)) duplicates++;
      else {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { type: string; transferId: string; createdAt: string };
        receipts.set(id, { type: body.type, transferId: body.transferId, delayMs: Date.now() - Date.parse(body.createdAt) });
      }
      res.statusCode = 204;
      res.end();
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    receipts,
    duplicates: () => duplicates,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

function startWorker(env: Record<string, string>): { child: ChildProcess; ready: Promise<void> } {
  const child = startScript('src/cli/worker.ts', env, { cpuProfileDir: process.env.BENCH_WORKER_PROFILE, stdout: 'pipe' });
  const ready = new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('"msg":"worker ready"')) resolve();
      if (out.length > 100_000) out = out.slice(-10_000);
    });
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}`)));
  });
  return { child, ready };
}

async function stopWorker(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

/** Phase 1: what the registration adds to the scoring path's decision write. */
async function registrationCost(redis: Redis, config: Config): Promise<Record<string, number>> {
  const keys = makeKeys(PREFIX);
  const make = holdMaker(config);
  const run = async (withRegistration: boolean): Promise<{ redisCpuUs: number; wallMs: number }> => {
    const store = new FeatureStore(redis, keys, featureStoreOptions(config), (err) => console.error(err));
    const cpu0 = await redisCpu(redis);
    const t0 = performance.now();
    for (let i = 0; i < REGISTRATION_SAMPLE; i += 100) {
      for (let j = 0; j < 100; j++) {
        const h = make(withRegistration ? 'reg' : 'plain');
        const extras = { event: JSON.stringify({ occurredAt: h.event.occurredAt, amount: h.event.amount }), features: h.features, catalogue: CATALOGUE_VERSION };
        // failures are reported by the store's onWriteError; the batch is awaited through drain()
        store.recordDecision(h.id, h.decisionJson, extras, withRegistration ? { transferId: h.id, args: h.args } : null).catch(() => undefined);
      }
      await store.drain();
    }
    const wallMs = performance.now() - t0;
    const cpu = (await redisCpu(redis)) - cpu0;
    return { redisCpuUs: (cpu * 1e6) / REGISTRATION_SAMPLE, wallMs };
  };
  await run(false); // warm-up (script load, allocator)
  await redis.flushall();
  const plain = await run(false);
  await redis.flushall();
  const withReg = await run(true);
  await redis.flushall();
  // Node side: building the registration arguments
  const make2 = holdMaker(config);
  const samples = Array.from({ length: 2_000 }, () => make2('n'));
  const times = registrationTimes(config);
  const t0 = performance.now();
  for (let r = 0; r < 10; r++) for (const s of samples) registrationFor(s.decision, s.event, s.v, s.features, s.choices, times);
  const nodeUs = ((performance.now() - t0) * 1000) / (samples.length * 10);
  return {
    decisionWriteRedisCpuUs: plain.redisCpuUs,
    decisionWriteWithRegistrationRedisCpuUs: withReg.redisCpuUs,
    addedRedisCpuUsPerWarnedDecision: withReg.redisCpuUs - plain.redisCpuUs,
    registrationNodeUs: Number(nodeUs.toFixed(2)),
  };
}

/** Phase 2: Redis memory per pending hold, after the relay would have emptied the outbox. */
async function memoryPerHold(redis: Redis, env: Record<string, string>): Promise<Record<string, number>> {
  const config = loadConfig({ ...env, COOLING_OFF_SECONDS: '3600', WEBHOOK_URL: '' });
  const keys = makeKeys(PREFIX);
  const store = new LifecycleStore(redis, keys, config.scoring.idempotencyTtlSeconds * 1000);
  const timers = new HoldTimers(new RedisConnections(config.store.redisUrl!, config.store.storeDeadlineMs).bullmq(), keys.bullPrefix(), Date.now);
  const service = new LifecycleService({ store, timers, ...lifecycleSettings(config), ruleSet: () => { throw new Error('no re-check here'); }, clock: Date.now, log: quiet });
  // the queue's own keys exist before the first hold
  await timers.queue.waitUntilReady();
  await new Promise((r) => setTimeout(r, 200));
  const before = await info(redis, 'memory', 'used_memory');
  const make = holdMaker(config);
  let sample = '';
  for (let i = 0; i < MEMORY_HOLDS; i += 200) {
    const batch = Array.from({ length: Math.min(200, MEMORY_HOLDS - i) }, () => make('mem'));
    await register(redis, keys, batch);
    const results = await Promise.all(batch.map((h) => service.confirm(h.id, '')));
    if (results.some((r) => r.view.state !== 'COOLING_OFF')) throw new Error('a memory-phase hold is not COOLING_OFF');
    sample = batch[0]!.id;
  }
  await redis.del(keys.lifecycleEvents());
  const after = await info(redis, 'memory', 'used_memory');
  const usage = async (key: string): Promise<number> => Number((await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) ?? 0);
  const jobKey = `${keys.bullPrefix()}:holds:${sample}`;
  const breakdown = {
    stateHashBytes: await usage(keys.txState(sample)),
    auditListBytes: await usage(keys.txAudit(sample)),
    bullJobHashBytes: await usage(jobKey),
  };
  await timers.close();
  await redis.flushall();
  return { holds: MEMORY_HOLDS, bytesPerPendingHold: Math.round((after - before) / MEMORY_HOLDS), ...breakdown };
}

/** Phase 3: sustained holds per second; lateness of the releases. */
async function sustained(redis: Redis, env: Record<string, string>, receiver: Awaited<ReturnType<typeof startReceiver>> | null) {
  const config = loadConfig(env);
  const keys = makeKeys(PREFIX);
  const store = new LifecycleStore(redis, keys, config.scoring.idempotencyTtlSeconds * 1000);
  const timers = new HoldTimers(new RedisConnections(config.store.redisUrl!, config.store.storeDeadlineMs).bullmq(), keys.bullPrefix(), Date.now);
  const service = new LifecycleService({ store, timers, ...lifecycleSettings(config), ruleSet: () => { throw new Error('the API does not re-check'); }, clock: Date.now, log: quiet });
  const make = holdMaker(config);
  const worker = startWorker({
    REDIS_URL: config.store.redisUrl!,
    REDIS_KEY_PREFIX: PREFIX,
    RULES_DIR: config.ruleFiles.dir,
    WATCH_RULES: 'false',
    COOLING_OFF_SECONDS: String(HOLD_SECONDS),
    LOG_LEVEL: 'info', // the ready line is an info line; the output is discarded
    ...(receiver === null ? {} : { WEBHOOK_URL: receiver.url, WEBHOOK_SECRET: SECRET }),
  });
  await worker.ready;

  const created: string[] = [];
  const errors: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const confirmMs: number[] = [];
  await redis.config('RESETSTAT');
  const cpu0 = await redisCpu(redis);
  const start = performance.now();
  const end = start + SECONDS * 1000;
  let pending: Promise<unknown>[] = [];
  while (performance.now() < end) {
    const due = Math.floor(((performance.now() - start) / 1000) * RATE) - created.length;
    const n = Math.min(due, MAX_IN_FLIGHT - inFlight);
    if (n > 0) {
      const batch = Array.from({ length: n }, () => make('hold'));
      for (const h of batch) created.push(h.id);
      inFlight += n;
      maxInFlight = Math.max(maxInFlight, inFlight);
      pending.push(
        register(redis, keys, batch).then(() =>
          Promise.all(
            batch.map(async (h) => {
              const t = performance.now();
              try {
                const r = await service.confirm(h.id, '');
                if (r.view.state !== 'COOLING_OFF') errors.push(`${h.id}: ${r.view.state}`);
              } catch (err) {
                errors.push(`${h.id}: ${(err as Error).message}`);
              } finally {
                confirmMs.push(performance.now() - t);
                inFlight--;
              }
            }),
          ),
        ),
      );
      if (pending.length > 200) pending = [Promise.all(pending)];
    }
    await new Promise((r) => setTimeout(r, TICK_MS));
  }
  await Promise.all(pending);
  const produceSeconds = (performance.now() - start) / 1000;
  const deadline = Date.now() + (HOLD_SECONDS + 60) * 1000;
  while ((await redis.zcard(keys.lifecycleDue())) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  const stillPending = await redis.zcard(keys.lifecycleDue());
  const cpu = (await redisCpu(redis)) - cpu0;
  const stats = (await redis.info('commandstats'))
    .split('\n')
    .map((l) => /^cmdstat_([\w|]+):calls=(\d+),usec=(\d+)/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ command: m[1]!, callsPerHold: Number((Number(m[2]) / Math.max(1, created.length)).toFixed(2)), usPerHold: Math.round(Number(m[3]) / Math.max(1, created.length)) }))
    .sort((a, b) => b.usPerHold - a.usPerHold)
    .slice(0, 8);

  // lateness from each transfer's audit trail: release time minus the hold's end
  const late: number[] = [];
  const outcomes: Record<string, number> = {};
  let notOnce = 0;
  let bySweep = 0;
  for (let i = 0; i < created.length; i += 1_000) {
    const p = redis.pipeline();
    for (const id of created.slice(i, i + 1_000)) p.hget(keys.txState(id), 'holdUntil').lrange(keys.txAudit(id), 0, -1);
    const res = (await p.exec()) ?? [];
    for (let j = 0; j < res.length; j += 2) {
      const id = created[i + j / 2]!;
      const holdUntil = Number(res[j]![1]);
      const audit = (res[j + 1]![1] as string[]).map((s) => JSON.parse(s) as { to: string; at: string; actor: string });
      const end = audit[2];
      // exactly three transitions: WARNED, COOLING_OFF, and one end (RELEASED, or
      // HELD_FOR_REVIEW where the default rules block the generated features on re-check)
      if (audit.length !== 3 || end === undefined) {
        notOnce++;
        if (notOnce <= 3) console.error(`${id}: ${JSON.stringify(audit)}`);
        continue;
      }
      outcomes[end.to] = (outcomes[end.to] ?? 0) + 1;
      late.push(Date.parse(end.at) - holdUntil);
      if (end.actor === 'system:sweep') bySweep++;
    }
  }
  late.sort((a, b) => a - b);

  let webhooks: Record<string, number> | null = null;
  if (receiver !== null) {
    const expected = created.length * 3; // warned, cooling_off, released
    const until = Date.now() + 120_000;
    while (receiver.receipts.size < expected && Date.now() < until) await new Promise((r) => setTimeout(r, 250));
    const releasedPerTransfer = new Map<string, number>();
    const delays: number[] = [];
    for (const r of receiver.receipts.values()) {
      if (r.type !== 'transfer.released') continue;
      releasedPerTransfer.set(r.transferId, (releasedPerTransfer.get(r.transferId) ?? 0) + 1);
      delays.push(r.delayMs);
    }
    delays.sort((a, b) => a - b);
    webhooks = {
      expected,
      uniqueReceived: receiver.receipts.size,
      duplicatesReceived: receiver.duplicates(),
      transfersReleasedOnce: [...releasedPerTransfer.values()].filter((c) => c === 1).length,
      releaseDeliveryP50Ms: pct(delays, 50),
      releaseDeliveryP99Ms: pct(delays, 99),
    };
  }
  confirmMs.sort((a, b) => a - b);
  await stopWorker(worker.child);
  await timers.close();
  return {
    targetRate: RATE,
    seconds: SECONDS,
    holdSeconds: HOLD_SECONDS,
    holdsCreated: created.length,
    achievedRate: Math.round(created.length / produceSeconds),
    confirmErrors: errors.length,
    firstErrors: errors.slice(0, 5),
    confirmP50Ms: Number(pct(confirmMs, 50).toFixed(2)),
    confirmP99Ms: Number(pct(confirmMs, 99).toFixed(2)),
    maxConfirmsInFlight: maxInFlight,
    endedExactlyOnce: late.length,
    outcomes,
    notEndedExactlyOnce: notOnce,
    stillPendingAfterWait: stillPending,
    releasedBySweep: bySweep,
    lateP50Ms: pct(late, 50),
    lateP99Ms: pct(late, 99),
    lateMaxMs: late.at(-1) ?? NaN,
    earlyReleases: late.filter((l) => l < 0).length,
    redisCpuUsPerHold: Math.round((cpu * 1e6) / Math.max(1, created.length)),
    redisTopCommands: stats,
    webhooks,
  };
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'calmpay-bench-cooling-'));
  const local = await startLocalRedis({ dataDir, appendOnly: true, log: () => {} });
  const redis = new Redis(local.url);
  redis.on('error', (err: Error) => console.error(`bench redis: ${err.message}`));
  defineLifecycleCommands(redis);
  const env = {
    REDIS_URL: local.url,
    REDIS_KEY_PREFIX: PREFIX,
    RULES_DIR: path.join(root, 'rules'),
    WATCH_RULES: 'false',
    COOLING_OFF_SECONDS: String(HOLD_SECONDS),
    RUN_WORKER: 'false',
  };
  const rules = await loadRuleDir(env.RULES_DIR);
  if (!rules.ok) throw new Error('the default rule set does not load');
  const receiver = WEBHOOKS ? await startReceiver() : null;
  try {
    console.log(`cooling bench: redis ${local.url} (append-only), ${RATE} holds/s for ${SECONDS} s, holds of ${HOLD_SECONDS} s, webhooks ${WEBHOOKS ? 'on' : 'off'}`);
    const registration = await registrationCost(redis, loadConfig(env));
    console.log('registration cost', registration);
    const memory = await memoryPerHold(redis, env);
    console.log('memory', memory);
    const load = await sustained(redis, env, receiver);
    console.log('sustained', load);
    const result = { when: new Date().toISOString(), cpus: os.cpus().length, loadAverage: os.loadavg(), registration, memory, load };
    mkdirSync(path.join(root, 'bench/results'), { recursive: true });
    writeFileSync(path.join(root, 'bench/results/cooling.json'), `${JSON.stringify(result, null, 2)}\n`);
    console.log('written to bench/results/cooling.json');
  } finally {
    await receiver?.close();
    await redis.quit();
    await local.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

/**
 * The load generator of `npm run bench:latency`: POST /v1/transfers/score on 127.0.0.1 with
 * node:http and keep-alive connections, closed loop (N connections, each sends its next
 * request when the last answer is in: the maximum rate) or open loop (a fixed arrival rate,
 * each latency measured from the request's due time on the schedule, so a stall delays and
 * counts every request due during it: no coordinated omission). Every request has a 10 s
 * timeout; every stage is bounded in time.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { ActionTally, ArrivalSchedule, summarizeLatencies, type LatencySummary, type TrafficLabel } from './latency-core.ts';
import type { TrafficSource } from './latency-traffic.ts';

const REQUEST_TIMEOUT_MS = 10_000;
const ACTION = /"action":"(\w+)"/;

export interface StageResult {
  readonly name: string;
  readonly mode: 'closed' | 'open';
  /** open loop: the arrival rate asked for (requests a second) */
  readonly targetRate: number | null;
  /** closed loop: connections; open loop: the most connections it may open */
  readonly connections: number;
  /** wall time from the first request to the last answer */
  readonly seconds: number;
  /** answers received (any status) */
  readonly requests: number;
  /** answers per second of wall time */
  readonly achievedRate: number;
  readonly latencyMs: LatencySummary;
  /** open loop: how late the sender sent requests after their due time (its own lag) */
  readonly sendLagMs: LatencySummary | null;
  /** open loop: from the actual send to the end of the answer (the latency less the sender's lag; flatters a stalled server) */
  readonly serviceMs: LatencySummary | null;
  readonly non2xx: number;
  /** the non-2xx answers by status and error code (`503 CALMPAY_ERR_...`) */
  readonly non2xxByStatus: Record<string, number>;
  /** timeouts and connection errors */
  readonly errors: number;
  /** the traffic ran out before the stage ended */
  readonly exhausted: boolean;
  /** the engine's actions on the 2xx answers, by label */
  readonly actions: ActionTally;
  /** with `explain`: for each label, how often each active rule fired on the answers that were not `allow` (`(no active rule)`: the risk score alone) */
  readonly nonAllowRules: Partial<Record<TrafficLabel, Record<string, number>>> | null;
  /** the CPU this process (the load generator and the traffic source) spent per request, µs */
  readonly clientCpuUsPerRequest: number;
}

interface Answer {
  readonly status: number;
  readonly body: string;
}

export interface Target {
  readonly port: number;
  readonly headers: Readonly<Record<string, string>>;
}

function post(agent: http.Agent, target: Target, body: string): Promise<Answer> {
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: target.port,
        method: 'POST',
        path: '/v1/transfers/score',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...target.headers },
      },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          data += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
        res.on('error', () => resolve({ status: 0, body: '' }));
      },
    );
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: 0, body: '' }));
    req.end(body);
  });
}

const NO_RULE = '(no active rule)';

class Recorder {
  constructor(readonly explain: boolean) {}
  readonly nonAllowRules: Partial<Record<TrafficLabel, Record<string, number>>> = {};
  readonly latencies: number[] = [];
  readonly lags: number[] = [];
  readonly service: number[] = [];
  readonly actions = new ActionTally();
  non2xx = 0;
  readonly non2xxByStatus: Record<string, number> = {};
  errors = 0;
  exhausted = false;

  record(a: Answer, latencyMs: number, label: TrafficLabel, tally: boolean): void {
    this.latencies.push(latencyMs);
    if (a.status === 0) this.errors++;
    else if (a.status < 200 || a.status >= 300) {
      this.non2xx++;
      const code = /"code":"(\w+)"/.exec(a.body)?.[1];
      const key = code === undefined ? String(a.status) : `${a.status} ${code}`;
      this.non2xxByStatus[key] = (this.non2xxByStatus[key] ?? 0) + 1;
    } else if (tally) {
      const m = ACTION.exec(a.body);
      if (m === null) return;
      this.actions.add(m[1]!, label);
      if (this.explain && m[1] !== 'allow') this.countRules(a.body, label);
    }
  }

  private countRules(body: string, label: TrafficLabel): void {
    const hits = (JSON.parse(body) as { hits?: readonly { ruleId: string }[] }).hits ?? [];
    const row = (this.nonAllowRules[label] ??= {});
    for (const id of hits.length === 0 ? [NO_RULE] : hits.map((h) => h.ruleId)) row[id] = (row[id] ?? 0) + 1;
  }
}

function finish(
  name: string,
  mode: 'closed' | 'open',
  targetRate: number | null,
  connections: number,
  rec: Recorder,
  startedAt: number,
  cpu0: NodeJS.CpuUsage,
): StageResult {
  const seconds = (performance.now() - startedAt) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const n = rec.latencies.length;
  return {
    name,
    mode,
    targetRate,
    connections,
    seconds,
    requests: n,
    achievedRate: n / seconds,
    latencyMs: summarizeLatencies(rec.latencies),
    sendLagMs: mode === 'open' ? summarizeLatencies(rec.lags) : null,
    serviceMs: mode === 'open' ? summarizeLatencies(rec.service) : null,
    non2xx: rec.non2xx,
    non2xxByStatus: rec.non2xxByStatus,
    errors: rec.errors,
    exhausted: rec.exhausted,
    actions: rec.actions,
    nonAllowRules: rec.explain ? rec.nonAllowRules : null,
    clientCpuUsPerRequest: n === 0 ? Number.NaN : (cpu.user + cpu.system) / n,
  };
}

export interface ClosedLoopOptions {
  readonly name: string;
  readonly target: Target;
  readonly source: TrafficSource;
  readonly connections: number;
  /** stop sending after this long (the source may run out first) */
  readonly seconds: number;
  /** tally the engine's actions (not for the bare baseline) */
  readonly tally: boolean;
  /** also count the rules behind every answer that is not `allow` (parses those answers: not for a measured stage) */
  readonly explain?: boolean;
  /** called every ~5 s with the answers so far */
  readonly onProgress?: (answers: number) => void;
}

/** N connections, each sending its next request as soon as its last one is answered. */
export async function closedLoop(o: ClosedLoopOptions): Promise<StageResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.connections, maxFreeSockets: o.connections });
  const rec = new Recorder(o.explain === true);
  const cpu0 = process.cpuUsage();
  const startedAt = performance.now();
  const endAt = startedAt + o.seconds * 1000;
  const progress = o.onProgress === undefined ? null : setInterval(() => o.onProgress!(rec.latencies.length), 5000);
  const worker = async (): Promise<void> => {
    while (performance.now() < endAt) {
      const e = o.source.next();
      if (e === undefined) {
        rec.exhausted = true;
        return;
      }
      const sentAt = performance.now();
      const a = await post(agent, o.target, e.body);
      rec.record(a, performance.now() - sentAt, e.label, o.tally);
    }
  };
  try {
    await Promise.all(Array.from({ length: o.connections }, worker));
  } finally {
    if (progress !== null) clearInterval(progress);
    agent.destroy();
  }
  return finish(o.name, 'closed', null, o.connections, rec, startedAt, cpu0);
}

export interface OpenLoopOptions {
  readonly name: string;
  readonly target: Target;
  readonly source: TrafficSource;
  readonly rate: number;
  readonly seconds: number;
  /** the most connections the sender may open; beyond them requests queue in the sender, and the wait counts */
  readonly maxConnections: number;
  readonly tally: boolean;
}

/**
 * A fixed arrival rate for `seconds`: request i is due i / rate seconds after the start and
 * is sent then (or as soon after as the sender's event loop gets to it); its latency runs
 * from the due time to the end of the answer.
 */
export async function openLoop(o: OpenLoopOptions): Promise<StageResult> {
  const schedule = new ArrivalSchedule(o.rate, o.seconds);
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.maxConnections, maxFreeSockets: o.maxConnections });
  const rec = new Recorder(false);
  const inFlight = new Set<Promise<void>>();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let next = 0;
  const dispatch = (i: number): void => {
    const e = o.source.next();
    if (e === undefined) {
      rec.exhausted = true;
      return;
    }
    const due = t0 + schedule.dueAt(i);
    const sentAt = performance.now();
    rec.lags.push(sentAt - due);
    const p = post(agent, o.target, e.body).then((a) => {
      const end = performance.now();
      rec.service.push(end - sentAt);
      rec.record(a, end - due, e.label, o.tally);
      inFlight.delete(p);
    });
    inFlight.add(p);
  };
  try {
    await new Promise<void>((resolve) => {
      const tick = (): void => {
        const due = schedule.dueBy(performance.now() - t0);
        while (next < due && !rec.exhausted) dispatch(next++);
        if (next >= schedule.total || rec.exhausted) {
          resolve();
          return;
        }
        setTimeout(tick, Math.max(0, schedule.dueAt(next) - (performance.now() - t0)));
      };
      tick();
    });
    while (inFlight.size > 0) await Promise.all([...inFlight]);
  } finally {
    agent.destroy();
  }
  return finish(o.name, 'open', o.rate, o.maxConnections, rec, t0, cpu0);
}

/**
 * The traffic of `npm run bench:latency`: events as request bodies with their label.
 *
 * `sim` (the default): the scam simulator's population (src/sim: payers with habits, a small
 * share of scam victims and mule accounts), over `warmDays + runDays` days that end at the
 * UTC midnight before now, so that every event is within the scoring route's age bound
 * (MAX_EVENT_AGE_DAYS, 30) and none is in the future. The first `warmDays` are the warm-up
 * history, scored before the timed run; the timed stages go on with the days after it. The
 * events keep their simulated `occurredAt`: the engine's windows run on event time, so a
 * day of history scored in seconds builds the same windows as a day in real time.
 *
 * `retail` / `hot`: bench/transfer-gen.ts, the generated mixes of `npm run bench`, no history
 * and no labels.
 */
import { simulate, type SimOptions, type SimRecord } from '../src/sim/index.ts';
import type { TrafficLabel } from './latency-core.ts';
import { transferGenerator, type Mix } from './transfer-gen.ts';

export const LATENCY_MIXES = ['sim', 'retail', 'hot'] as const;
export type LatencyMix = (typeof LATENCY_MIXES)[number];

/** BENCH_MIX for the latency bench: default `sim`; anything else is an error naming the choices. */
export function latencyMixFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): LatencyMix {
  const v = env.BENCH_MIX ?? 'sim';
  if (!(LATENCY_MIXES as readonly string[]).includes(v)) throw new Error(`BENCH_MIX must be ${LATENCY_MIXES.join(', ')}; got ${JSON.stringify(v)}`);
  return v as LatencyMix;
}

export interface BenchEvent {
  readonly transferId: string;
  readonly body: string;
  readonly label: TrafficLabel;
}

/** A stream of events; `undefined` once it is exhausted. */
export interface TrafficSource {
  next(): BenchEvent | undefined;
}

const DAY_MS = 86_400_000;

export interface SimPlan {
  /** the simulator's `start`, YYYY-MM-DD */
  readonly start: string;
  readonly days: number;
  /** events before this (ms) are the warm-up history, the rest the timed run's */
  readonly boundaryMs: number;
  /** the end of the simulated period: the UTC midnight at or before now */
  readonly endMs: number;
}

/**
 * Where the simulated period lies: `warmDays + runDays` whole UTC days ending at the midnight
 * at or before `nowMs`. Throws when the oldest event could be older than `maxEventAgeDays`
 * (the engine would refuse it).
 */
export function simPlan(nowMs: number, warmDays: number, runDays: number, maxEventAgeDays = 30): SimPlan {
  if (!Number.isInteger(warmDays) || warmDays < 1) throw new RangeError(`BENCH_WARM_DAYS must be a whole number of days >= 1, got ${warmDays}`);
  if (!Number.isInteger(runDays) || runDays < 1) throw new RangeError(`BENCH_RUN_DAYS must be a whole number of days >= 1, got ${runDays}`);
  const days = warmDays + runDays;
  // the oldest event is at most `days` days and one day (today so far) old
  if (days + 1 > maxEventAgeDays) throw new RangeError(`BENCH_WARM_DAYS + BENCH_RUN_DAYS must be below ${maxEventAgeDays} (MAX_EVENT_AGE_DAYS), got ${days}`);
  const endMs = Math.floor(nowMs / DAY_MS) * DAY_MS;
  const startMs = endMs - days * DAY_MS;
  return { start: new Date(startMs).toISOString().slice(0, 10), days, boundaryMs: startMs + warmDays * DAY_MS, endMs };
}

export function labelOf(r: SimRecord): TrafficLabel {
  return r.label.fraud ? 'scam' : 'legit';
}

function asBenchEvent(r: SimRecord): BenchEvent {
  return { transferId: r.event.transferId, body: JSON.stringify(r.event), label: labelOf(r) };
}

/**
 * The simulated stream split at `plan.boundaryMs`: `warm` yields the history and then ends,
 * `run` the events after it (it may be read before `warm` is used up: it skips the rest of
 * the history then). Lazy: the simulator makes a day at a time.
 */
export function simTraffic(plan: SimPlan, o: Pick<SimOptions, 'payers' | 'seed' | 'fraudRate'>): { warm: TrafficSource; run: TrafficSource } {
  const records = simulate({ payers: o.payers, seed: o.seed, fraudRate: o.fraudRate, days: plan.days, start: plan.start });
  let pending: SimRecord | undefined;
  const pull = (): SimRecord | undefined => {
    if (pending !== undefined) {
      const r = pending;
      pending = undefined;
      return r;
    }
    const it = records.next();
    return it.done ? undefined : it.value;
  };
  return {
    warm: {
      next() {
        const r = pull();
        if (r === undefined) return undefined;
        if (Date.parse(r.event.occurredAt) >= plan.boundaryMs) {
          pending = r;
          return undefined;
        }
        return asBenchEvent(r);
      },
    },
    run: {
      next() {
        for (;;) {
          const r = pull();
          if (r === undefined) return undefined;
          if (Date.parse(r.event.occurredAt) >= plan.boundaryMs) return asBenchEvent(r);
        }
      },
    },
  };
}

/** bench/transfer-gen.ts's generated mix, endless and unlabelled. */
export function generatedTraffic(mix: Exclude<LatencyMix, 'sim'>, o: { readonly seed: number; readonly payers: number; readonly payees: number; readonly runId: string }): TrafficSource {
  const gen = transferGenerator({ ...o, mix: mix satisfies Mix });
  return {
    next() {
      const event = gen();
      return { transferId: String(event.transferId), body: JSON.stringify(event), label: 'unlabelled' };
    },
  };
}

/** Up to `limit` events of a source, read now. */
export function collect(source: TrafficSource, limit: number): BenchEvent[] {
  const events: BenchEvent[] = [];
  while (events.length < limit) {
    const e = source.next();
    if (e === undefined) break;
    events.push(e);
  }
  return events;
}

/**
 * A source over events made before a timed stage starts: the simulator makes a whole day at
 * a time, and a sender that waited for it in the middle of an open-loop stage would count its
 * own pause against the engine. `cycle`: start again at the first event after the last (for a
 * baseline that does not care about repeats).
 */
export function arraySource(events: readonly BenchEvent[], cycle = false): TrafficSource {
  let i = 0;
  return {
    next() {
      if (i >= events.length) {
        if (!cycle || events.length === 0) return undefined;
        i = 0;
      }
      return events[i++];
    },
  };
}

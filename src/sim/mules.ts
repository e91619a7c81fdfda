/**
 * The mule network victims pay into. A first-layer mule is a young personal account (or an
 * older one rented from a student), often operated with several others from one device,
 * sometimes from abroad; it is paid by victims of several cases within a few days (fan-in of
 * first-time payers) and, for 80% of payments, passes 92-99% on within minutes to hours in one
 * to three round chunks, to a second-layer mule or straight to a collector account (the rest
 * leaves by cash withdrawal, which the engine never sees). A second-layer mule collects from
 * many first-layer mules and forwards to collectors. Once a victim reports a case, the mules it
 * paid are frozen a little later and get no new victims (an ongoing story is handed a new
 * account). Long cons (investment, romance) use accounts of their own, kept for weeks.
 *
 * Every onward transfer is labelled `mule` with role `mule`; the transfers of one mule account
 * form one case, reported (by the bank or the police, tracing a victim's report) when any
 * victim case that reached it was reported.
 */
import { MULE_ZONE_BASE, MULE_ZONES, ZONES } from './population.ts';
import type { Random } from './random.ts';
import { DAY_MS, HOUR_MS, MINUTE_MS, isoSeconds } from './time.ts';
import type { Reporter, SimLabel } from './types.ts';
import {
  F_NEW_DEVICE,
  F_ON_CALL,
  F_PASTED,
  F_REMOTE,
  KIND,
  Pending,
  accountId,
  cents,
  deviceId,
  personName,
  roundTo,
  shopName,
  type Account,
  type DayBuckets,
  type PayerSide,
} from './world.ts';

/**
 * Chance that a mule passes a payment on by transfer (the rest is withdrawn in cash or spent,
 * which the engine never sees), and the share of chunks sent to a second layer.
 */
const PASS_ON = 0.8;
const TO_SECOND_LAYER = 0.3;

/** Expected onward transfers caused by one victim payment of `amount` into a mule (for the fraud-rate target). */
export function expectedOnward(amount: number): number {
  return PASS_ON * chunksMean(amount) * (1 + TO_SECOND_LAYER * PASS_ON);
}

function chunksMean(amount: number): number {
  return amount < 30_000 ? 1 : amount < 150_000 ? 1.5 : 2.5;
}

export class Mule implements PayerSide, Account {
  received = 0;
  /** frozen from this instant, after a victim's report was traced to it: no new victims */
  frozenMs = Infinity;
  lastOutMs = -Infinity;
  readonly sources = new Set<Mule>();
  readonly pendings: Pending[] = [];
  reportMs: number | null = null;

  constructor(
    readonly serial: number,
    readonly layer: 1 | 2,
    readonly id: string,
    readonly name: string,
    readonly birthYear: number,
    readonly createdMs: number,
    readonly createdIso: string,
    readonly timeZone: string,
    readonly device: string,
    /** first use: the operator's device is new to the account during its first day */
    readonly firstUseMs: number,
    readonly activeUntil: number,
    readonly capacity: number,
  ) {}
}

interface Ring {
  readonly device: string;
  size: number;
  readonly cap: number;
}

/**
 * fast: mules shared by the quick scams (impersonation, refunds, tasks, purchases), many victims
 * each within days; long: accounts a long con (investment, romance) keeps for weeks, paid by
 * few victims, so one story can go on paying the same account.
 */
export type MulePool = 'fast' | 'long';

export class MuleNetwork {
  private readonly active: Record<MulePool, Mule[]> = { fast: [], long: [] };
  private readonly activeSecond: Mule[] = [];
  readonly all: Mule[] = [];
  private readonly collectors: Account[] = [];
  private collectorCount = 0;
  private deviceCount = 0;
  private ring: Ring | null = null;

  constructor(
    private readonly rng: Random,
    private readonly out: DayBuckets,
    private readonly seq: { n: number },
    private readonly seedKey: number,
    private readonly startYear: number,
    private readonly caseIdPrefix: string,
  ) {}

  /**
   * A first-layer mule for a victim's new payee at `ms`: one of the mules in use (not frozen,
   * not worn out) or, now and then or when none is left, a fresh one. Call in time order.
   */
  assign(ms: number, caseReportMs: number | null, pool: MulePool): Mule {
    const rng = this.rng;
    const active = this.active[pool];
    prune(active, ms);
    let m: Mule | null = null;
    if (!rng.chance(pool === 'fast' ? 0.12 : 0.5)) {
      const eligible = active.filter((x) => x.received < x.capacity && x.frozenMs > ms);
      if (eligible.length > 0) m = rng.pick(eligible);
    }
    if (m === null) {
      m = this.create(ms, 1, pool);
      active.push(m);
    }
    m.received++;
    // a report is traced to the mule account and gets it frozen, most of the time (not when
    // the victim cannot say whom they paid)
    if (caseReportMs !== null && rng.chance(0.85)) m.frozenMs = Math.min(m.frozenMs, caseReportMs + rng.range(1, 48) * HOUR_MS);
    return m;
  }

  /** A victim paid `amount` into `m` at `ms`: schedule what the mule passes on. */
  receive(m: Mule, ms: number, amount: number): void {
    const rng = this.rng;
    if (!rng.chance(PASS_ON)) return;
    const outAt = ms + Math.min(8 * HOUR_MS, MINUTE_MS + rng.exponential(30 * MINUTE_MS));
    const total = amount * rng.range(0.92, 0.995);
    const k = amount < 30_000 ? 1 : amount < 150_000 ? rng.int(1, 2) : rng.int(2, 3);
    const shares = Array.from({ length: k }, () => rng.range(0.5, 1.5));
    const sum = shares.reduce((a, b) => a + b, 0);
    let t = outAt;
    for (const s of shares) {
      const part = (total * s) / sum;
      const amt = part >= 500 && rng.chance(0.6) ? roundTo(part - 50, 100) : Math.max(0.01, cents(part));
      if (rng.chance(TO_SECOND_LAYER)) {
        const second = this.secondLayer(t);
        second.sources.add(m);
        this.transfer(m, t, amt, second);
        if (rng.chance(PASS_ON)) {
          const t2 = t + 5 * MINUTE_MS + rng.exponential(60 * MINUTE_MS);
          this.transfer(second, t2, Math.max(0.01, cents(amt * rng.range(0.95, 0.995))), this.collector(t2));
        }
      } else {
        this.transfer(m, t, amt, this.collector(t));
      }
      t += rng.int(1, 5) * MINUTE_MS + rng.int(0, 59) * 1000;
    }
  }

  /** Fixes every mule's case label (after all victim payments were routed) and attaches it. */
  finalize(reporter: () => Reporter): void {
    const rng = this.rng;
    // layer 1 before layer 2: a second-layer mule is traced from its sources' reports
    const ordered = [...this.all.filter((m) => m.layer === 1), ...this.all.filter((m) => m.layer === 2)];
    for (const m of ordered) {
      let traced = m.frozenMs;
      if (m.layer === 2) {
        let source = Infinity;
        for (const s of m.sources) if (s.reportMs !== null) source = Math.min(source, s.reportMs);
        traced = source + rng.range(6, 168) * HOUR_MS;
      }
      // reported when traced, and never before its last transfer (money already sent is traced too)
      if (Number.isFinite(traced)) m.reportMs = Math.floor(Math.max(traced, m.lastOutMs + rng.range(10, 360) * MINUTE_MS) / 1000) * 1000;
      if (m.pendings.length === 0) continue;
      const label: SimLabel = Object.freeze({
        fraud: true,
        scamType: 'mule',
        role: 'mule',
        caseId: `${this.caseIdPrefix}${m.serial}`,
        reportedAt: m.reportMs === null ? null : isoSeconds(m.reportMs),
        reporter: m.reportMs === null ? null : reporter(),
      });
      for (const p of m.pendings) p.label = label;
    }
  }

  private secondLayer(ms: number): Mule {
    prune(this.activeSecond, ms);
    const eligible = this.activeSecond.filter((x) => x.received < x.capacity);
    let m: Mule;
    if (eligible.length === 0 || this.rng.chance(0.15)) {
      m = this.create(ms, 2, 'fast');
      this.activeSecond.push(m);
    } else {
      m = this.rng.pick(eligible);
    }
    m.received++;
    return m;
  }

  private collector(ms: number): Account {
    const rng = this.rng;
    if (this.collectors.length > 0 && !rng.chance(0.35)) return rng.pick(this.collectors);
    const i = this.collectorCount++;
    const c: Account = {
      id: accountId(this.seedKey, KIND.collector, i),
      // whether the backend knows its age is field-coverage.ts's choice, as for every payee
      createdIso: isoSeconds(ms - Math.floor(rng.range(10, 1_500) * DAY_MS)),
      name: rng.chance(0.6) ? personName(2e7 + i) : `${shopName(2e7 + i)}贸易`,
    };
    this.collectors.push(c);
    if (this.collectors.length > 30) this.collectors.shift();
    return c;
  }

  private create(ms: number, layer: 1 | 2, pool: MulePool): Mule {
    const rng = this.rng;
    const serial = this.all.length;
    const young = rng.chance(layer === 1 ? 0.7 : 0.5);
    // opened days before use, or an older account rented from its owner
    const ageDays = young ? Math.min(60, 0.3 + rng.exponential(12)) : rng.range(120, 2_500);
    const createdMs = ms - Math.floor(ageDays * DAY_MS);
    const u = rng.next();
    const age = u < 0.08 ? rng.int(16, 17) : u < 0.63 ? rng.int(18, 24) : u < 0.93 ? rng.int(25, 35) : rng.int(36, 55);
    const k = rng.chance(0.8) ? 0 : rng.int(1, MULE_ZONES.length - 1);
    const timeZone = ZONES[k === 0 ? 0 : MULE_ZONE_BASE + k]!;
    let device: string;
    if (rng.chance(0.6)) {
      // one operator phone shared by several mule accounts
      if (this.ring === null || this.ring.size >= this.ring.cap) {
        this.ring = { device: deviceId(this.seedKey, this.deviceCount++, true), size: 0, cap: rng.int(3, 8) };
      }
      this.ring.size++;
      device = this.ring.device;
    } else {
      device = deviceId(this.seedKey, this.deviceCount++, true);
    }
    const life = layer === 2 ? rng.range(2, 8) * DAY_MS : pool === 'fast' ? 12 * HOUR_MS + rng.exponential(2.5 * DAY_MS) : rng.range(10, 40) * DAY_MS;
    const m = new Mule(
      serial,
      layer,
      accountId(this.seedKey, KIND.mule, serial),
      personName(3e7 + serial),
      this.startYear - age,
      createdMs,
      isoSeconds(createdMs),
      timeZone,
      device,
      ms,
      ms + life,
      layer === 2 ? rng.int(10, 60) : pool === 'fast' ? rng.int(5, 40) : rng.int(2, 6),
    );
    this.all.push(m);
    return m;
  }

  private transfer(from: Mule, ms: number, amount: number, to: Account): void {
    ms = Math.floor(ms / 1000) * 1000;
    from.lastOutMs = Math.max(from.lastOutMs, ms);
    if (!this.out.inWindow(ms)) return;
    const rng = this.rng;
    let flags = 0;
    if (ms < from.firstUseMs + DAY_MS && rng.chance(0.7)) flags |= F_NEW_DEVICE;
    if (rng.chance(0.85)) flags |= F_PASTED;
    if (rng.chance(0.02)) flags |= F_ON_CALL;
    if (rng.chance(0.03)) flags |= F_REMOTE;
    const channel = rng.chance(0.15) ? 'web' : 'app';
    const p = new Pending(ms, this.seq.n++, amount, channel, from, from.device, to, flags, undefined, PLACEHOLDER);
    from.pendings.push(p);
    this.out.add(p);
  }
}

/** Replaced by the mule's case label in `finalize`, before anything is emitted. */
const PLACEHOLDER: SimLabel = Object.freeze({ fraud: true, scamType: 'mule', role: 'mule', caseId: null, reportedAt: null, reporter: null });

function prune(list: Mule[], ms: number): void {
  let w = 0;
  for (const m of list) if (m.activeUntil > ms) list[w++] = m;
  list.length = w;
}

/**
 * Scam cases: a victim from the population, a typology, and the victim's transfers of that
 * story, each with the signals that typology leaves (see the module comment of index.ts).
 *
 * Planning runs before the legitimate traffic, in two steps. First the victim side of cases
 * is drawn until the fraud transfers they imply (their own, plus the expected onward
 * transfers of the mules they pay) reach the target share of the expected traffic. Then all
 * victim transfers are walked in time order: each new payee of a case gets a mule (or the
 * scammer's own account), and the mule network schedules what the mules pass on.
 */
import type { Calendar, Payer, Population } from './population.ts';
import { AGE_BUCKETS } from './population.ts';
import { Mule, expectedOnward, type MuleNetwork } from './mules.ts';
import { cumulative, type Random } from './random.ts';
import { DAY_MS, HOUR_MS, MINUTE_MS, isoSeconds } from './time.ts';
import type { Reporter, SimLabel, SimTypology } from './types.ts';
import { SIM_TYPOLOGIES } from './types.ts';
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
  type Account,
  type DayBuckets,
} from './world.ts';

interface Typology {
  /** share of cases */
  readonly share: number;
  /** how likely each AGE_BUCKETS group is to fall for it, per person */
  readonly victims: readonly number[];
  /** local hours the story runs at; null: the victim's own habits */
  readonly hours: Float64Array | null;
  /** share of cases reported, and the delay after the last transfer (median hours, log-normal sigma) */
  readonly reported: number;
  readonly delay: readonly [number, number];
  /** share of payee accounts that are mules rather than the scammer's own account */
  readonly mules: number;
}

const h = (w: readonly number[]): Float64Array => cumulative(w);

/**
 * Victim profiles after published case statistics (China's anti-fraud centre, bank reports):
 * impersonation and romance reach older people, paid-task and purchase scams the young and
 * minors, investment scams the middle-aged.
 */
export const TYPOLOGIES: Readonly<Record<SimTypology, Typology>> = {
  impersonation: {
    share: 0.18,
    victims: [0.3, 0.6, 0.7, 1, 2.8, 3.5],
    hours: h([0, 0, 0, 0, 0, 0, 0.1, 0.5, 2, 3, 3.4, 3.2, 2.2, 2.4, 3, 3, 2.8, 2, 1.2, 0.8, 0.5, 0.3, 0.1, 0.05]),
    reported: 0.85,
    delay: [10, 1],
    mules: 0.97,
  },
  investment: {
    share: 0.12,
    victims: [0.05, 0.7, 1.3, 1.3, 1, 0.6],
    hours: h([0.6, 0.3, 0.1, 0.05, 0.05, 0.05, 0.2, 0.6, 1, 1.4, 1.6, 1.6, 1.4, 1.2, 1.3, 1.4, 1.4, 1.6, 2.2, 3, 3.4, 3.2, 2.4, 1.4]),
    reported: 0.75,
    delay: [288, 0.7],
    mules: 0.9,
  },
  part_time_job: {
    share: 0.2,
    victims: [1.5, 2.2, 1, 0.4, 0.15, 0.05],
    hours: h([0.8, 0.4, 0.2, 0.1, 0.05, 0.05, 0.2, 0.5, 1, 1.4, 1.8, 2, 2.2, 2.2, 2.2, 2.2, 2.2, 2.3, 2.4, 2.6, 2.8, 2.8, 2.4, 1.6]),
    reported: 0.72,
    delay: [30, 0.9],
    mules: 0.85,
  },
  romance: {
    share: 0.08,
    victims: [0.05, 0.5, 1, 1.3, 1.2, 0.6],
    hours: h([2.2, 1.6, 0.9, 0.4, 0.2, 0.1, 0.2, 0.4, 0.6, 0.7, 0.8, 0.9, 1, 0.9, 0.8, 0.8, 0.9, 1.1, 1.6, 2.2, 2.8, 3.2, 3.2, 2.8]),
    reported: 0.6,
    delay: [432, 0.8],
    mules: 0.65,
  },
  fake_refund: {
    share: 0.16,
    victims: [0.4, 1.5, 1.3, 0.9, 0.8, 0.5],
    hours: h([0.05, 0, 0, 0, 0, 0, 0.1, 0.4, 1.2, 2.2, 2.8, 2.8, 2.4, 2.6, 2.8, 2.8, 2.6, 2.4, 2.2, 2, 1.6, 1, 0.5, 0.2]),
    reported: 0.85,
    delay: [8, 1],
    mules: 0.95,
  },
  purchase: {
    share: 0.26,
    victims: [2.5, 1.8, 1, 0.6, 0.4, 0.2],
    hours: null,
    reported: 0.7,
    delay: [96, 0.7],
    mules: 0.55,
  },
};

const TYPE_CDF = cumulative(SIM_TYPOLOGIES.map((t) => TYPOLOGIES[t].share));
/** Typical savings within a victim's reach, per AGE_BUCKETS index (CNY). */
const SAVINGS = [1_500, 8_000, 18_000, 28_000, 35_000, 30_000];
const GAME_PRICES = [68, 128, 198, 328, 648];
/** Who reports, per age band: victim, family, bank, police (elderly victims are often found out by family or the bank). */
const REPORTERS: readonly Reporter[] = ['victim', 'family', 'bank', 'police'];
const REPORTER_CDF = {
  minor: cumulative([0.25, 0.65, 0, 0.1]),
  adult: cumulative([0.75, 0.07, 0.1, 0.08]),
  elderly: cumulative([0.3, 0.4, 0.2, 0.1]),
} as const;

const MEMO: Readonly<Record<SimTypology, readonly string[]>> = {
  impersonation: ['还款', '货款', '转账'],
  investment: ['投资', '充值', '入金', '还款'],
  part_time_job: ['任务', '订单', '做单'],
  romance: ['机票', '医药费', '清关费', '生活费', '签证费'],
  fake_refund: ['退款', '验证', '解冻', '保证金'],
  purchase: ['货款', '定金', '门票', '运费', '保证金'],
};

interface Planned {
  ms: number;
  readonly amount: number;
  readonly slot: number;
  readonly flags: number;
  readonly channel: string;
  readonly memo: string | undefined;
  readonly device: string;
  readonly c: Case;
}

interface Case {
  readonly type: SimTypology;
  readonly victim: Payer;
  readonly transfers: Planned[];
  /** per payee slot: paid into a mule (true) or the scammer's own account */
  readonly slotMule: boolean[];
  readonly slotAccount: (Account | null)[];
  label: SimLabel;
  reportMs: number | null;
}

export interface FraudPlanStats {
  readonly cases: number;
  readonly victimTransfers: number;
  readonly mules: number;
}

export class FraudPlanner {
  private readonly victimCdf: Record<SimTypology, Float64Array | null>;
  private scammerCount = 0;
  private caseCount = 0;

  constructor(
    private readonly pop: Population,
    private readonly cal: Calendar,
    private readonly out: DayBuckets,
    private readonly rng: Random,
    private readonly seq: { n: number },
    private readonly seed: number,
    private readonly network: MuleNetwork,
  ) {
    const victimCdf = {} as Record<SimTypology, Float64Array | null>;
    for (const t of SIM_TYPOLOGIES) {
      const w = AGE_BUCKETS.map((_, b) => TYPOLOGIES[t].victims[b]! * pop.byBucket[b]!.length);
      victimCdf[t] = w.some((x) => x > 0) ? cumulative(w) : null;
    }
    this.victimCdf = victimCdf;
  }

  /**
   * Plans cases until about `target` fraud transfers (victim and mule) fall in the period,
   * and adds them to the output buckets with their labels.
   */
  plan(target: number): FraudPlanStats {
    const cases: Case[] = [];
    let counted = 0;
    let attempts = 0;
    while (counted < target && attempts++ < target * 4 + 100) {
      const c = this.draft();
      if (c === null) continue;
      cases.push(c);
      for (const t of c.transfers) {
        if (!this.out.inWindow(t.ms)) continue;
        counted += 1 + (c.slotMule[t.slot] ? expectedOnward(t.amount) : 0);
      }
    }
    const all = cases.flatMap((c) => c.transfers);
    all.sort((a, b) => a.ms - b.ms); // stable: ties keep planning order
    for (const t of all) this.route(t);
    this.network.finalize(() => (this.rng.chance(0.6) ? 'bank' : 'police'));
    return { cases: cases.length, victimTransfers: all.length, mules: this.network.all.length };
  }

  /** A case's victim transfers and its label; null when no payer can be a victim. */
  private draft(): Case | null {
    const rng = this.rng;
    const type = SIM_TYPOLOGIES[rng.weighted(TYPE_CDF)]!;
    const cdf = this.victimCdf[type];
    if (cdf === null) return null;
    const bucket = this.pop.byBucket[rng.weighted(cdf)]!;
    const victim = this.pop.payers[rng.pick(bucket)]!;
    const spec = TYPOLOGIES[type];
    const c: Case = { type, victim, transfers: [], slotMule: [], slotAccount: [], label: PLACEHOLDER, reportMs: null };
    const day = rng.int(0, this.cal.days - 1);
    const start = this.at(victim, day, spec.hours);
    switch (type) {
      case 'impersonation':
        this.impersonation(c, start);
        break;
      case 'investment':
        this.investment(c, day);
        break;
      case 'part_time_job':
        this.partTimeJob(c, day, start);
        break;
      case 'romance':
        this.romance(c, day);
        break;
      case 'fake_refund':
        this.fakeRefund(c, start);
        break;
      case 'purchase':
        this.purchase(c, start);
        break;
    }
    const last = c.transfers.reduce((m, t) => Math.max(m, t.ms), 0);
    const serial = this.caseCount++;
    if (rng.chance(spec.reported)) {
      c.reportMs = Math.floor((last + 30 * MINUTE_MS + rng.logNormal(spec.delay[0], spec.delay[1]) * HOUR_MS) / 1000) * 1000;
    }
    c.label = Object.freeze({
      fraud: true,
      scamType: type,
      role: 'victim',
      caseId: `sc${this.seed}-${serial}`,
      reportedAt: c.reportMs === null ? null : isoSeconds(c.reportMs),
      reporter: c.reportMs === null ? null : REPORTERS[rng.weighted(REPORTER_CDF[victim.band])]!,
    });
    return c;
  }

  private at(p: Payer, day: number, hours: Float64Array | null): number {
    return this.cal.localMidnight(p.zone, day) + this.rng.weighted(hours ?? p.hours) * HOUR_MS + Math.floor(this.rng.next() * 3600) * 1000;
  }

  /** a payee slot for the case: a new account the victim has never paid */
  private newSlot(c: Case): number {
    c.slotMule.push(this.rng.chance(TYPOLOGIES[c.type].mules));
    c.slotAccount.push(null);
    return c.slotMule.length - 1;
  }

  private add(c: Case, ms: number, amount: number, slot: number, flags: number, channel = 'app', device?: string): void {
    const v = c.victim;
    const web = channel === 'web' && v.pcDevice !== null;
    const memo = this.rng.chance(c.type === 'romance' ? 0.25 : 0.1) ? this.rng.pick(MEMO[c.type]) : undefined;
    ms = Math.floor(ms / 1000) * 1000;
    c.transfers.push({
      ms,
      amount: Math.max(1, amount),
      slot,
      flags,
      channel: web ? 'web' : channel === 'web' ? 'app' : channel,
      memo,
      device: web ? v.pcDevice! : (device ?? v.phoneAt(ms)),
      c,
    });
  }

  /** a phone the victim was talked into using: new to the account */
  private freshDevice(): string {
    return deviceId(this.pop.seedKey, this.pop.nextDevice++);
  }

  /** Most scam amounts are round: the scammer names the sum. */
  private roundish(x: number): number {
    const u = this.rng.next();
    return u < 0.55 ? roundTo(x, x >= 2_000 ? 1_000 : 100) : u < 0.8 ? roundTo(x, 100) : cents(x);
  }

  /**
   * Fake police, bank or platform staff: on a call (usually), urgent (minutes apart), a "safe
   * account" pasted in, large relative to savings, sometimes split just under 50,000;
   * sometimes screen sharing or a phone the caller had the victim set up.
   */
  private impersonation(c: Case, start: number): void {
    const rng = this.rng;
    const n = 1 + rng.weighted(IMPERSONATION_COUNT);
    const call = rng.chance(0.88);
    const remote = rng.chance(0.15);
    const phone = rng.chance(0.03) ? this.freshDevice() : undefined;
    let amount = Math.min(400_000, Math.max(800, rng.logNormal(SAVINGS[c.victim.bucket]!, 0.8)));
    let ms = start;
    let slot = this.newSlot(c);
    let fresh = true;
    for (let i = 0; i < n; i++) {
      if (i > 0) {
        ms += (2 + rng.exponential(12)) * MINUTE_MS;
        amount = Math.min(400_000, amount * rng.range(0.6, 1.6));
        fresh = rng.chance(0.35);
        if (fresh) slot = this.newSlot(c);
      }
      let f = 0;
      if (call && rng.chance(0.95)) f |= F_ON_CALL;
      if (remote) f |= F_REMOTE;
      if (rng.chance(fresh ? 0.7 : 0.25)) f |= F_PASTED;
      if (phone !== undefined && ms < start + DAY_MS) f |= F_NEW_DEVICE;
      const amt = amount >= 50_000 && rng.chance(0.3) ? 49_000 + rng.int(0, 99) * 10 : this.roundish(amount);
      this.add(c, ms, amt, slot, f, 'app', phone);
    }
  }

  /**
   * Investment platforms: a small trial, then larger and larger sums to the same "platform"
   * account over days or weeks (now and then a new account), evenings, rarely on a call.
   */
  private investment(c: Case, day: number): void {
    const rng = this.rng;
    const n = rng.int(3, 10);
    let amount = Math.min(20_000, Math.max(200, rng.logNormal(1_500, 0.7)));
    let slot = this.newSlot(c);
    let fresh = true;
    let d = day;
    for (let i = 0; i < n; i++) {
      if (i > 0) {
        d += Math.max(1, Math.round(rng.exponential(3.5)));
        amount = Math.min(1_000_000, amount * (rng.chance(0.15) ? rng.range(0.6, 1) : rng.range(1.3, 2.6)));
        fresh = rng.chance(0.2);
        if (fresh) slot = this.newSlot(c);
      }
      let f = 0;
      if (rng.chance(0.1)) f |= F_ON_CALL;
      if (rng.chance(0.04)) f |= F_REMOTE;
      if (rng.chance(fresh ? 0.6 : 0.1)) f |= F_PASTED;
      this.add(c, this.at(c.victim, d, TYPOLOGIES.investment.hours), this.roundish(amount), slot, f, rng.chance(0.15) ? 'web' : 'app');
    }
  }

  /**
   * Paid tasks / order brushing: bursts of small payments minutes apart that grow task after
   * task ("combined orders"), to many different new accounts, over one to three sessions.
   */
  private partTimeJob(c: Case, day: number, start: number): void {
    const rng = this.rng;
    const n = rng.int(4, 14);
    let amount = Math.min(500, Math.max(10, rng.logNormal(60, 0.6)));
    let ms = start;
    let d = day;
    let inSession = 0;
    let slot = this.newSlot(c);
    let fresh = true;
    for (let i = 0; i < n; i++) {
      if (i > 0) {
        amount = Math.min(80_000, amount * (rng.chance(0.1) ? rng.range(0.5, 1) : rng.range(1.2, 1.9)));
        if (inSession >= 3 && rng.chance(0.25)) {
          d += rng.int(1, 2);
          ms = this.at(c.victim, d, TYPOLOGIES.part_time_job.hours);
          inSession = 0;
        } else {
          ms += (1 + rng.exponential(10)) * MINUTE_MS;
        }
        fresh = rng.chance(0.45);
        if (fresh) slot = this.newSlot(c);
      }
      inSession++;
      let f = 0;
      if (rng.chance(0.05)) f |= F_ON_CALL;
      if (rng.chance(0.03)) f |= F_REMOTE;
      if (rng.chance(fresh ? 0.8 : 0.3)) f |= F_PASTED;
      this.add(c, ms, rng.chance(0.3) ? roundTo(amount, amount >= 1_000 ? 100 : 10) : cents(amount), slot, f);
    }
  }

  /**
   * Romance: a few payments days apart for tickets, medical bills or customs fees, growing
   * over weeks, mostly late in the evening, often to the "partner's" own account.
   */
  private romance(c: Case, day: number): void {
    const rng = this.rng;
    const n = rng.int(2, 8);
    let slot = this.newSlot(c);
    let fresh = true;
    let d = day;
    for (let i = 0; i < n; i++) {
      if (i > 0) {
        d += Math.max(1, Math.round(rng.exponential(4)));
        fresh = rng.chance(0.25);
        if (fresh) slot = this.newSlot(c);
      }
      const amount = Math.min(300_000, Math.max(200, rng.logNormal(2_000 * Math.pow(1.35, i), 0.6)));
      let f = 0;
      if (rng.chance(0.12)) f |= F_ON_CALL;
      if (rng.chance(0.02)) f |= F_REMOTE;
      if (rng.chance(fresh ? 0.45 : 0.05)) f |= F_PASTED;
      const amt = rng.chance(0.1) ? rng.pick([520, 1_314, 5_200, 13_140]) : roundTo(amount, 100);
      this.add(c, this.at(c.victim, d, TYPOLOGIES.romance.hours), amt, slot, f);
    }
  }

  /**
   * Fake customer service promising a refund: screen sharing (the "agent" guides every tap)
   * while on the call, a few payments minutes apart "to verify" or "to unfreeze".
   */
  private fakeRefund(c: Case, start: number): void {
    const rng = this.rng;
    const n = 1 + rng.weighted(REFUND_COUNT);
    const remote = rng.chance(0.75);
    const call = rng.chance(0.85);
    const phone = rng.chance(0.02) ? this.freshDevice() : undefined;
    let amount = Math.min(100_000, Math.max(200, rng.logNormal(4_000, 0.8)));
    let ms = start;
    let slot = this.newSlot(c);
    let fresh = true;
    for (let i = 0; i < n; i++) {
      if (i > 0) {
        ms += (2 + rng.exponential(8)) * MINUTE_MS;
        amount = Math.min(100_000, amount * rng.range(0.8, 2));
        fresh = rng.chance(0.5);
        if (fresh) slot = this.newSlot(c);
      }
      let f = 0;
      if (call && rng.chance(0.95)) f |= F_ON_CALL;
      if (remote && rng.chance(0.97)) f |= F_REMOTE;
      if (rng.chance(fresh ? 0.65 : 0.3)) f |= F_PASTED;
      if (phone !== undefined && ms < start + DAY_MS) f |= F_NEW_DEVICE;
      this.add(c, ms, this.roundish(amount), slot, f, 'app', phone);
    }
  }

  /**
   * Goods or tickets that never arrive: one payment to a "seller" (a mule or the scammer's
   * own account), sometimes a second and third for "shipping" or a "deposit"; no call.
   */
  private purchase(c: Case, start: number): void {
    const rng = this.rng;
    const n = 1 + rng.weighted(PURCHASE_COUNT);
    const minor = c.victim.band === 'minor';
    const first = minor
      ? rng.chance(0.3)
        ? rng.pick(GAME_PRICES)
        : Math.min(5_000, Math.max(20, rng.logNormal(300, 0.8)))
      : Math.min(20_000, Math.max(30, rng.logNormal(900, 0.9)));
    const slot = this.newSlot(c);
    const channel = rng.chance(0.2) ? 'qr' : 'app';
    let ms = start;
    for (let i = 0; i < n; i++) {
      if (i > 0) ms += 20 * MINUTE_MS + rng.exponential(8 * HOUR_MS);
      let f = 0;
      if (rng.chance(0.03)) f |= F_ON_CALL;
      if (rng.chance(0.01)) f |= F_REMOTE;
      if (rng.chance(i === 0 ? 0.45 : 0.2)) f |= F_PASTED;
      const amount = i === 0 ? first : first * rng.range(0.2, 1);
      this.add(c, ms, rng.chance(0.5) ? roundTo(amount, 10) : cents(amount), slot, f, channel);
    }
  }

  /** Gives the transfer's payee slot an account (at its first use) and emits the transfer. */
  private route(t: Planned): void {
    const c = t.c;
    let payee = c.slotAccount[t.slot] ?? null;
    let mule: Mule | null = null;
    // a frozen mule cannot be paid: the scammer hands the victim a new account
    if (payee instanceof Mule && payee.frozenMs <= t.ms) payee = null;
    if (payee === null) {
      if (c.slotMule[t.slot]) {
        payee = this.network.assign(t.ms, c.reportMs, c.type === 'investment' || c.type === 'romance' ? 'long' : 'fast');
      } else {
        payee = this.scammerAccount(t.ms);
      }
      c.slotAccount[t.slot] = payee;
    }
    if (c.slotMule[t.slot]) mule = payee as Mule;
    if (!this.out.inWindow(t.ms)) return;
    this.out.add(new Pending(t.ms, this.seq.n++, t.amount, t.channel, c.victim, t.device, payee, t.flags, t.memo, c.label));
    if (mule !== null) this.network.receive(mule, t.ms, t.amount);
  }

  /** The scammer's own personal account: young or old, it keeps the money. */
  private scammerAccount(ms: number): Account {
    const rng = this.rng;
    const i = this.scammerCount++;
    const age = rng.chance(0.5) ? rng.range(3, 60) : rng.range(100, 2_000);
    return { id: accountId(this.pop.seedKey, KIND.scammer, i), createdIso: isoSeconds(ms - Math.floor(age * DAY_MS)), name: personName(4e7 + i) };
  }
}

const IMPERSONATION_COUNT = cumulative([0.45, 0.25, 0.15, 0.08, 0.04, 0.03]);
const REFUND_COUNT = cumulative([0.5, 0.3, 0.13, 0.07]);
const PURCHASE_COUNT = cumulative([0.65, 0.25, 0.1]);

const PLACEHOLDER: SimLabel = Object.freeze({ fraud: true, scamType: null, role: 'victim', caseId: null, reportedAt: null, reporter: null });

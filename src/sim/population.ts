/**
 * The simulated population: payers with ages, accounts, devices, time zones, activity levels
 * and habits, the shops and landlords they pay, and the family, friend and neighbourhood ties
 * between them. Built once per run from the `population` stream of the seed.
 */
import type { AgeBand } from '../features/catalogue.ts';
import { Random, cumulative } from './random.ts';
import { DAY_MS, isoSeconds, zoneOffsetMinutes } from './time.ts';
import { KIND, accountId, deviceId, personName, roundTo, shopName, type Account, type PayerSide } from './world.ts';

/** Hour-of-day weights (local time), 0 h to 23 h. */
const HOUR_WEIGHTS = {
  minor: [0.2, 0.1, 0.05, 0.03, 0.03, 0.05, 0.3, 1.2, 1, 0.6, 0.6, 0.9, 1.6, 1.2, 0.8, 0.9, 1.8, 2.4, 2.6, 2.8, 3, 2.6, 1.6, 0.6],
  young: [1.4, 0.9, 0.5, 0.3, 0.15, 0.15, 0.3, 0.9, 1.6, 1.8, 2, 2.6, 3.2, 2.6, 2.2, 2.2, 2.3, 2.6, 3.2, 3.6, 3.8, 3.6, 3, 2.2],
  adult: [0.5, 0.25, 0.12, 0.08, 0.08, 0.2, 0.6, 1.5, 2.2, 2.4, 2.6, 3, 3.4, 2.8, 2.4, 2.4, 2.5, 2.8, 3.4, 3.8, 3.4, 2.8, 1.8, 1],
  elderly: [0.1, 0.05, 0.03, 0.03, 0.15, 0.6, 1.8, 3, 3.6, 3.8, 3.6, 3, 2.4, 1.8, 2, 2.4, 2.4, 2, 1.6, 1.4, 1.1, 0.7, 0.3, 0.15],
  // night-shift workers, delivery riders: awake around the clock
  shift: [1.6, 1.5, 1.4, 1.3, 1.2, 1.2, 1.4, 1.6, 1.4, 1.2, 1.2, 1.6, 2, 1.6, 1.4, 1.4, 1.6, 2, 2.4, 2.4, 2.2, 2, 1.8, 1.7],
} as const;
export type HourProfile = keyof typeof HOUR_WEIGHTS;
export const HOURS: Readonly<Record<HourProfile, Float64Array>> = Object.freeze(
  Object.fromEntries(Object.entries(HOUR_WEIGHTS).map(([k, w]) => [k, cumulative(w)])) as Record<HourProfile, Float64Array>,
);

export interface AgeBucket {
  readonly min: number;
  readonly max: number;
  /** share of the population */
  readonly share: number;
  /** everyday transfers per active day, before the per-payer multiplier */
  readonly rate: number;
  readonly hours: HourProfile;
  readonly band: AgeBand;
  /** chance of living in a zone other than Asia/Shanghai */
  readonly abroad: number;
}

/** Ages of payment users, roughly as in mainland China's mobile-payment population. */
export const AGE_BUCKETS: readonly AgeBucket[] = [
  { min: 12, max: 17, share: 0.06, rate: 0.35, hours: 'minor', band: 'minor', abroad: 0.01 },
  { min: 18, max: 29, share: 0.2, rate: 0.95, hours: 'young', band: 'adult', abroad: 0.07 },
  { min: 30, max: 44, share: 0.27, rate: 0.9, hours: 'adult', band: 'adult', abroad: 0.03 },
  { min: 45, max: 59, share: 0.25, rate: 0.7, hours: 'adult', band: 'adult', abroad: 0.02 },
  { min: 60, max: 74, share: 0.16, rate: 0.45, hours: 'elderly', band: 'elderly', abroad: 0.01 },
  { min: 75, max: 90, share: 0.06, rate: 0.25, hours: 'elderly', band: 'elderly', abroad: 0.005 },
];
const BUCKET_CDF = cumulative(AGE_BUCKETS.map((b) => b.share));

/** Index 0 is home; the others are where students, migrants and relatives abroad live. */
export const PAYER_ZONES = ['Asia/Shanghai', 'Asia/Hong_Kong', 'Asia/Singapore', 'Asia/Tokyo', 'Europe/London', 'America/New_York', 'America/Los_Angeles', 'Australia/Sydney'];
const ABROAD_CDF = cumulative([0, 0.3, 0.15, 0.1, 0.15, 0.15, 0.05, 0.1]);
/** Where mule accounts are operated from: mostly at home, some from scam compounds abroad. */
export const MULE_ZONES = ['Asia/Shanghai', 'Asia/Phnom_Penh', 'Asia/Bangkok', 'Asia/Manila', 'Asia/Yangon'];
export const ZONES: readonly string[] = [...PAYER_ZONES, ...MULE_ZONES.slice(1)];
export const MULE_ZONE_BASE = PAYER_ZONES.length - 1;

const PAYDAYS = [1, 5, 10, 15, 20, 25, 28];
const PAYDAY_CDF = cumulative([0.12, 0.14, 0.24, 0.22, 0.1, 0.1, 0.08]);

/** Local calendar days of the period (day 0 is the start date) in every zone. */
export class Calendar {
  /** days before the period that are tabulated (the tables then run to a week after it) */
  private static readonly FIRST = -3;
  private readonly offsets: Int32Array[];
  private readonly weekdays: Int8Array;
  private readonly doms: Int8Array;
  private readonly dims: Int8Array;

  constructor(
    readonly startMs: number,
    readonly days: number,
  ) {
    const n = days + 10;
    this.offsets = ZONES.map((tz) => {
      const a = new Int32Array(n);
      for (let i = 0; i < n; i++) a[i] = zoneOffsetMinutes(tz, startMs + (i + Calendar.FIRST) * DAY_MS + DAY_MS / 2);
      return a;
    });
    this.weekdays = new Int8Array(n);
    this.doms = new Int8Array(n);
    this.dims = new Int8Array(n);
    for (let i = 0; i < n; i++) {
      const d = new Date(startMs + (i + Calendar.FIRST) * DAY_MS);
      this.weekdays[i] = d.getUTCDay();
      this.doms[i] = d.getUTCDate();
      this.dims[i] = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
    }
  }

  private slot(day: number): number {
    const i = day - Calendar.FIRST;
    if (i < 0 || i >= this.weekdays.length) throw new Error(`simulator bug: day ${day} outside the calendar`);
    return i;
  }

  /** UTC instant of local midnight starting local day `day` in zone `zone` (any day; offsets beyond the tables repeat their ends). */
  localMidnight(zone: number, day: number): number {
    const a = this.offsets[zone]!;
    const i = Math.min(a.length - 1, Math.max(0, day - Calendar.FIRST));
    return this.startMs + day * DAY_MS - a[i]! * 60_000;
  }

  /** 0 = Sunday */
  weekday(day: number): number {
    return this.weekdays[this.slot(day)]!;
  }

  dayOfMonth(day: number): number {
    return this.doms[this.slot(day)]!;
  }

  /** true when `day` is the monthly date `dom` (a date past the month's end falls on its last day) */
  isMonthly(day: number, dom: number): boolean {
    const i = this.slot(day);
    return this.doms[i] === Math.min(dom, this.dims[i]!);
  }
}

export interface Rent {
  readonly landlord: Account;
  readonly amount: number;
  readonly dom: number;
  /** moving home within the period: deposit plus first rent to a new landlord */
  readonly move: { readonly day: number; readonly landlord: Account; readonly amount: number; readonly deposit: number } | null;
}

/** Pocket money (weekly) or a student's allowance (monthly) from a parent. */
export interface Allowance {
  readonly to: Payer;
  readonly amount: number;
  /** weekly on this weekday, or monthly on the payer's payday when null */
  readonly weekday: number | null;
}

export interface Support {
  readonly to: Account;
  readonly amount: number;
  readonly dom: number;
}

export interface Wage {
  readonly to: Account;
  readonly amount: number;
}

/** A neighbourhood group buy: neighbours pay the organiser, who pays the supplier. */
export interface GroupBuy {
  readonly circle: readonly number[];
  readonly weekday: number;
  readonly supplier: Account;
}

export class Payer implements PayerSide, Account {
  friends: number[] = [];
  family: number[] = [];
  rent: Rent | null = null;
  allowances: Allowance[] = [];
  support: Support | null = null;
  wages: Wage[] = [];
  groupBuy: GroupBuy | null = null;
  /** a parent's or child's phone this payer sometimes pays from (one device, several payers) */
  borrowedPhone: string | null = null;

  constructor(
    readonly index: number,
    readonly id: string,
    readonly name: string,
    readonly birthYear: number,
    readonly bucket: number,
    readonly createdMs: number,
    readonly createdIso: string,
    readonly zone: number,
    readonly timeZone: string,
    readonly community: number,
    /** everyday transfers per active day */
    readonly rate: number,
    readonly hours: Float64Array,
    readonly payday: number,
    readonly device: string,
    /** when the payer moves to a new phone (Infinity: not within the period) */
    readonly switchMs: number,
    readonly nextDevice: string,
    /** a PC used on the web channel, or null */
    readonly pcDevice: string | null,
    readonly shops: readonly Merchant[],
  ) {}

  get band(): AgeBand {
    return AGE_BUCKETS[this.bucket]!.band;
  }

  /** the payer's account existed before the period (can be paid by others, can be a victim) */
  established(startMs: number): boolean {
    return this.createdMs < startMs;
  }

  phoneAt(ms: number): string {
    return ms >= this.switchMs ? this.nextDevice : this.device;
  }
}

export class Merchant implements Account {
  constructor(
    readonly id: string,
    readonly name: string,
    readonly createdMs: number,
    readonly createdIso: string,
    /** -1 for chains and online shops everyone uses */
    readonly community: number,
  ) {}
}

export interface Community {
  readonly members: number[];
  readonly shops: Merchant[];
  shopCdf: Float64Array;
  /** shops that open shortly before or during the period: young accounts many new payers pay */
  readonly newShops: Merchant[];
  readonly agencies: Account[];
}

export const COMMUNITY_SIZE = 400;

export interface Population {
  readonly payers: readonly Payer[];
  /** established payers by AGE_BUCKETS index */
  readonly byBucket: readonly (readonly number[])[];
  readonly communities: readonly Community[];
  readonly chains: readonly Merchant[];
  readonly chainCdf: Float64Array;
  readonly seedKey: number;
  /** next free index for extra devices (victims told to use another phone) */
  nextDevice: number;
}

function account(seedKey: number, kind: number, index: number, createdMs: number, name: string): Account {
  return { id: accountId(seedKey, kind, index), createdIso: isoSeconds(createdMs), name };
}

export function buildPopulation(count: number, startMs: number, days: number, seedKey: number, rng: Random): Population {
  const startYear = new Date(startMs).getUTCFullYear();
  const communityCount = Math.ceil(count / COMMUNITY_SIZE);
  const counters = { landlord: communityCount * 2, helper: 0, relative: 0, supplier: 0 };

  // shops: a few chains everyone uses, and local shops per neighbourhood
  const chainCount = Math.max(5, Math.round(count / 2_000));
  const chains: Merchant[] = [];
  for (let i = 0; i < chainCount; i++) {
    const created = startMs - Math.floor(rng.range(400, 4_000) * DAY_MS);
    chains.push(new Merchant(accountId(seedKey, KIND.merchant, i), `${shopName(i)}(连锁)`, created, isoSeconds(created), -1));
  }
  const chainCdf = cumulative(chains.map((_, k) => 1 / Math.pow(k + 1, 1.1)));
  let merchantIndex = chainCount;
  const communities: Community[] = [];
  for (let c = 0; c < communityCount; c++) {
    const size = Math.min(COMMUNITY_SIZE, count - c * COMMUNITY_SIZE);
    const shops: Merchant[] = [];
    const newShops: Merchant[] = [];
    const shopCount = Math.max(3, Math.round(size / 20));
    for (let k = 0; k < shopCount; k++) {
      const opens = rng.chance(0.05);
      const created = opens
        ? startMs + Math.floor(rng.range(-20, Math.max(1, days - 3)) * DAY_MS)
        : startMs - Math.floor(rng.range(60, 3_650) * DAY_MS);
      const m = new Merchant(accountId(seedKey, KIND.merchant, merchantIndex), shopName(merchantIndex), created, isoSeconds(created), c);
      merchantIndex++;
      if (opens) newShops.push(m);
      else shops.push(m);
    }
    const agencies = [0, 1].map((j) =>
      account(seedKey, KIND.landlord, c * 2 + j, startMs - Math.floor(rng.range(500, 3_000) * DAY_MS), `${shopName(c * 2 + j + 7)}房屋租赁`),
    );
    communities.push({ members: [], shops, shopCdf: cumulative(shops.map((_, k) => 1 / Math.pow(k + 1, 0.8))), newShops, agencies });
  }

  const payers: Payer[] = [];
  for (let i = 0; i < count; i++) {
    const bucket = rng.weighted(BUCKET_CDF);
    const b = AGE_BUCKETS[bucket]!;
    const age = rng.int(b.min, b.max);
    const zone = rng.chance(b.abroad) ? rng.weighted(ABROAD_CDF) : 0;
    // accounts opened at 10 at the earliest, at most ~12 years ago; 2% open during the period
    const maxYears = Math.min(12, age - 10);
    const created = rng.chance(0.02)
      ? startMs + Math.floor(rng.range(0, Math.max(0.5, days - 1)) * DAY_MS)
      : startMs - Math.floor((20 + Math.sqrt(rng.next()) * maxYears * 365) * DAY_MS);
    const hours: HourProfile = b.band === 'adult' && rng.chance(0.06) ? 'shift' : b.hours;
    const community = Math.floor(i / COMMUNITY_SIZE);
    const com = communities[community]!;
    const shops = [0, 1, 2].map(() => com.shops[rng.weighted(com.shopCdf)]!);
    const switches = rng.chance(Math.min(0.5, (0.06 * days) / 30));
    payers.push(
      new Payer(
        i,
        accountId(seedKey, KIND.payer, i),
        personName(i),
        startYear - age,
        bucket,
        created,
        isoSeconds(created),
        zone,
        PAYER_ZONES[zone]!,
        community,
        (b.rate * rng.logNormal(1, 0.8)) / Math.exp(0.32),
        HOURS[hours],
        PAYDAYS[rng.weighted(PAYDAY_CDF)]!,
        deviceId(seedKey, i * 3),
        switches ? startMs + Math.floor(rng.range(0, days) * DAY_MS) : Infinity,
        deviceId(seedKey, i * 3 + 1),
        rng.chance(0.1) ? deviceId(seedKey, i * 3 + 2) : null,
        shops,
      ),
    );
  }

  // established payers by neighbourhood and age bucket: who can be a friend, relative, neighbour
  const byBucket: number[][] = AGE_BUCKETS.map(() => []);
  const local: number[][][] = communities.map(() => AGE_BUCKETS.map(() => []));
  for (const p of payers) {
    if (!p.established(startMs)) continue;
    byBucket[p.bucket]!.push(p.index);
    local[p.community]![p.bucket]!.push(p.index);
    communities[p.community]!.members.push(p.index);
  }
  /** an established payer of one of `buckets`, from the same neighbourhood when there is one */
  const relativeOf = (p: Payer, buckets: readonly number[]): Payer | null => {
    const near = local[p.community]!;
    const useNear = buckets.some((bk) => near[bk]!.length > 0) && rng.chance(0.8);
    const lists = useNear ? near : byBucket;
    const candidates = buckets.filter((bk) => lists[bk]!.length > 0);
    if (candidates.length === 0) return null;
    const pick = payers[rng.pick(lists[rng.pick(candidates)]!)]!;
    return pick.index === p.index ? null : pick;
  };
  /** family ties both ways; a payer whose account opens during the period is paid only by habit, never before it exists */
  const link = (a: Payer, b: Payer): void => {
    if (b.established(startMs)) a.family.push(b.index);
    if (a.established(startMs)) b.family.push(a.index);
  };

  for (const p of payers) {
    const members = communities[p.community]!.members;
    const friendCount = rng.int(2, 12);
    for (let k = 0; k < friendCount; k++) {
      const pool = rng.chance(0.9) && members.length > 1 ? members : byBucket[p.bucket]!;
      if (pool.length === 0) continue;
      const f = rng.pick(pool);
      if (f !== p.index && !p.friends.includes(f)) p.friends.push(f);
    }
    const age = startYear - p.birthYear;
    const adult = p.band === 'adult';
    if (p.band === 'minor' && p.established(startMs)) {
      const parent = relativeOf(p, [2, 3]);
      if (parent !== null) {
        parent.allowances.push({ to: p, amount: roundTo(rng.logNormal(120, 0.5), 10), weekday: rng.int(0, 6) });
        link(parent, p);
        if (rng.chance(0.25)) p.borrowedPhone = parent.device;
      }
    }
    if (age <= 24 && adult && p.established(startMs) && rng.chance(0.4)) {
      const parent = relativeOf(p, [3]);
      if (parent !== null) {
        parent.allowances.push({ to: p, amount: roundTo(rng.logNormal(p.zone === 0 ? 2_000 : 9_000, 0.4), 100), weekday: null });
        link(parent, p);
      }
    }
    if (adult && age >= 25 && rng.chance(0.45)) {
      const parent = rng.chance(0.7) ? relativeOf(p, [4, 5]) : null;
      if (parent !== null) {
        link(p, parent);
        if (rng.chance(0.1)) parent.borrowedPhone = p.device;
      }
      const to = parent ?? account(seedKey, KIND.relative, counters.relative++, startMs - Math.floor(rng.range(300, 3_000) * DAY_MS), personName(1e6 + counters.relative));
      p.support = { to, amount: roundTo(rng.logNormal(1_200, 0.6), 100), dom: Math.min(28, p.payday + rng.int(0, 2)) };
    }
    const renterShare = age < 30 ? 0.55 : age < 45 ? 0.35 : age < 60 ? 0.12 : 0.03;
    if (p.band !== 'minor' && rng.chance(renterShare)) {
      const com = communities[p.community]!;
      const landlord = rng.chance(0.25)
        ? rng.pick(com.agencies)
        : account(seedKey, KIND.landlord, counters.landlord++, startMs - Math.floor(rng.range(200, 4_000) * DAY_MS), personName(2e6 + counters.landlord));
      const amount = Math.max(600, roundTo(rng.logNormal(2_600, 0.45), 100));
      let move: Rent['move'] = null;
      if (rng.chance(0.06)) {
        const next = roundTo(amount * rng.range(0.8, 1.4), 100);
        // a sublet "second landlord" often has a young account
        const created = rng.chance(0.2) ? startMs - Math.floor(rng.range(5, 90) * DAY_MS) : startMs - Math.floor(rng.range(200, 4_000) * DAY_MS);
        move = {
          day: rng.int(0, days - 1),
          landlord: account(seedKey, KIND.landlord, counters.landlord++, created, personName(2e6 + counters.landlord)),
          amount: next,
          deposit: roundTo(next * rng.range(1, 2), 100),
        };
      }
      p.rent = { landlord, amount, dom: Math.min(28, p.payday + rng.int(0, 3)), move };
    }
    if ((adult && age >= 35 && rng.chance(0.03)) || (p.band === 'elderly' && rng.chance(0.05))) {
      const helper = account(seedKey, KIND.helper, counters.helper++, startMs - Math.floor(rng.range(100, 3_000) * DAY_MS), personName(3e6 + counters.helper));
      p.wages.push({ to: helper, amount: roundTo(rng.logNormal(5_500, 0.25), 100) });
    }
    if (adult && age >= 30 && rng.chance(0.015)) {
      // a small employer paying a few neighbours' wages
      const staff = rng.int(2, 6);
      for (let k = 0; k < staff; k++) {
        const w = relativeOf(p, [1, 2, 3]);
        if (w !== null) p.wages.push({ to: w, amount: roundTo(rng.logNormal(6_000, 0.3), 100) });
      }
    }
    if (((adult && age >= 30) || p.band === 'elderly') && p.established(startMs) && rng.chance(p.band === 'elderly' ? 0.01 : 0.02) && members.length > 10) {
      const size = rng.int(20, 50);
      const circle: number[] = [];
      for (let k = 0; k < size; k++) {
        const m = rng.pick(members);
        if (m !== p.index && !circle.includes(m)) circle.push(m);
      }
      const supplier = account(seedKey, KIND.supplier, counters.supplier++, startMs - Math.floor(rng.range(200, 3_000) * DAY_MS), `${shopName(5e6 + counters.supplier)}批发`);
      p.groupBuy = { circle, weekday: rng.int(0, 6), supplier };
    }
  }
  return { payers, byBucket, communities, chains, chainCdf, seedKey, nextDevice: count * 3 };
}

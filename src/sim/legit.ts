/**
 * Legitimate transfers, one local day at a time: everyday payments (shops, friends, family,
 * one-off payees), the monthly and weekly habits (rent after payday, support for parents,
 * pocket money, wages, neighbourhood group buys) and the rare large one-offs (renovation,
 * deposits, tuition, medical bills, gifts).
 *
 * Legitimate traffic deliberately carries every signal scams carry, at realistic rates, so no
 * single flag separates them: calls while paying (family on the phone), screen sharing
 * (children helping elderly parents), pasted and never-paid payees, young payee accounts
 * (new shops, sublets, second-hand sellers), fan-in from many first-time payers (a new shop,
 * a group-buy organiser), money passed on within hours (the organiser paying the supplier),
 * large round amounts to new payees (deposits, renovation), night-time payments (shift work).
 */
import type { Calendar, Merchant, Payer, Population } from './population.ts';
import type { Random } from './random.ts';
import { DAY_MS, HOUR_MS, type IsoClock } from './time.ts';
import {
  F_NEW_DEVICE,
  F_ON_CALL,
  F_PASTED,
  F_REMOTE,
  KIND,
  LEGIT_LABEL,
  Pending,
  accountId,
  cents,
  personName,
  roundTo,
  shopName,
  type Account,
  type DayBuckets,
} from './world.ts';

/** Lucky amounts of red packets (红包). */
const LUCKY = [6.66, 8.88, 16.8, 18.88, 66, 66.6, 88, 88.8, 168, 188, 200, 520];
/** Prices of game top-ups. */
const GAME_PRICES = [6, 30, 68, 128, 198, 328, 648];

const MEMO = {
  friend: ['AA', '饭钱', '车费', '电影票', '奶茶'],
  loan: ['借款', '还款', '先借你的'],
  family: ['生活费', '零花钱', '给妈的', '买点好吃的'],
  oneOff: ['货款', '定金', '运费', '二手', '维修费', '代购'],
} as const;

/** Share of everyday transfers by kind, per AGE_BUCKETS index: shop, friend, family (rest: one-off payee). */
const EVERYDAY_MIX: readonly (readonly [number, number, number])[] = [
  [0.6, 0.22, 0.08],
  [0.58, 0.28, 0.04],
  [0.62, 0.2, 0.07],
  [0.62, 0.2, 0.07],
  [0.62, 0.14, 0.14],
  [0.62, 0.14, 0.14],
];
/** Daily chance of a large one-off payment, by age band. */
const BIG_ONE_OFF = { minor: 0.0003, adult: 0.0025, elderly: 0.003 } as const;
const ON_CALL = { minor: 0.01, adult: 0.03, elderly: 0.06 } as const;
const REMOTE = { minor: 0.0003, adult: 0.0005, elderly: 0.003 } as const;
/**
 * Everyday payments repeated to the same payee minutes later (issue 19): a forgotten item or a
 * second round at the same shop, a bill paid in parts, several red packets or game top-ups in a
 * row. Each everyday payment is followed by 1-3 more (mean 1.4) with this chance, 1-20 minutes
 * apart, most of the same amount. Scams repeat payments minutes apart too; without this, a
 * repeat minutes apart would be a scam signal no legitimate payer ever shows.
 */
const REPEAT_SOON = { chance: 0.05, meanExtra: 1.4 } as const;
/** New shops get their opening-weeks custom from the neighbourhood. */
const NEW_SHOP_WEEKS_MS = 28 * DAY_MS;

export class LegitGenerator {
  private oneOffIndex = 0;

  constructor(
    private readonly pop: Population,
    private readonly cal: Calendar,
    private readonly clock: IsoClock,
    private readonly out: DayBuckets,
    private readonly rng: Random,
    private readonly seq: { n: number },
    /** its own stream, so the repeats do not shift the draws of everything else */
    private readonly repeatRng: Random,
  ) {}

  /** Everyday transfers per day: the payer's rate, more at weekends and just after payday. */
  private lambda(p: Payer, weekday: number, dom: number): number {
    let f = 1;
    if (weekday === 0 || weekday === 6) f = p.bucket === 0 ? 1.4 : 1.15;
    if (p.bucket > 0 && dom >= p.payday && dom <= p.payday + 3) f *= 1.2;
    return p.rate * f;
  }

  private active(p: Payer, day: number): boolean {
    return p.createdMs <= this.cal.localMidnight(p.zone, day);
  }

  /** Expected number of legitimate transfers over local days [0, days) (for the fraud-rate target). */
  expectedEvents(): number {
    let total = 0;
    for (let d = 0; d < this.cal.days; d++) {
      const weekday = this.cal.weekday(d);
      const dom = this.cal.dayOfMonth(d);
      for (const p of this.pop.payers) {
        if (!this.active(p, d)) continue;
        total += this.lambda(p, weekday, dom) * (1 + REPEAT_SOON.chance * REPEAT_SOON.meanExtra) + BIG_ONE_OFF[p.band] + this.habitsDue(p, d, weekday);
      }
    }
    return total;
  }

  /** Expected habit transfers of `p` on `day`; `day` below mirrors it exactly. */
  private habitsDue(p: Payer, day: number, weekday: number): number {
    let n = 0;
    const r = p.rent;
    if (r !== null) {
      if (r.move !== null && r.move.day === day) n++;
      if (this.cal.isMonthly(day, r.dom)) n++;
    }
    for (const a of p.allowances) if (a.weekday === null ? this.cal.isMonthly(day, p.payday) : a.weekday === weekday) n++;
    if (p.support !== null && this.cal.isMonthly(day, p.support.dom)) n++;
    if (p.wages.length > 0 && this.cal.isMonthly(day, p.payday)) n += p.wages.length;
    const g = p.groupBuy;
    if (g !== null && g.weekday === weekday && g.circle.length >= 6) n += (6 + Math.min(18, g.circle.length)) / 2 + 1;
    return n;
  }

  /** Generates local day `day` of every payer (its transfers may land on neighbouring UTC days). */
  day(day: number): void {
    const weekday = this.cal.weekday(day);
    const dom = this.cal.dayOfMonth(day);
    const rng = this.rng;
    for (const p of this.pop.payers) {
      if (!this.active(p, day)) continue;
      const n = rng.poisson(this.lambda(p, weekday, dom));
      for (let k = 0; k < n; k++) this.everyday(p, day);
      if (rng.chance(BIG_ONE_OFF[p.band])) this.bigOneOff(p, day);
      this.habits(p, day, weekday);
    }
  }

  private at(p: Payer, day: number): number {
    return this.cal.localMidnight(p.zone, day) + this.rng.weighted(p.hours) * HOUR_MS + Math.floor(this.rng.next() * 3600) * 1000;
  }

  private emit(p: Payer, ms: number, amount: number, channel: string, payee: Account, flags: number, memo: string | undefined): void {
    if (!this.out.inWindow(ms)) return;
    const web = channel === 'web' && p.pcDevice !== null;
    const ch = channel === 'web' && !web ? 'app' : channel;
    const device = web ? p.pcDevice! : p.borrowedPhone !== null && this.rng.chance(0.3) ? p.borrowedPhone : p.phoneAt(ms);
    // the backend calls a device new during its first day with the account
    if (!web && ms >= p.switchMs && ms < p.switchMs + DAY_MS) flags |= F_NEW_DEVICE;
    this.out.add(new Pending(ms, this.seq.n++, amount, ch, p, device, payee, flags, memo, LEGIT_LABEL));
  }

  /** An everyday payment, sometimes repeated to the same payee minutes later (REPEAT_SOON). */
  private emitEveryday(p: Payer, ms: number, amount: number, channel: string, payee: Account, flags: number, memo: string | undefined): void {
    this.emit(p, ms, amount, channel, payee, flags, memo);
    const rng = this.repeatRng;
    if (!rng.chance(REPEAT_SOON.chance)) return;
    const u = rng.next();
    const extra = u < 0.7 ? 1 : u < 0.9 ? 2 : 3;
    let t = ms;
    for (let k = 0; k < extra; k++) {
      t += Math.floor(rng.range(60, 1_200)) * 1000;
      const again = rng.chance(0.6) ? amount : Math.max(1, cents(amount * rng.range(0.3, 1.5)));
      this.emit(p, t, again, channel, payee, flags & ~F_PASTED, memo);
    }
  }

  /** a call and (rarely) screen sharing, at the payer's base rates times `callBoost` */
  private sessionFlags(p: Payer, callBoost: number, remoteBoost = 1): number {
    let f = 0;
    if (this.rng.chance(ON_CALL[p.band] * callBoost)) f |= F_ON_CALL;
    if (this.rng.chance(REMOTE[p.band] * remoteBoost)) {
      f |= F_REMOTE;
      if (this.rng.chance(0.7)) f |= F_ON_CALL; // someone on the phone is helping
    }
    return f;
  }

  private memo(p: number, pool: readonly string[]): string | undefined {
    return this.rng.chance(p) ? this.rng.pick(pool) : undefined;
  }

  private appOrWeb(p: Payer): string {
    return p.pcDevice !== null && this.rng.chance(0.25) ? 'web' : 'app';
  }

  private everyday(p: Payer, day: number): void {
    const rng = this.rng;
    const [shop, friend, family] = EVERYDAY_MIX[p.bucket]!;
    const u = rng.next();
    if (u < shop) this.shop(p, day);
    else if (u < shop + friend && p.friends.length > 0) this.friend(p, day);
    else if (u < shop + friend + family && p.family.length > 0) this.family(p, day);
    else if (u < shop + friend + family) this.shop(p, day);
    else this.oneOff(p, day);
  }

  private shop(p: Payer, day: number): void {
    const rng = this.rng;
    const ms = this.at(p, day);
    const com = this.pop.communities[p.community]!;
    let m: Merchant;
    const u = rng.next();
    const fresh = com.newShops.length > 0 ? rng.pick(com.newShops) : null;
    if (fresh !== null && u < 0.07 && fresh.createdMs <= ms && ms < fresh.createdMs + NEW_SHOP_WEEKS_MS) m = fresh;
    else if (u < 0.65) m = rng.pick(p.shops);
    else if (u < 0.9) m = com.shops[rng.weighted(com.shopCdf)]!;
    else m = this.pop.chains[rng.weighted(this.pop.chainCdf)]!;
    const chain = m.community < 0;
    const amount = Math.max(1, cents(chain ? rng.logNormal(80, 1) : rng.logNormal(38, 0.9)));
    const channel = chain ? (rng.chance(0.5) ? 'qr' : this.appOrWeb(p)) : rng.chance(0.8) ? 'qr' : 'app';
    let flags = this.sessionFlags(p, 0.7);
    if (channel !== 'qr' && rng.chance(0.02)) flags |= F_PASTED;
    this.emitEveryday(p, ms, amount, channel, m, flags, undefined);
  }

  private friend(p: Payer, day: number): void {
    const rng = this.rng;
    const ms = this.at(p, day);
    const f = this.pop.payers[rng.pick(p.friends)]!;
    const u = rng.next();
    let amount: number;
    let flags: number;
    let memo: string | undefined;
    if (u < 0.1) {
      amount = rng.pick(LUCKY);
      flags = this.sessionFlags(p, 2);
      memo = this.memo(0.3, ['红包', '生日快乐']);
    } else if (u < 0.15) {
      amount = roundTo(rng.logNormal(3_000, 0.8), 100);
      flags = this.sessionFlags(p, 6);
      memo = this.memo(0.35, MEMO.loan);
    } else {
      amount = Math.max(1, cents(rng.logNormal(80, 0.7)));
      flags = this.sessionFlags(p, 2);
      memo = this.memo(0.25, MEMO.friend);
    }
    if (rng.chance(0.02)) flags |= F_PASTED;
    this.emitEveryday(p, ms, amount, this.appOrWeb(p), f, flags, memo);
  }

  private family(p: Payer, day: number): void {
    const rng = this.rng;
    const ms = this.at(p, day);
    const f = this.pop.payers[rng.pick(p.family)]!;
    const amount = rng.chance(0.35) ? rng.pick(LUCKY) : roundTo(rng.logNormal(300, 0.9), 10);
    const flags = this.sessionFlags(p, p.band === 'elderly' ? 3.5 : 4, 6);
    this.emitEveryday(p, ms, amount, 'app', f, flags, this.memo(0.2, MEMO.family));
  }

  /** A payee never paid before and never paid again: a second-hand seller, a plumber, a tutor. */
  private freshPayee(ms: number, shopLike: boolean): Account {
    const rng = this.rng;
    const i = this.oneOffIndex++;
    const u = rng.next();
    const ageDays = u < 0.05 ? rng.range(0.2, 7) : u < 0.2 ? rng.range(7, 90) : rng.range(90, 3_000);
    return {
      id: accountId(this.pop.seedKey, KIND.oneOff, i),
      createdIso: this.clock.iso(ms - Math.floor(ageDays * DAY_MS)),
      name: shopLike ? shopName(1e7 + i) : personName(1e7 + i),
    };
  }

  private oneOff(p: Payer, day: number): void {
    const rng = this.rng;
    const ms = this.at(p, day);
    const amount =
      p.band === 'minor'
        ? rng.chance(0.4)
          ? rng.pick(GAME_PRICES)
          : Math.max(1, cents(rng.logNormal(120, 0.9)))
        : Math.max(1, cents(rng.logNormal(250, 1.1)));
    let flags = this.sessionFlags(p, 1.5);
    if (rng.chance(0.35)) flags |= F_PASTED;
    this.emitEveryday(p, ms, amount, rng.chance(0.7) ? 'app' : 'qr', this.freshPayee(ms, rng.chance(0.3)), flags, this.memo(0.15, MEMO.oneOff));
  }

  private bigOneOff(p: Payer, day: number): void {
    const rng = this.rng;
    const ms = this.at(p, day);
    const u = rng.next();
    if (p.band === 'minor') {
      this.emit(p, ms, 648, 'app', this.freshPayee(ms, false), rng.chance(0.4) ? F_PASTED : 0, undefined);
      return;
    }
    const known = p.family.length > 0 ? this.pop.payers[rng.pick(p.family)]! : p.friends.length > 0 ? this.pop.payers[rng.pick(p.friends)]! : null;
    if (p.band === 'elderly') {
      if (u < 0.35) {
        // hospital bill, often with a child on the phone or sharing the screen to help
        const f = this.sessionFlags(p, 3.5, 15) | (rng.chance(0.3) ? F_PASTED : 0);
        this.emit(p, ms, cents(rng.logNormal(8_000, 0.8)), 'app', this.freshPayee(ms, true), f, this.memo(0.4, ['医药费', '住院押金']));
      } else if (u < 0.75 && known !== null) {
        this.emit(p, ms, roundTo(rng.logNormal(20_000, 0.8), 1_000), 'app', known, this.sessionFlags(p, 5, 10), this.memo(0.4, ['给孙子的', '买房首付', '生活费']));
      } else {
        // health products sold by telephone: legitimate, and close to a scam in every signal
        const f = this.sessionFlags(p, 4) | (rng.chance(0.3) ? F_PASTED : 0);
        this.emit(p, ms, cents(rng.logNormal(5_000, 0.7)), 'app', this.freshPayee(ms, rng.chance(0.5)), f, this.memo(0.2, ['保健品', '货款']));
      }
      return;
    }
    if (u < 0.25) {
      const f = this.sessionFlags(p, 2) | (rng.chance(0.5) ? F_PASTED : 0);
      this.emit(p, ms, roundTo(rng.logNormal(25_000, 0.6), 100), this.appOrWeb(p), this.freshPayee(ms, rng.chance(0.4)), f, this.memo(0.4, ['装修款', '工程款']));
    } else if (u < 0.45) {
      const f = this.sessionFlags(p, 2) | (rng.chance(0.4) ? F_PASTED : 0);
      this.emit(p, ms, roundTo(rng.logNormal(15_000, 0.7), 1_000), this.appOrWeb(p), this.freshPayee(ms, rng.chance(0.5)), f, this.memo(0.5, ['定金', '订金', '首付']));
    } else if (u < 0.75 && known !== null) {
      this.emit(p, ms, roundTo(rng.logNormal(3_000, 0.7), 100), 'app', known, this.sessionFlags(p, 3), this.memo(0.5, ['礼金', '份子钱', '新婚快乐']));
    } else if (u < 0.9) {
      this.emit(p, ms, roundTo(rng.logNormal(9_000, 0.6), 100), this.appOrWeb(p), this.freshPayee(ms, true), this.sessionFlags(p, 1), this.memo(0.5, ['学费', '培训费']));
    } else {
      const m = this.pop.chains[rng.weighted(this.pop.chainCdf)]!;
      this.emit(p, ms, cents(rng.logNormal(12_000, 0.7)), this.appOrWeb(p), m, this.sessionFlags(p, 1), undefined);
    }
  }

  private habits(p: Payer, day: number, weekday: number): void {
    const rng = this.rng;
    const r = p.rent;
    if (r !== null) {
      const moved = r.move !== null && day >= r.move.day;
      if (r.move !== null && r.move.day === day) {
        const f = this.sessionFlags(p, 3) | (rng.chance(0.5) ? F_PASTED : 0);
        this.emit(p, this.at(p, day), r.move.amount + r.move.deposit, this.appOrWeb(p), r.move.landlord, f, this.memo(0.5, ['押金+房租', '押一付一']));
      }
      if (this.cal.isMonthly(day, r.dom)) {
        const landlord = moved ? r.move!.landlord : r.landlord;
        const amount = moved ? r.move!.amount : r.amount;
        this.emit(p, this.at(p, day), amount, this.appOrWeb(p), landlord, this.sessionFlags(p, 1), this.memo(0.5, ['房租', `${this.cal.dayOfMonth(day) > 20 ? '下月' : '本月'}房租`]));
      }
    }
    for (const a of p.allowances) {
      if (a.weekday === null ? this.cal.isMonthly(day, p.payday) : a.weekday === weekday) {
        const amount = roundTo(a.amount * rng.range(0.8, 1.25), a.weekday === null ? 100 : 10);
        this.emit(p, this.at(p, day), amount, 'app', a.to, this.sessionFlags(p, 4), this.memo(0.4, MEMO.family));
      }
    }
    const s = p.support;
    if (s !== null && this.cal.isMonthly(day, s.dom)) {
      this.emit(p, this.at(p, day), s.amount, 'app', s.to, this.sessionFlags(p, 8), this.memo(0.4, MEMO.family));
    }
    if (p.wages.length > 0 && this.cal.isMonthly(day, p.payday)) {
      for (const w of p.wages) this.emit(p, this.at(p, day), w.amount, this.appOrWeb(p), w.to, 0, this.memo(0.6, ['工资', `${this.cal.dayOfMonth(day)}号工资`]));
    }
    const g = p.groupBuy;
    if (g !== null && g.weekday === weekday && g.circle.length >= 6) this.groupBuy(p, day, g.circle, g.supplier);
  }

  /**
   * Neighbours pay the organiser within hours (fan-in, partly from first-time payers), and
   * the organiser pays the supplier the total the same day or the next (money passed on).
   */
  private groupBuy(o: Payer, day: number, circle: readonly number[], supplier: Account): void {
    const rng = this.rng;
    const start = this.cal.localMidnight(o.zone, day) + rng.int(9, 19) * HOUR_MS + rng.int(0, 59) * 60_000;
    const k = rng.int(6, Math.min(18, circle.length));
    const price = rng.logNormal(40, 0.5);
    let total = 0;
    let last = start;
    const chosen = new Set<number>();
    while (chosen.size < k) chosen.add(rng.pick(circle));
    for (const i of chosen) {
      const q = this.pop.payers[i]!;
      const ms = start + Math.floor(rng.range(60, 6 * 3600)) * 1000;
      const amount = cents(price * rng.int(1, 3));
      total += amount;
      last = Math.max(last, ms);
      this.emit(q, ms, amount, 'app', o, this.sessionFlags(q, 1) | (rng.chance(0.1) ? F_PASTED : 0), this.memo(0.4, ['团购', '接龙']));
    }
    const payout = last + Math.floor(rng.range(3_600, 20 * 3_600)) * 1000;
    this.emit(o, payout, cents(total * rng.range(0.97, 1)), this.appOrWeb(o), supplier, 0, this.memo(0.3, ['货款']));
  }
}

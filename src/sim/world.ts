/**
 * The simulator's shared vocabulary: accounts and their opaque ids, display names, the
 * pending-event buffer that puts transfers in time order, and the one function that turns a
 * simulated transfer into a TransferEvent.
 */
import type { TransferEvent } from '../features/transfer-event.ts';
import { mix32 } from './random.ts';
import { DAY_MS, type IsoClock } from './time.ts';
import type { SimLabel } from './types.ts';

/** Anything that can be paid: its id, creation time (undefined: not known to the backend) and name. */
export interface Account {
  readonly id: string;
  readonly createdIso: string | undefined;
  readonly name: string;
}

/** What the payer half of an event needs. */
export interface PayerSide {
  readonly id: string;
  readonly birthYear: number;
  readonly createdIso: string;
  readonly timeZone: string;
}

/**
 * Account kinds, only to keep ids of different kinds apart. Ids never show the kind: a model
 * that could read "mule" off an id prefix would learn nothing real.
 */
export const KIND = {
  payer: 1,
  merchant: 2,
  landlord: 3,
  helper: 4,
  oneOff: 5,
  relative: 6,
  mule: 7,
  collector: 8,
  scammer: 9,
  supplier: 10,
  device: 11,
  muleDevice: 12,
} as const;

const INDEX_LIMIT = 1 << 26;

/** Opaque, unique per (kind, index) within a run: a bijection of both, keyed by the seed. */
export function opaqueId(prefix: 'ac' | 'dv', seedKey: number, kind: number, index: number): string {
  if (index < 0 || index >= INDEX_LIMIT) throw new Error(`simulator id index out of range: ${index}`);
  return `${prefix}${mix32(((kind << 26) | index) ^ seedKey).toString(16).padStart(8, '0')}`;
}

export function accountId(seedKey: number, kind: number, index: number): string {
  return opaqueId('ac', seedKey, kind, index);
}

export function deviceId(seedKey: number, index: number, mule = false): string {
  return opaqueId('dv', seedKey, mule ? KIND.muleDevice : KIND.device, index);
}

const SURNAMES = '王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹';
const GIVEN = '伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂华玲红鹏飞斌宇浩婷雪琳晨';

/** A masked personal name as a payment app shows a payee ("王*华"). */
export function personName(n: number): string {
  const h = mix32(n ^ 0x5bd1e995);
  return `${SURNAMES[h % SURNAMES.length]}*${GIVEN[(h >>> 8) % GIVEN.length]}`;
}

const SHOP_KINDS = ['便利店', '水果店', '超市', '早餐店', '面馆', '奶茶店', '药店', '生鲜摊', '理发店', '洗衣店', '五金店', '花店', '烘焙店', '快餐店', '书店', '菜馆'];

export function shopName(n: number): string {
  const h = mix32(n ^ 0x27d4eb2f);
  return `${SURNAMES[h % SURNAMES.length]}记${SHOP_KINDS[(h >>> 8) % SHOP_KINDS.length]}`;
}

/** Transfer flags, packed into one number to keep the generators allocation-free. */
export const F_NEW_DEVICE = 1;
export const F_ON_CALL = 2;
export const F_REMOTE = 4;
export const F_PASTED = 8;

/** Legitimate transfers share one frozen label. */
export const LEGIT_LABEL: SimLabel = Object.freeze({
  fraud: false,
  scamType: null,
  role: null,
  caseId: null,
  reportedAt: null,
  reporter: null,
});

/**
 * A transfer waiting for its turn, kept compact (one object, shared account references): a
 * day of them is buffered, and the event objects are built only when it is emitted.
 */
export class Pending {
  constructor(
    readonly ms: number,
    readonly seq: number,
    readonly amount: number,
    readonly channel: string,
    readonly payer: PayerSide,
    readonly device: string,
    readonly payee: Account,
    readonly flags: number,
    readonly memo: string | undefined,
    public label: SimLabel,
  ) {}

  toEvent(clock: IsoClock, transferId: string): TransferEvent {
    const e = makeEvent(clock, this.ms, this.amount, this.channel, this.payer, this.device, this.payee, this.flags, this.memo);
    e.transferId = transferId;
    return e;
  }
}

/**
 * Builds the event. `web` transfers carry no call or remote-access signal (a browser cannot
 * see them): missing, not false.
 */
export function makeEvent(
  clock: IsoClock,
  ms: number,
  amount: number,
  channel: string,
  payer: PayerSide,
  device: string,
  payee: Account,
  flags: number,
  memo: string | undefined,
): TransferEvent {
  const payeePart: TransferEvent['payee'] =
    payee.createdIso === undefined
      ? { accountId: payee.id, name: payee.name }
      : { accountId: payee.id, accountCreatedAt: payee.createdIso, name: payee.name };
  const context: NonNullable<TransferEvent['context']> =
    channel === 'web'
      ? { newDevice: (flags & F_NEW_DEVICE) !== 0, payeePasted: (flags & F_PASTED) !== 0 }
      : {
          newDevice: (flags & F_NEW_DEVICE) !== 0,
          onCall: (flags & F_ON_CALL) !== 0,
          remoteAccess: (flags & F_REMOTE) !== 0,
          payeePasted: (flags & F_PASTED) !== 0,
        };
  if (memo !== undefined) context.memo = memo;
  return {
    transferId: '',
    occurredAt: clock.iso(ms),
    amount,
    currency: 'CNY',
    channel,
    payer: {
      accountId: payer.id,
      birthYear: payer.birthYear,
      accountCreatedAt: payer.createdIso,
      deviceId: device,
      timeZone: payer.timeZone,
    },
    payee: payeePart,
    context,
  };
}

/**
 * Pending transfers by UTC day of the period. Generators add transfers in any order, as long
 * as nothing is added to a day that was already taken; `take` returns a day in time order
 * (ties broken by creation order, so the output is deterministic).
 */
export class DayBuckets {
  private readonly days: (Pending[] | undefined)[];
  readonly endMs: number;
  private taken = -1;

  constructor(
    readonly startMs: number,
    dayCount: number,
  ) {
    this.days = new Array<Pending[] | undefined>(dayCount);
    this.endMs = startMs + dayCount * DAY_MS;
  }

  inWindow(ms: number): boolean {
    return ms >= this.startMs && ms < this.endMs;
  }

  /** Adds a transfer of the period (callers check `inWindow` first, before building the event). */
  add(p: Pending): void {
    const day = Math.floor((p.ms - this.startMs) / DAY_MS);
    if (day <= this.taken) throw new Error(`simulator bug: transfer added to day ${day} after it was emitted`);
    const list = this.days[day];
    if (list === undefined) this.days[day] = [p];
    else list.push(p);
  }

  take(day: number): Pending[] {
    const list = this.days[day] ?? [];
    this.days[day] = undefined;
    this.taken = day;
    list.sort((a, b) => a.ms - b.ms || a.seq - b.seq);
    return list;
  }
}

export function cents(x: number): number {
  return Math.round(x * 100) / 100;
}

/** Rounds to a multiple of `step` (at least one step). */
export function roundTo(x: number, step: number): number {
  return Math.max(step, Math.round(x / step) * step);
}

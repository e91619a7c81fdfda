/**
 * Shared helpers for the simulator tests: one pass over a run that keeps, per record, only
 * what the assertions need (a run of 150,000 full records would hold far more memory), plus
 * the history-derived quantities the engine computes (new payee, fan-in of first-time payers).
 */
import { ageBand } from '../../src/features/build-vector.ts';
import type { AgeBand } from '../../src/features/catalogue.ts';
import { simulate, type SimLabel, type SimOptions } from '../../src/sim/index.ts';

const DAY_MS = 86_400_000;

export interface Row {
  readonly id: string;
  readonly ms: number;
  readonly amount: number;
  readonly channel: string | undefined;
  readonly payer: string;
  readonly payee: string;
  readonly device: string | undefined;
  readonly timeZone: string | undefined;
  readonly age: number;
  readonly band: AgeBand;
  /** payee account age in days at the transfer; null when unknown */
  readonly payeeAgeDays: number | null;
  readonly payerAgeDays: number | null;
  readonly onCall: boolean | undefined;
  readonly remote: boolean | undefined;
  readonly pasted: boolean | undefined;
  readonly newDevice: boolean | undefined;
  /** this payer never paid this payee before in the run */
  readonly firstSeen: boolean;
  /** distinct payers who first paid this payee within the 24 h before (engine: payee.new_payers_24h) */
  readonly payeeNewPayers24h: number;
  readonly label: SimLabel;
}

export function collect(options: Partial<SimOptions>): Row[] {
  const rows: Row[] = [];
  const pairs = new Set<string>();
  const firstPaid = new Map<string, { ms: number; payer: string }[]>();
  // the typologies' signals are checked on every field the simulator knows; which fields a
  // backend leaves out is sim-field-coverage.test.ts's subject
  for (const { event: e, label } of simulate({ optionalFields: 'all', ...options })) {
    const ms = Date.parse(e.occurredAt);
    const key = `${e.payer.accountId}>${e.payee.accountId}`;
    const firstSeen = !pairs.has(key);
    pairs.add(key);
    let list = firstPaid.get(e.payee.accountId);
    if (list === undefined) {
      list = [];
      firstPaid.set(e.payee.accountId, list);
    }
    while (list.length > 0 && list[0]!.ms <= ms - DAY_MS) list.shift();
    const newPayers = new Set(list.map((x) => x.payer)).size;
    if (firstSeen) list.push({ ms, payer: e.payer.accountId });
    const age = new Date(ms).getUTCFullYear() - e.payer.birthYear!;
    rows.push({
      id: e.transferId,
      ms,
      amount: e.amount,
      channel: e.channel,
      payer: e.payer.accountId,
      payee: e.payee.accountId,
      device: e.payer.deviceId,
      timeZone: e.payer.timeZone,
      age,
      band: ageBand(age)!,
      payeeAgeDays: e.payee.accountCreatedAt === undefined ? null : (ms - Date.parse(e.payee.accountCreatedAt)) / DAY_MS,
      payerAgeDays: e.payer.accountCreatedAt === undefined ? null : (ms - Date.parse(e.payer.accountCreatedAt)) / DAY_MS,
      onCall: e.context?.onCall,
      remote: e.context?.remoteAccess,
      pasted: e.context?.payeePasted,
      newDevice: e.context?.newDevice,
      firstSeen,
      payeeNewPayers24h: newPayers,
      label,
    });
  }
  return rows;
}

export function share<T>(xs: readonly T[], pred: (x: T) => boolean): number {
  if (xs.length === 0) throw new Error('share of an empty list');
  return xs.filter(pred).length / xs.length;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('median of an empty list');
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export function groupBy<T, K>(xs: readonly T[], key: (x: T) => K): Map<K, T[]> {
  const m = new Map<K, T[]>();
  for (const x of xs) {
    const k = key(x);
    const g = m.get(k);
    if (g === undefined) m.set(k, [x]);
    else g.push(x);
  }
  return m;
}

const hourFormats = new Map<string, Intl.DateTimeFormat>();

export function localHour(ms: number, timeZone: string): number {
  let f = hourFormats.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, hour: 'numeric', hourCycle: 'h23' });
    hourFormats.set(timeZone, f);
  }
  return Number(f.format(ms)) % 24;
}

import type { SimLabel, SimRecord } from './types.ts';

/**
 * One JSONL line for a simulated record, equal to `JSON.stringify(record)` (a unit test holds
 * it to that on every record of a run) at a fraction of the cost: labels are shared by the
 * transfers of a case and serialised once, free-text strings (names, memos) come from small
 * sets and are escaped once. Ids and timestamps are the simulator's own (hex, digits, `-:TZ`)
 * and need no escaping. Only for records from `simulate()`.
 */
export function simRecordJson(r: SimRecord): string {
  const e = r.event;
  const p = e.payer;
  const q = e.payee;
  const c = e.context;
  let s = `{"event":{"transferId":"${e.transferId}","occurredAt":"${e.occurredAt}","amount":${e.amount},"currency":"${e.currency}"`;
  if (e.channel !== undefined) s += `,"channel":"${e.channel}"`;
  s += `,"payer":{"accountId":"${p.accountId}"`;
  if (p.birthYear !== undefined) s += `,"birthYear":${p.birthYear}`;
  if (p.accountCreatedAt !== undefined) s += `,"accountCreatedAt":"${p.accountCreatedAt}"`;
  if (p.deviceId !== undefined) s += `,"deviceId":"${p.deviceId}"`;
  if (p.timeZone !== undefined) s += `,"timeZone":"${p.timeZone}"`;
  s += `},"payee":{"accountId":"${q.accountId}"`;
  if (q.accountCreatedAt !== undefined) s += `,"accountCreatedAt":"${q.accountCreatedAt}"`;
  if (q.name !== undefined) s += `,"name":${text(q.name)}`;
  s += '}';
  if (c !== undefined) {
    s += `,"context":{"newDevice":${c.newDevice}`;
    if (c.onCall !== undefined) s += `,"onCall":${c.onCall}`;
    if (c.remoteAccess !== undefined) s += `,"remoteAccess":${c.remoteAccess}`;
    s += `,"payeePasted":${c.payeePasted}`;
    if (c.memo !== undefined) s += `,"memo":${text(c.memo)}`;
    s += '}';
  }
  return `${s}},"label":${label(r.label)}}`;
}

const texts = new Map<string, string>();

function text(s: string): string {
  let j = texts.get(s);
  if (j === undefined) {
    j = JSON.stringify(s);
    if (texts.size < 100_000) texts.set(s, j);
  }
  return j;
}

const labels = new WeakMap<SimLabel, string>();

function label(l: SimLabel): string {
  let j = labels.get(l);
  if (j === undefined) {
    j = JSON.stringify(l);
    labels.set(l, j);
  }
  return j;
}

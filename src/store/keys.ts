import { readFileSync } from 'node:fs';

/**
 * Every Redis key and Lua script of calmpay, in one place (STYLE: BullMQ's habit).
 *
 * Keys carry a hash tag per entity — `{a:<account>}`, `{d:<device>}`, `{t:<transfer>}` — so
 * Redis Cluster places all state of one entity in one slot. Everything is under a
 * configurable prefix (REDIS_KEY_PREFIX, default `cp:`) so tests and tenants can share a server.
 * Every key has a TTL except the bounded decision stream and guardian limits (kept until a
 * guardian removes them).
 */
export interface Keys {
  readonly prefix: string;
  /** idempotency claim of a transfer: the hash of the event first scored under its id */
  tx(transferId: string): string;
  /** the decision first given for a transfer (same slot as its claim) */
  txDecision(transferId: string): string;
  /** velocity windows of amounts an account sent (also: time of its last transfer) */
  accountOut(accountId: string): string;
  /** velocity windows of amounts an account received */
  accountIn(accountId: string): string;
  /** payees an account paid in the last 24h */
  accountPayees(accountId: string): string;
  /** payers into an account in the last 24h (fan-in) */
  accountPayers(accountId: string): string;
  /** payers who paid an account for the first time in the last 24h */
  accountNewPayers(accountId: string): string;
  /** devices an account has used, with first-seen time */
  accountDevices(accountId: string): string;
  /** scam-report flags of an account as a payee (case library) */
  accountReports(accountId: string): string;
  /** guardian limits of an account and its spend per local day (no TTL: set and removed by a guardian) */
  accountGuardian(accountId: string): string;
  /** first time and count of payer -> payee transfers (in the payer's slot) */
  pair(payerId: string, payeeId: string): string;
  /** payers seen on a device in the last 24h */
  devicePayers(deviceId: string): string;
  /** the bounded decision stream (DESIGN §4 step 6) */
  decisionStream(): string;
}

export function makeKeys(prefix: string): Keys {
  const a = (id: string): string => `${prefix}{a:${id}}`;
  return Object.freeze({
    prefix,
    tx: (id: string) => `${prefix}{t:${id}}`,
    txDecision: (id: string) => `${prefix}{t:${id}}:d`,
    accountOut: (id: string) => `${a(id)}:out`,
    accountIn: (id: string) => `${a(id)}:in`,
    accountPayees: (id: string) => `${a(id)}:payees`,
    accountPayers: (id: string) => `${a(id)}:payers`,
    accountNewPayers: (id: string) => `${a(id)}:newpayers`,
    accountDevices: (id: string) => `${a(id)}:devices`,
    accountReports: (id: string) => `${a(id)}:reports`,
    accountGuardian: (id: string) => `${a(id)}:guardian`,
    pair: (payer: string, payee: string) => `${a(payer)}:pair:${payee}`,
    devicePayers: (id: string) => `${prefix}{d:${id}}:payers`,
    decisionStream: () => `${prefix}{decisions}`,
  });
}

function lua(name: string): string {
  return readFileSync(new URL(`./lua/${name}.lua`, import.meta.url), 'utf8');
}

/** Lua scripts, one file per atomic operation; each file's header lists KEYS, ARGV and returns. */
export const SCRIPTS = {
  scoreFeatures: { lua: lua('score-features'), numberOfKeys: 13 },
} as const;

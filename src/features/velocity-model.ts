import { decodeVelocityReply, toStoredAmount, type VelocityState } from './velocity-state.ts';
import { RecentMembers, WindowHash } from './velocity-windows.ts';
import type { ReportToApply } from '../cases/report-flags.ts';
import { compareReportTimes, DEFAULT_REPORT_HALF_LIFE_HOURS, halfLifeMs, REPORT_TIMES_CAP, reportAgeInts, type ReportTime } from './report-age.ts';

/**
 * Pure: the velocity state of src/store/lua/score-features.lua without Redis. Fed the same
 * transfers in the same order, `score()` answers what the script answers (decoded the same
 * way) and keeps what the script keeps: the window hashes, the 24h distinct sets, the payer ->
 * payee pairs, the payers' devices; `applyReport()` is report-flags.lua's part (the payee flags
 * and report times the script reads; report-age.lua's counts are report-age.ts). Checked against the scripts on random streams with a real Redis
 * (test/integration/velocity-windows-lua.test.ts); used to replay history for training and
 * evaluation without Redis (src/features/window-replay.ts).
 *
 * Not modelled, because no replay meets them: the idempotency claim (a replay refuses a
 * transferId seen twice before scoring it), guardian limits (none are set in a replay: the
 * reply says "no limits"), key TTLs (Redis expires keys on its own clock, which a replay
 * outruns; see docs/velocity-windows.md for why live TTLs agree with the windows) and the
 * fold of the pre-November-2026 hash layout.
 */

const DAY_MS = 86_400_000;

/** A transfer as the script sees it. */
export interface ModelTransfer {
  readonly tMs: number;
  /** major units (stored as thousandths, as the caller of the script rounds them) */
  readonly amount: number;
  readonly payerId: string;
  readonly payeeId: string;
  readonly deviceId: string | null;
}

interface Pair {
  firstMs: number;
  count: number;
}

interface Reports {
  readonly cases: Set<string>;
  readonly reporters: Set<string>;
  lastMs: number;
  /** report-flags.lua's report times: the newest (up to the cap), in the sorted set's order */
  readonly times: ReportTime[];
}

/** Everything kept under one account's hash tag, created as the script creates keys. */
export interface ModelAccount {
  out?: WindowHash;
  in?: WindowHash;
  /** payees paid (payer side) */
  payees?: RecentMembers;
  /** payers paying in (payee side) */
  payers?: RecentMembers;
  newPayers?: RecentMembers;
  /** devices used as a payer (the script keeps first-seen times, which nothing reads) */
  devices?: Set<string>;
  /** by payee */
  pairs?: Map<string, Pair>;
  reports?: Reports;
}

const NO_WINDOWS = new WindowHash();

export class VelocityModel {
  private readonly distinctCap: number;
  private readonly reportHalfLifeMs: number;
  private readonly reportTimesCap: number;
  private readonly accounts = new Map<string, ModelAccount>();
  private readonly devicePayers = new Map<string, RecentMembers>();

  /**
   * `distinctCap`: DISTINCT_CAP, the most members a 24h distinct set counts;
   * `reportHalfLifeHours`: REPORT_HALF_LIFE_HOURS, the half-life of a report's weight;
   * `reportTimesCap`: the report times kept per payee (report-flags.lua's cap)
   */
  constructor(distinctCap: number, reportHalfLifeHours: number = DEFAULT_REPORT_HALF_LIFE_HOURS, reportTimesCap: number = REPORT_TIMES_CAP) {
    this.distinctCap = distinctCap;
    this.reportHalfLifeMs = halfLifeMs(reportHalfLifeHours);
    this.reportTimesCap = reportTimesCap;
  }

  /** The state before the transfer, as the script's reply decodes; records the transfer. */
  score(x: ModelTransfer): VelocityState {
    return decodeVelocityReply(this.scoreReply(x));
  }

  /** The script's reply after its status: 33 integers, the guardian limits' currency (''), the 4 integers of the aged reports. */
  scoreReply(x: ModelTransfer): (number | string)[] {
    const { tMs, payerId, payeeId, deviceId } = x;
    const amount = toStoredAmount(x.amount);
    const since = tMs - DAY_MS;
    const cap = this.distinctCap;
    const payer = this.account(payerId);
    const out: (number | string)[] = [];

    payer.out ??= new WindowHash();
    const sent = payer.out.add(tMs, amount);
    pushWindows(out, sent);
    out.push(payer.out.last ?? -1);
    payer.out.recordLast(tMs);
    payer.payees ??= new RecentMembers();
    out.push(payer.payees.countThenAdd(payeeId, tMs, since, cap, sent.movedDay));

    payer.pairs ??= new Map();
    const pair = payer.pairs.get(payeeId);
    if (pair === undefined) {
      payer.pairs.set(payeeId, { firstMs: tMs, count: 1 });
      out.push(0, -1);
    } else {
      out.push(pair.count, pair.firstMs);
      pair.count += 1;
      if (tMs < pair.firstMs) pair.firstMs = tMs;
    }

    if (deviceId !== null) {
      payer.devices ??= new Set();
      const isNew = !payer.devices.has(deviceId);
      payer.devices.add(deviceId);
      out.push(isNew ? 1 : 0);
      let set = this.devicePayers.get(deviceId);
      if (set === undefined) {
        set = new RecentMembers();
        this.devicePayers.set(deviceId, set);
      }
      out.push(set.countThenAdd(payerId, tMs, since, cap, true));
    } else {
      out.push(-1, -1);
    }

    const payee = this.account(payeeId);
    payee.in ??= new WindowHash();
    const received = payee.in.add(tMs, amount);
    pushWindows(out, received);
    out.push(...(payee.out ?? NO_WINDOWS).readSums(tMs));
    payee.payers ??= new RecentMembers();
    out.push(payee.payers.countThenAdd(payerId, tMs, since, cap, received.movedDay));
    payee.newPayers ??= new RecentMembers();
    const newPair = pair === undefined;
    out.push(payee.newPayers.countThenAdd(newPair ? payerId : null, tMs, since, cap, received.movedDay || newPair));

    const r = payee.reports;
    out.push(r?.cases.size ?? 0, r?.reporters.size ?? 0, r?.lastMs ?? -1);
    // guardian limits: none
    out.push(0, 0, -1, -1, '');
    // report-age.lua
    out.push(...(r === undefined ? [0, 0, 0, 0] : reportAgeInts(r.times, tMs, this.reportHalfLifeMs)));
    return out;
  }

  /**
   * report-flags.lua: counts the report against its payee once per case id; returns whether
   * it was new. Reporters are counted distinct by key (Redis holds a 132-bit digest of it).
   */
  applyReport(r: ReportToApply): boolean {
    const payee = this.account(r.payeeId);
    const rep = (payee.reports ??= { cases: new Set(), reporters: new Set(), lastMs: r.reportedAtMs, times: [] });
    if (rep.cases.has(r.caseId)) return false;
    rep.cases.add(r.caseId);
    rep.reporters.add(r.reporterKey);
    if (r.reportedAtMs > rep.lastMs) rep.lastMs = r.reportedAtMs;
    // ZADD, then ZREMRANGEBYRANK of the oldest beyond the cap
    const t: ReportTime = { caseId: r.caseId, atMs: r.reportedAtMs };
    let i = rep.times.length;
    while (i > 0 && compareReportTimes(rep.times[i - 1]!, t) > 0) i -= 1;
    rep.times.splice(i, 0, t);
    if (rep.times.length > this.reportTimesCap) rep.times.splice(0, rep.times.length - this.reportTimesCap);
    return true;
  }

  /** What the model keeps for one account (for checks against Redis, key by key). */
  inspectAccount(id: string): Readonly<ModelAccount> | undefined {
    return this.accounts.get(id);
  }

  /** The payers seen on a device (the script's device set). */
  inspectDevice(id: string): RecentMembers | undefined {
    return this.devicePayers.get(id);
  }

  private account(id: string): ModelAccount {
    let a = this.accounts.get(id);
    if (a === undefined) {
      a = {};
      this.accounts.set(id, a);
    }
    return a;
  }
}

function pushWindows(out: (number | string)[], w: { readonly counts: readonly number[]; readonly sums: readonly number[] }): void {
  for (let k = 0; k < w.counts.length; k++) out.push(w.counts[k]!, w.sums[k]!);
}

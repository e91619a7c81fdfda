import { mulberry32 } from '../../src/sim/random.ts';
import { PAYSIM_COLUMNS, PAYSIM_TYPES, type FlagDay, type PaySimType } from '../../src/replay/paysim-row.ts';

/**
 * A small seeded file in PaySim's shape (issue 16; no real PaySim file is in ../shared/data):
 * customers paying merchants (PAYMENT), cashing in and out at their usual agent (CASH_IN,
 * CASH_OUT), paying banks (DEBIT) and their usual contacts (TRANSFER), with a few legitimate
 * business transfers above 200,000; and PaySim's fraud: a taken-over customer account emptied
 * by a TRANSFER to a mule account (a few new mules a day, each used by several victims), which
 * the mule cashes out (CASH_OUT of the same amount) in the same step. isFlaggedFraud is PaySim's
 * rule: a TRANSFER above 200,000. Balances move with the amounts (never below 0); merchants'
 * are 0, as in PaySim.
 */

export interface PaySimFileOptions {
  readonly seed: number;
  readonly days: number;
  /** legitimate rows per hour, on average (default 12) */
  readonly rowsPerStep?: number;
  /** chance of a fraud case (a TRANSFER and its CASH_OUT) per hour (default 0.25) */
  readonly fraudPerStep?: number;
}

export interface PaySimFile {
  readonly text: string;
  readonly rows: number;
  readonly byType: Record<PaySimType, { rows: number; frauds: number; flagged: number }>;
  /** TRANSFER and CASH_OUT rows per day index from 0 (step 1..24 = day 0) */
  readonly transferDays: FlagDay[];
}

const CUSTOMERS = 400;
const AGENTS = 15;
const MERCHANTS = 60;
const BANKS = 5;
const MULES_PER_DAY = 2;

export function paysimCsv(o: PaySimFileOptions): PaySimFile {
  const rand = mulberry32(o.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const logNormal = (median: number, sigma: number): number => {
    // Box-Muller
    const u = Math.max(rand(), 1e-12);
    const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
    return median * Math.exp(sigma * z);
  };
  const customer = (k: number): string => `C${1_000_000 + k}`;
  const agents = Array.from({ length: AGENTS }, (_, k) => `C${9_000_000 + k}`);
  const banks = Array.from({ length: BANKS }, (_, k) => `C${8_000_000 + k}`);
  const merchants = Array.from({ length: MERCHANTS }, (_, k) => `M${5_000_000 + k}`);
  const balance = new Map<string, number>();
  const people = Array.from({ length: CUSTOMERS }, (_, k) => {
    const id = customer(k);
    // most accounts hold tens of thousands, some hundreds of thousands
    balance.set(id, rand() < 0.15 ? 200_000 + rand() * 800_000 : 5_000 + rand() * 75_000);
    return {
      id,
      contacts: Array.from({ length: 3 }, () => customer(Math.floor(rand() * CUSTOMERS))).filter((c) => c !== id),
      agent: pick(agents),
    };
  });
  for (const a of [...agents, ...banks]) balance.set(a, 5_000_000);

  const lines: string[] = [PAYSIM_COLUMNS.join(',')];
  const byType = Object.fromEntries(PAYSIM_TYPES.map((t) => [t, { rows: 0, frauds: 0, flagged: 0 }])) as PaySimFile['byType'];
  const transferDays: FlagDay[] = Array.from({ length: o.days }, () => ({ transfers: 0, frauds: 0, flagged: 0, flaggedFrauds: 0 }));
  const money = (x: number): string => x.toFixed(2);
  const add = (step: number, type: PaySimType, amount: number, orig: string, dest: string, fraud: boolean): void => {
    amount = Math.round(amount * 100) / 100;
    const merchant = dest.startsWith('M');
    const oldOrig = balance.get(orig) ?? 0;
    const oldDest = merchant ? 0 : (balance.get(dest) ?? 0);
    // CASH_IN brings money into nameOrig from the agent nameDest; the others send it from nameOrig
    const sign = type === 'CASH_IN' ? 1 : -1;
    const newOrig = Math.max(0, oldOrig + sign * amount);
    const newDest = merchant ? 0 : Math.max(0, oldDest - sign * amount);
    balance.set(orig, newOrig);
    if (!merchant) balance.set(dest, newDest);
    const flagged = type === 'TRANSFER' && amount > 200_000;
    lines.push([step, type, money(amount), orig, money(oldOrig), money(newOrig), dest, money(oldDest), money(newDest), fraud ? 1 : 0, flagged ? 1 : 0].join(','));
    const t = byType[type];
    t.rows += 1;
    if (fraud) t.frauds += 1;
    if (flagged) t.flagged += 1;
    if (type === 'TRANSFER' || type === 'CASH_OUT') {
      const d = transferDays[Math.floor((step - 1) / 24)]!;
      d.transfers += 1;
      if (fraud) d.frauds += 1;
      if (flagged) d.flagged += 1;
      if (fraud && flagged) d.flaggedFrauds += 1;
    }
  };

  const rowsPerStep = o.rowsPerStep ?? 12;
  const fraudPerStep = o.fraudPerStep ?? 0.25;
  let mules: string[] = [];
  let nextMule = 7_000_000;
  for (let step = 1; step <= o.days * 24; step++) {
    const hour = (step - 1) % 24;
    if (hour === 0) mules = Array.from({ length: MULES_PER_DAY }, () => `C${nextMule++}`);
    // fewer rows at night
    const n = Math.round(rowsPerStep * (hour < 6 ? 0.3 : 1.2) * (0.7 + rand() * 0.6));
    for (let k = 0; k < n; k++) {
      const p = pick(people);
      const r = rand();
      if (r < 0.35) add(step, 'PAYMENT', logNormal(120, 0.8), p.id, pick(merchants), false);
      else if (r < 0.6) add(step, 'CASH_OUT', logNormal(1_500, 0.7), p.id, p.agent, false);
      else if (r < 0.8) add(step, 'CASH_IN', logNormal(2_000, 0.7), p.id, p.agent, false);
      else if (r < 0.88) add(step, 'DEBIT', logNormal(800, 0.6), p.id, pick(banks), false);
      else {
        // a business payment now and then: above PaySim's 200,000 flag
        const amount = rand() < 0.04 ? 200_000 + rand() * 300_000 : logNormal(3_000, 0.9);
        add(step, 'TRANSFER', amount, p.id, pick(p.contacts.length > 0 ? p.contacts : [customer(0)]), false);
      }
    }
    if (rand() < fraudPerStep) {
      const victim = pick(people);
      const mule = pick(mules);
      const amount = Math.max(balance.get(victim.id) ?? 0, 1_000);
      add(step, 'TRANSFER', amount, victim.id, mule, true);
      add(step, 'CASH_OUT', amount, mule, pick(agents), true);
    }
  }
  return { text: `${lines.join('\n')}\n`, rows: lines.length - 1, byType, transferDays };
}

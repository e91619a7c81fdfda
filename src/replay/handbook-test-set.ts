/**
 * The Fraud Detection Handbook's test set (issue 20): Le Borgne et al., *Reproducible Machine
 * Learning for Credit Card Fraud Detection — Practical Handbook*, ch. 3 "Baseline fraud detection
 * system" (`get_train_test_set` of its shared functions). Its published baselines are measured on
 * this set, not on every test row: customers already known to be compromised on a test day are
 * left out of that day, because a real system would have blocked their card by then.
 *
 * Known compromised on test day T: a customer with a fraudulent transaction on a day D from the
 * first training day on, whose label is known by T. A fraud's label arrives `delayDays` after it
 * (the feedback delay), on day D + delayDays, and counts from the next day on: D + delayDays < T.
 * With the handbook's 7 training days, 7-day delay and 7 test days from day s, that is every
 * fraud of the training week on the first test day (s + 14), and one more day of the delay
 * period on each later test day (day s + 7 + k on test day s + 15 + k), as the handbook adds
 * `start + delta_train + day - 1` for test day `start + delta_train + delta_delay + day`.
 *
 * Days are UTC day indices (ms / 86 400 000, floored), the handbook's TX_TIME_DAYS up to an offset.
 */

export interface FraudDay {
  /** the handbook's customer (the replay's payer) */
  readonly payer: string;
  /** UTC day index of the fraudulent transaction */
  readonly day: number;
}

export interface KnownCompromisedWindow {
  /** first training day: frauds before it are not looked at (as in the handbook) */
  readonly firstDay: number;
  /** the feedback delay in days (--label-delay-days) */
  readonly delayDays: number;
}

/**
 * The payers known compromised on each of `testDays`, from the frauds given (any order; those
 * before `firstDay` or whose label arrives on or after the test day are not counted).
 */
export function knownCompromised(frauds: Iterable<FraudDay>, w: KnownCompromisedWindow, testDays: readonly number[]): Map<number, ReadonlySet<string>> {
  if (!Number.isInteger(w.delayDays) || w.delayDays < 0) throw new Error(`the label delay must be a non-negative integer, got ${w.delayDays}`);
  // the first fraud day of each payer decides: known from firstFraud + delay + 1 on
  const first = new Map<string, number>();
  for (const f of frauds) {
    if (f.day < w.firstDay) continue;
    const seen = first.get(f.payer);
    if (seen === undefined || f.day < seen) first.set(f.payer, f.day);
  }
  const out = new Map<number, ReadonlySet<string>>();
  for (const t of testDays) {
    const known = new Set<string>();
    for (const [payer, d] of first) if (d + w.delayDays < t) known.add(payer);
    out.set(t, known);
  }
  return out;
}

/** Which test rows stay in the handbook's test set: those whose payer is not known compromised on the row's day. */
export function handbookTestRows(payers: readonly string[], days: ArrayLike<number>, known: ReadonlyMap<number, ReadonlySet<string>>): boolean[] {
  return payers.map((p, i) => !(known.get(days[i]!)?.has(p) ?? false));
}

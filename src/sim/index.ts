/**
 * The scam simulator (issue 3): labelled transfer events for training and testing, since no
 * real scam data ships with calmpay. Seeded: the same options give the same records, byte
 * for byte. `simulate()` yields records in time order, one UTC day buffered at a time.
 *
 * Population (population.ts, legit.ts)
 * - Payers aged 12-90 (6% minors, 22% elderly), accounts opened up to 12 years ago (2% open
 *   during the period), about 3% abroad (students and migrants: London, New York, Sydney,
 *   Hong Kong, ...); an hour-of-day profile by age (minors after school, the elderly in the
 *   morning, 6% of adults on night shifts); a phone (6% a month move to a new one, flagged
 *   `newDevice` for a day), some a PC on the web channel, some minors and elderly now and then
 *   a parent's or child's phone.
 * - Everyday transfers at a log-normal per-payer rate, more at weekends and after payday:
 *   neighbourhood shops (new shops draw many first-time payers to a days-old account),
 *   chains, friends (splitting bills, red packets, loans), family, one-off payees (second-hand
 *   sellers, repairs, game top-ups; some with days-old accounts).
 * - Habits: salary is a payday that times rent (to a landlord or an agency, 6% move home and pay
 *   a deposit to a new landlord), support for elderly parents, pocket money for minors,
 *   allowances for students, wages for helpers and staff; neighbourhood group buys (fan-in
 *   from neighbours, passed on to a supplier within hours); rare large payments (renovation,
 *   deposits, tuition, hospital bills, gifts to family, health products sold by phone).
 * - Everyday payments repeated to the same payee minutes later (5%: a second item, a bill paid
 *   in parts, several red packets or top-ups in a row).
 * - Calls while paying (family), screen sharing (children helping elderly parents), pasted
 *   payees: all present in legitimate traffic at realistic rates.
 *
 * Scam typologies (scams.ts), each case one victim with a shared caseId; cases are reported
 * 60-85% of the time, hours to weeks after the last transfer, by the victim, family, bank or
 * police depending on the victim's age band:
 * - impersonation (police/bank staff): victims skew elderly; on a call (~85%), new pasted
 *   "safe account", large against savings, 1-6 transfers minutes apart, some just under
 *   50,000, sometimes screen sharing or a new phone; daytime.
 * - investment: middle-aged victims; a small trial then escalating amounts to the same new
 *   payee every few days for weeks; evenings; seldom on a call.
 * - part_time_job (paid tasks, order brushing): young adults and minors; bursts of small
 *   payments minutes apart that grow task after task, to many distinct new payees.
 * - romance: middle-aged and elderly; a few growing payments days apart, late evening,
 *   often to the "partner's" own account (no mule behind it).
 * - fake_refund (fake customer service): screen sharing (~75%) during a call, new payees,
 *   a few payments minutes apart.
 * - purchase: minors and young adults; one payment (sometimes a second "shipping" fee) to a
 *   seller account, no call: the typology that looks most like normal one-off purchases.
 * - mule (mules.ts): young accounts (or rented older ones), several run from one shared device,
 *   some operated from abroad, paid by victims of many cases within days (fan-in of first-time
 *   payers) and passing most of it on within minutes to hours to a second layer or to
 *   collectors; frozen once a victim's report is traced to them (an ongoing story is handed a
 *   new account); long cons (investment, romance) keep accounts of their own for weeks. Onward
 *   transfers are labelled `mule`, role `mule`, one case per mule account.
 * Fraud transfers (victim and mule) are about `fraudRate` of all transfers.
 *
 * Optional fields (field-coverage.ts): by default each event leaves out the optional fields its
 * payer's backend would not send (no session signals, a minimal API integration, unknown
 * account dates of external payees), keyed by account and independent of the label.
 */
import { FieldCoverage } from './field-coverage.ts';
import { resolveSimOptions } from './options.ts';
import { Calendar, buildPopulation } from './population.ts';
import { LegitGenerator } from './legit.ts';
import { MuleNetwork } from './mules.ts';
import { Random, deriveSeed } from './random.ts';
import { FraudPlanner } from './scams.ts';
import { IsoClock, parseStartDate } from './time.ts';
import type { SimOptions, SimRecord } from './types.ts';
import { DayBuckets } from './world.ts';

export { DEFAULT_SIM_OPTIONS, REPORTERS, SIM_TYPOLOGIES } from './types.ts';
export type { Reporter, SimLabel, SimOptions, SimRecord, SimRole, SimTypology } from './types.ts';
export { SIM_LIMITS, resolveSimOptions, type SimOptionProblem, type SimOptionsResult } from './options.ts';
export { SimStats, type BandSummary, type SimSummary, type TypologySummary } from './stats.ts';
export { SIM_USAGE, parseSimArgs, type SimArgs } from './args.ts';
export { simRecordJson } from './jsonl.ts';
export { FIELD_COVERAGE, FieldCoverage, OPTIONAL_FIELDS, type OptionalFields } from './field-coverage.ts';

/**
 * Simulated transfers with their labels, in `occurredAt` order, over `days` days from `start`.
 * Throws a RangeError naming every invalid option. Each record's objects are fresh except
 * the labels, which are frozen and shared by the transfers of one case.
 */
export function* simulate(options: Partial<SimOptions> = {}): Generator<SimRecord, void, undefined> {
  const resolved = resolveSimOptions(options);
  if (!resolved.ok) {
    throw new RangeError(`invalid simulator options: ${resolved.problems.map((p) => `${p.option} ${p.message}`).join('; ')}`);
  }
  const o = resolved.options;
  const startMs = parseStartDate(o.start)!;
  const seedKey = deriveSeed(o.seed, 'ids');
  const pop = buildPopulation(o.payers, startMs, o.days, seedKey, new Random(deriveSeed(o.seed, 'population')));
  const cal = new Calendar(startMs, o.days);
  const clock = new IsoClock();
  const out = new DayBuckets(startMs, o.days);
  const seq = { n: 0 };
  const legit = new LegitGenerator(pop, cal, clock, out, new Random(deriveSeed(o.seed, 'legit')), seq, new Random(deriveSeed(o.seed, 'legit-repeats')));
  if (o.fraudRate > 0) {
    const target = (o.fraudRate / (1 - o.fraudRate)) * legit.expectedEvents();
    const startYear = new Date(startMs).getUTCFullYear();
    const network = new MuleNetwork(new Random(deriveSeed(o.seed, 'mules')), out, seq, seedKey, startYear, `mc${o.seed}-`);
    new FraudPlanner(pop, cal, out, new Random(deriveSeed(o.seed, 'scams')), seq, o.seed, network).plan(target);
  }
  const coverage = o.optionalFields === 'partial' ? new FieldCoverage(o.seed) : null;
  let n = 0;
  // local day d of a payer ends at most ~14 h into UTC day d + 1 and starts no earlier than
  // UTC day d - 1: UTC day d is complete once local day d + 1 is generated
  for (let day = -1; day <= o.days; day++) {
    legit.day(day);
    if (day < 1) continue;
    for (const p of out.take(day - 1)) {
      const event = p.toEvent(clock, `t${o.seed}-${n++}`);
      yield { event: coverage === null ? event : coverage.apply(event), label: p.label };
    }
  }
}

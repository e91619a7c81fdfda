/**
 * `npx tsx bench/score-validation.ts`: is the score route's fast path in front of
 * TransferEventSchema still worth keeping (issue 18)? The same seeded valid events
 * (transfer-gen.ts, retail mix, JSON round-tripped as the route receives them) are validated
 * by the fast path (acceptTransferEvent) and by zod alone (TransferEventSchema.safeParse with
 * the routes' messages), interleaved in the same run: fast, zod, fast, zod, ...
 * Every event must be accepted by both with the same output, else the run exits 1.
 *
 * Prints µs per event for each (median and fastest of the rounds) and the ratio zod / fast,
 * also as the median of the rounds' own ratios (each round pairs a fast and a zod pass taken
 * back to back, so it holds up better on a shared, busy machine).
 * Env: BENCH_VALIDATION_N (20000 events), BENCH_VALIDATION_ROUNDS (9).
 */
import { performance } from 'node:perf_hooks';
import { acceptTransferEvent, TransferEventSchema } from '../src/features/transfer-event.ts';
import { PARSE_MESSAGES } from '../src/http/validation.ts';
import { mulberry32, transferGenerator } from './transfer-gen.ts';

const n = Number(process.env.BENCH_VALIDATION_N ?? 20_000);
const rounds = Number(process.env.BENCH_VALIDATION_ROUNDS ?? 9);

const rand = mulberry32(11);
const next = transferGenerator({ seed: 7, payers: 5_000, payees: 20_000, runId: 'bv', mix: 'retail' });
const events: unknown[] = Array.from({ length: n }, () => {
  const e = next();
  // a third of the events carry the optional fields a backend may add
  if (rand() < 0.33) Object.assign(e, { language: 'zh-CN', payee: { ...(e.payee as object), name: 'Li Wei' } });
  return JSON.parse(JSON.stringify(e)) as unknown;
});

for (const e of events) {
  const fast = acceptTransferEvent(e);
  const zod = TransferEventSchema.safeParse(e, PARSE_MESSAGES);
  if (fast === undefined || !zod.success || JSON.stringify(fast) !== JSON.stringify(zod.data)) {
    console.error('the fast path and zod disagree on', JSON.stringify(e));
    process.exit(1);
  }
}

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

let sink = 0;
function fastPass(): number {
  const t = performance.now();
  for (const e of events) sink += acceptTransferEvent(e) === undefined ? 0 : 1;
  return ((performance.now() - t) * 1_000) / events.length;
}
function zodPass(): number {
  const t = performance.now();
  for (const e of events) sink += TransferEventSchema.safeParse(e, PARSE_MESSAGES).success ? 1 : 0;
  return ((performance.now() - t) * 1_000) / events.length;
}

// warm-up
fastPass();
zodPass();
const fastUs: number[] = [];
const zodUs: number[] = [];
for (let r = 0; r < rounds; r++) {
  fastUs.push(fastPass());
  zodUs.push(zodPass());
}
const fast = median(fastUs);
const zod = median(zodUs);
const roundRatios = zodUs.map((z, i) => z / fastUs[i]!);
console.log(`valid events: ${n}, rounds: ${rounds} (interleaved), node ${process.version}`);
console.log(`fast path  : ${fast.toFixed(3)} µs/event (rounds: ${fastUs.map((x) => x.toFixed(2)).join(' ')})`);
console.log(`zod alone  : ${zod.toFixed(3)} µs/event (rounds: ${zodUs.map((x) => x.toFixed(2)).join(' ')})`);
console.log(`fastest round: fast ${Math.min(...fastUs).toFixed(3)} µs, zod ${Math.min(...zodUs).toFixed(3)} µs`);
console.log(`ratio zod / fast: ${(zod / fast).toFixed(1)}× (medians), ${median(roundRatios).toFixed(1)}× (median of the rounds' ratios); saved per score: ${(zod - fast).toFixed(2)} µs`);
if (sink !== 2 * rounds * n + 2 * n) console.error(`unexpected count ${sink}`);

/**
 * `npm run bench:rules`: the default rule set (rules/) evaluated by calmpay's compiled rule
 * set and by json-rules-engine (the same rules, translated by to-json-rules-engine.ts), on the
 * same seeded feature vectors (feature-vectors.ts), in the same process.
 *
 * 1. Both engines must fire the same rules (active and shadow alike) on every vector; a
 *    disagreement is printed and the run exits 1, because the timings would compare two
 *    different computations.
 * 2. calmpay: `ruleSet.evaluate(v)` over all vectors, warmed up, then 5 repetitions of enough
 *    passes to last about 300 ms each; the median is reported per transfer.
 * 3. json-rules-engine: `await engine.run(facts)` per vector, one vector at a time as a
 *    scoring request would; the agreement pass warms it up; median of 3 passes over all
 *    vectors. Its facts (an object keyed by feature name) are built before timing, as
 *    calmpay's vectors are.
 *
 * Targets: calmpay ≤ 5 µs per transfer for the whole set, and ≥ 20× faster than
 * json-rules-engine. Results go to bench/results/rules-eval.json. The exit code is 0 whether
 * or not the targets are met.
 *
 * Env: BENCH_RULES_N (20000 vectors), BENCH_RULES_SEED (1).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Engine } from 'json-rules-engine';
import { FEATURES, vectorToRecord, type FeatureValue } from '../src/features/catalogue.ts';
import { formatRuleError, loadRuleDir, type RuleSet } from '../src/rules/language/index.ts';
import { generateFeatureVectors } from './feature-vectors.ts';
import { buildEngine, firedRuleIds, translateRules, vectorToFacts } from './to-json-rules-engine.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const n = Number(process.env.BENCH_RULES_N ?? 20_000);
const seed = Number(process.env.BENCH_RULES_SEED ?? 1);

const TARGET_CALMPAY_US = 5;
const TARGET_RATIO = 20;
const CALMPAY_REPS = 5;
const CALMPAY_REP_MS = 300;
const JRE_REPS = 3;
const MAX_MISMATCHES_SHOWN = 10;

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const pct = (k: number, total: number): string => `${((100 * k) / total).toFixed(2)}%`;
const sameIds = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');

interface Timing {
  readonly usPerTransfer: number;
  /** µs per transfer of each repetition */
  readonly repsUs: readonly number[];
}

function timeCalmpay(ruleSet: RuleSet, vectors: readonly FeatureValue[][], hitsPerPass: number): Timing & { readonly passesPerRep: number } {
  let hits = 0;
  let passes = 0;
  const pass = (): void => {
    for (const v of vectors) hits += ruleSet.evaluate(v).hits.length;
    passes++;
  };
  // warm-up (at least 3 passes and 300 ms), which also sizes a repetition to ~CALMPAY_REP_MS
  const t0 = performance.now();
  do pass();
  while (passes < 3 || performance.now() - t0 < CALMPAY_REP_MS);
  const passesPerRep = Math.max(1, Math.round(CALMPAY_REP_MS / ((performance.now() - t0) / passes)));
  const repsUs: number[] = [];
  for (let r = 0; r < CALMPAY_REPS; r++) {
    const t = performance.now();
    for (let p = 0; p < passesPerRep; p++) pass();
    repsUs.push(((performance.now() - t) * 1_000) / (passesPerRep * vectors.length));
  }
  // the hits are used, so no pass can be optimised away, and every pass saw the same hits
  if (hits !== hitsPerPass * passes) throw new Error(`calmpay: ${hits} hits over ${passes} passes, expected ${hitsPerPass} per pass`);
  return { usPerTransfer: median(repsUs), repsUs, passesPerRep };
}

async function timeJsonRulesEngine(engine: Engine, facts: readonly Record<string, FeatureValue>[], hitsPerPass: number): Promise<Timing> {
  const repsUs: number[] = [];
  for (let r = 0; r < JRE_REPS; r++) {
    let hits = 0;
    const t = performance.now();
    for (const f of facts) hits += (await engine.run(f)).events.length;
    repsUs.push(((performance.now() - t) * 1_000) / facts.length);
    if (hits !== hitsPerPass) throw new Error(`json-rules-engine: ${hits} hits in a pass, expected ${hitsPerPass}`);
  }
  return { usPerTransfer: median(repsUs), repsUs };
}

async function main(): Promise<void> {
  const loaded = await loadRuleDir(path.join(root, 'rules'));
  if (!loaded.ok) {
    for (const e of loaded.errors) console.error(formatRuleError(e));
    process.exitCode = 1;
    return;
  }
  const { ruleSet } = loaded;
  const { rules } = ruleSet;

  // --- vectors, and what calmpay fires on them
  const vectors = generateFeatureVectors(n, seed);
  const calmpayFired: string[][] = [];
  for (const v of vectors) {
    const r = ruleSet.evaluate(v);
    if (r.errors.length > 0) {
      console.error(`calmpay could not evaluate a vector: ${JSON.stringify(r.errors)}\n${JSON.stringify(vectorToRecord(v))}`);
      process.exitCode = 1;
      return;
    }
    calmpayFired.push(r.hits.map((h) => h.ruleId));
  }
  const hitsPerPass = calmpayFired.reduce((k, ids) => k + ids.length, 0);
  const hitCounts = new Map<string, number>(rules.map((r) => [r.id, 0]));
  for (const ids of calmpayFired) for (const id of ids) hitCounts.set(id, hitCounts.get(id)! + 1);
  const anyHit = calmpayFired.filter((ids) => ids.length > 0).length;

  console.log(`rules-eval: ${rules.length} rules (${ruleSet.version}), ${n} feature vectors (seed ${seed}), node ${process.version}, ${os.cpus().length} cores`);
  console.log(`\nhit rate per rule (calmpay; shadow rules count as fired):`);
  const width = Math.max(...rules.map((r) => r.id.length));
  for (const r of rules) {
    const k = hitCounts.get(r.id)!;
    console.log(`  ${r.id.padEnd(width)}  ${r.mode.padEnd(6)} ${String(k).padStart(6)}  ${pct(k, n).padStart(7)}${k === 0 ? '  NEVER FIRED' : ''}`);
  }
  console.log(`  vectors firing at least one rule: ${anyHit} (${pct(anyHit, n)}); ${hitsPerPass} hits in all`);
  const nullShares = FEATURES.flatMap((f, i) => (f.nullable ? [`${f.name} ${pct(vectors.filter((v) => v[i] === null).length, n)}`] : []));
  console.log(`  missing values: ${nullShares.join(', ')}`);
  const neverFired = rules.filter((r) => hitCounts.get(r.id) === 0).map((r) => r.id);
  if (neverFired.length > 0) console.log(`  WARNING: ${neverFired.length} rules never fired: ${neverFired.join(', ')}`);

  // --- the same rules in json-rules-engine
  const translation = translateRules(rules);
  const native = translation.rules.reduce((k, r) => k + r.nativeLeaves, 0);
  const computed = translation.rules.reduce((k, r) => k + r.computedLeaves, 0);
  const computedRules = translation.rules.filter((r) => r.computedLeaves > 0).map((r) => r.ruleId);
  console.log(
    `\njson-rules-engine translation: ${native + computed} leaf conditions, ${native} native, ${computed} needed a computed fact ` +
      `(${computedRules.length} of ${rules.length} rules: ${computedRules.join(', ') || 'none'})`,
  );
  for (const f of translation.facts) console.log(`  addFact ${JSON.stringify(f.id)}`);
  const engine = buildEngine(translation);
  const facts = vectors.map(vectorToFacts);

  // --- agreement on every vector (this pass also warms json-rules-engine up)
  const mismatches: number[] = [];
  const jreFired: string[][] = [];
  for (let i = 0; i < n; i++) {
    const ids = await firedRuleIds(engine, facts[i]!);
    jreFired.push(ids);
    if (!sameIds(ids, calmpayFired[i]!)) mismatches.push(i);
  }
  if (mismatches.length > 0) {
    console.error(`\nDISAGREEMENT: the engines fired different rules on ${mismatches.length} of ${n} vectors`);
    for (const i of mismatches.slice(0, MAX_MISMATCHES_SHOWN)) {
      console.error(`  vector ${i}: calmpay [${calmpayFired[i]!.join(', ')}], json-rules-engine [${jreFired[i]!.join(', ')}]`);
      console.error(`    ${JSON.stringify(facts[i])}`);
    }
    process.exitCode = 1;
    return;
  }
  console.log(`agreement: both engines fired the same rules on all ${n} vectors`);

  // --- timings
  const calmpay = timeCalmpay(ruleSet, vectors, hitsPerPass);
  const jre = await timeJsonRulesEngine(engine, facts, hitsPerPass);
  const ratio = jre.usPerTransfer / calmpay.usPerTransfer;
  const calmpayPass = calmpay.usPerTransfer <= TARGET_CALMPAY_US;
  const ratioPass = ratio >= TARGET_RATIO;
  const reps = (t: Timing): string => t.repsUs.map((x) => x.toFixed(3)).join(' ');

  console.log(`\nµs per transfer, whole rule set (${rules.length} rules), median:`);
  console.log(
    `  calmpay ruleSet.evaluate    ${calmpay.usPerTransfer.toFixed(3).padStart(10)} µs  (${(calmpay.usPerTransfer * 1_000).toFixed(0)} ns; ` +
      `${CALMPAY_REPS} reps of ${calmpay.passesPerRep} passes: ${reps(calmpay)})`,
  );
  console.log(`  json-rules-engine run       ${jre.usPerTransfer.toFixed(3).padStart(10)} µs  (${JRE_REPS} reps of 1 pass: ${reps(jre)})`);
  console.log(`  ratio json-rules-engine / calmpay: ${ratio.toFixed(1)}×`);
  console.log(`  ${calmpayPass ? 'PASS' : 'FAIL'}  calmpay ≤ ${TARGET_CALMPAY_US} µs per transfer (${calmpay.usPerTransfer.toFixed(3)} µs)`);
  console.log(`  ${ratioPass ? 'PASS' : 'FAIL'}  calmpay ≥ ${TARGET_RATIO}× faster than json-rules-engine (${ratio.toFixed(1)}×)`);

  const out = path.join(root, 'bench/results/rules-eval.json');
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(
    out,
    JSON.stringify(
      {
        at: new Date().toISOString(),
        node: process.version,
        cores: os.cpus().length,
        vectors: n,
        seed,
        ruleSetVersion: ruleSet.version,
        rules: rules.length,
        translation: { leafConditions: native + computed, native, computed, computedRules, computedFacts: translation.facts.map((f) => f.id) },
        agreement: { vectors: n, mismatches: 0 },
        calmpay: { usPerTransfer: calmpay.usPerTransfer, repsUs: calmpay.repsUs, passesPerRep: calmpay.passesPerRep },
        jsonRulesEngine: { usPerTransfer: jre.usPerTransfer, repsUs: jre.repsUs },
        ratio,
        targets: {
          calmpayMaxUs: TARGET_CALMPAY_US,
          calmpayPass,
          minRatio: TARGET_RATIO,
          ratioPass,
        },
        hitRate: Object.fromEntries(rules.map((r) => [r.id, hitCounts.get(r.id)! / n])),
        anyHitRate: anyHit / n,
      },
      null,
      2,
    ) + '\n',
  );
  console.log(`\nwrote ${path.relative(root, out)}`);
}

await main();

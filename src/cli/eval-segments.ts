/**
 * `npm run eval:segments -- [--payers N] [--days N] [--sim-seed N] [--test-days N] [--models DIR] [--json]`
 *
 * Issue 6's fairness measurement on the simulator: replays simulated transfers through the
 * engine's feature code (the score script's velocity model in memory, no Redis), scores the last `--test-days` with the rule set (RULES_DIR) and the
 * newest model in `--models` (default MODELS_DIR), and reports per age band the warn and hold
 * rates on legitimate transfers, the detection rate on scams and the false-positive-rate
 * ratio elderly / others, for: segment-blind (the general thresholds); as configured
 * (RISK_*_AT_ELDERLY, ...); segment-blind at the configured policy's alert rate (one warn
 * threshold for all, with at least as many alerts: the baseline of issue 6's target); whether
 * the target is met (ratio within 0.8-1.25 and more scams against the elderly caught than that
 * baseline); and the warn thresholds this run's data suggests (most scams against the elderly
 * caught at no more alerts than segment-blind, ratio within 0.8-1.25; see tuneWarnThresholds
 * for the ties). The config default RISK_WARN_AT_ELDERLY came from `--payers 16000 --days 21
 * --sim-seed 3` and was evaluated on `--payers 8000 --days 21` (seed 2). The suggestion is tuned
 * on the data it is reported on: evaluate it on another `--sim-seed` before configuring it.
 * A transfer's action is the engine's (scoring/decide.ts): the thresholds' action or the
 * minimum action of the rules that fired, whichever is more severe; both come from the decision
 * the scoring route, the rule backtest and the replay make.
 *
 * Output: docs/protection.md's table (segment-table.ts) by default, every figure as JSON with `--json`;
 * a progress line on stderr while replaying when stderr is a terminal.
 */
import path from 'node:path';
import { loadConfig } from '../config.ts';
import { segmentPolicy } from '../scoring/scoring-config.ts';
import { parseCliOptions, positiveIntOption } from './cli-args.ts';
import { segmentTable } from './segment-table.ts';
import { decide, enginePolicy, replayedContext, ruleVerdict } from '../scoring/decide.ts';
import { encodeVector } from '../model/encode.ts';
import { predictProbability } from '../model/tree-ensemble.ts';
import { loadRuleDir } from '../rules/language/index.ts';
import { replaySimulatedTestDays } from './simulated-test-days.ts';
import { evaluateSegments, scoredTransfer, segmentBlindAtAlertRate, tuneWarnThresholds, type ScoredTransfer } from '../train/segment-fairness.ts';
import { newestManifest } from '../model/newest-manifest.ts';

const USAGE = 'usage: npm run eval:segments -- [--payers N] [--days N] [--sim-seed N] [--test-days N] [--models DIR] [--json]';

async function main(argv: string[]): Promise<number> {
  const parsed = parseCliOptions(argv, { strings: ['payers', 'days', 'sim-seed', 'test-days', 'models'], flags: ['json'] }, USAGE);
  if ('exitCode' in parsed) return parsed.exitCode;
  const values = parsed.strings;
  const num = (name: string, def: number): number => positiveIntOption(values, name, def);
  const payers = num('payers', 10_000);
  const days = num('days', 28);
  const seed = num('sim-seed', 2);
  const testDays = num('test-days', 7);
  if (testDays >= days) throw new Error('--test-days must be fewer than --days');
  const config = loadConfig();
  const rules = await loadRuleDir(config.ruleFiles.dir);
  if (!rules.ok) throw new Error(`the rule set in ${config.ruleFiles.dir} is invalid`);
  const manifest = newestManifest(values.models !== undefined ? path.resolve(values.models) : config.model.dir);
  const log = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };
  log(manifest === null ? 'no model found: rules alone' : `model ${manifest.name} ${manifest.version}`);

  const start = '2026-08-01';
  const scored: ScoredTransfer[] = [];
  const policy = enginePolicy(config.scoring);
  await replaySimulatedTestDays({ payers, days, seed, testDays, start }, config.features.ageBands, 'replaying', (_e, v, isFraud) => {
    const p = manifest === null ? null : predictProbability(manifest.ensemble, encodeVector(v));
    scored.push(scoredTransfer(decide(ruleVerdict(rules.ruleSet, v), replayedContext(p), policy), isFraud));
  });
  const blind = evaluateSegments(scored, () => config.scoring.thresholds);
  const configured = evaluateSegments(scored, (band) => segmentPolicy(config.scoring, band).thresholds);
  const baseline = segmentBlindAtAlertRate(scored, config.scoring.thresholds, configured.alertRate);
  const tuned = tuneWarnThresholds(scored, config.scoring.thresholds, blind.alertRate);
  const ratioWithin = configured.fprRatioElderly >= 0.8 && configured.fprRatioElderly <= 1.25;
  const caughtMore = configured.byBand.elderly.scamsCaught > baseline.outcome.byBand.elderly.scamsCaught;
  const data = { payers, days, seed, testDays, transfersScored: scored.length, scams: scored.filter((r) => r.fraud).length };
  const model = manifest === null ? null : `${manifest.name}-${manifest.version}`;
  if (!parsed.flags.has('json')) {
    console.log(segmentTable({ data, model, general: config.scoring.thresholds, blind, configured, baseline, tuned, met: ratioWithin && caughtMore }));
    return 0;
  }
  console.log(
    JSON.stringify(
      {
        data: { simulator: { payers, days, seed, start }, testDays, transfersScored: scored.length, scams: scored.filter((r) => r.fraud).length },
        model: manifest === null ? null : `${manifest.name}-${manifest.version}`,
        segmentBlind: { thresholds: config.scoring.thresholds, ...blind },
        configured: { thresholds: Object.fromEntries(Object.entries(config.scoring.segments).map(([b, p]) => [b, p.thresholds])), ...configured },
        segmentBlindAtConfiguredAlertRate: { thresholds: { ...config.scoring.thresholds, warn: baseline.warn }, ...baseline.outcome },
        target: {
          fprRatioElderly: configured.fprRatioElderly,
          fprRatioWithin: ratioWithin,
          elderlyScamsCaught: configured.byBand.elderly.scamsCaught,
          segmentBlindElderlyScamsCaught: baseline.outcome.byBand.elderly.scamsCaught,
          elderlyCaughtMore: caughtMore,
          met: ratioWithin && caughtMore,
        },
        suggested:
          tuned === null
            ? null
            : {
                tunedOn: 'this run (evaluate on another --sim-seed)',
                env: { RISK_WARN_AT_ELDERLY: tuned.elderlyWarn, RISK_WARN_AT: tuned.othersWarn },
                ...tuned.outcome,
              },
      },
      (_k, v: unknown) => (typeof v === 'number' && !Number.isInteger(v) ? Math.round(v * 10_000) / 10_000 : v),
      2,
    ),
  );
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(process.env.DEBUG ? err : `npm run eval:segments failed: ${err.message}`);
    process.exit(1);
  },
);

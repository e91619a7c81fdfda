/**
 * `npm run calibrate -- [--payers N] [--days N] [--sim-seed N] [--eval-seed N] [--test-days N]
 *                       [--headroom 1] [--models DIR] [--out FILE] [--json]`
 *
 * Issue 16: proposes risk thresholds per age band and capped rule actions that keep the engine's
 * warned, held and blocked shares of legitimate transfers within the intervention budget
 * (INTERVENTION_BUDGET_*, src/calibration/budget-config.ts) with the most fraud value caught
 * (src/calibration/calibrate.ts). The transfers come from a simulator run replayed through the
 * engine's feature code as eval:segments does (the score script's velocity model in memory, no
 * Redis): the last `--test-days` are decided with the rule set (RULES_DIR), the newest model in
 * `--models` (default MODELS_DIR) and the configured policy. The proposal is tuned on
 * `--sim-seed` (default 3) and evaluated, with the configured policy beside it, on another
 * population of the same size, `--eval-seed` (default 2, eval:segments' evaluation population;
 * 1 when tuning on 2): figures are never reported on the data they were tuned on. `--headroom`
 * (0-1, default 1) aims at that share of each budget, leaving room for the sampling noise of
 * other transfers. Prints the rates before and after per group, the proposed thresholds and rule action
 * changes, and writes the proposal (src/calibration/proposal.ts, docs/intervention-budget.md)
 * to `--out` (default DATA_DIR/calibration-proposal.json). It changes nothing by itself.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig, type Config } from '../config.ts';
import { calibrate, configuredThresholds, evaluatePolicy, POLICY_GROUPS, type CalibrationRule, type CalibrationTransfer } from '../calibration/calibrate.ts';
import { proposal, proposalTable, type PolicyEvaluation } from '../calibration/proposal.ts';
import { encodeVector } from '../model/encode.ts';
import type { ModelManifest } from '../model/manifest.ts';
import { predictProbability } from '../model/tree-ensemble.ts';
import { loadRuleDir } from '../rules/language/index.ts';
import type { RuleSet } from '../rules/language/rule-set.ts';
import { verdictOf } from '../scoring/decide.ts';
import { parseCliOptions, positiveIntOption } from './cli-args.ts';
import { replaySimulatedTestDays } from './simulated-test-days.ts';
import { newestManifest } from '../model/newest-manifest.ts';

const USAGE =
  'usage: npm run calibrate -- [--payers N] [--days N] [--sim-seed N] [--eval-seed N] [--test-days N] [--headroom 1] [--models DIR] [--out FILE] [--json]';
const START = '2026-08-01';

interface SimSource {
  readonly payers: number;
  readonly days: number;
  readonly seed: number;
  readonly testDays: number;
}

/** The last `testDays` of a simulated population, decided by the engine's rules and model. */
async function simulatedTransfers(src: SimSource, config: Config, ruleSet: RuleSet, manifest: ModelManifest | null): Promise<CalibrationTransfer[]> {
  const out: CalibrationTransfer[] = [];
  await replaySimulatedTestDays({ ...src, start: START }, config.features.ageBands, `replaying seed ${src.seed}`, (e, v, fraud) => {
    const verdict = verdictOf(ruleSet.evaluate(v), v, (h) => ({ ruleId: h.ruleId, score: h.score, action: h.action, scamType: h.scamType }));
    const modelScore = manifest === null ? null : predictProbability(manifest.ensemble, encodeVector(v));
    out.push({ hits: verdict.hits, modelScore, band: verdict.segment, amount: e.amount, fraud });
  });
  return out;
}

async function main(argv: string[]): Promise<number> {
  const parsed = parseCliOptions(argv, { strings: ['payers', 'days', 'sim-seed', 'eval-seed', 'test-days', 'models', 'out', 'headroom'], flags: ['json'] }, USAGE);
  if ('exitCode' in parsed) return parsed.exitCode;
  const values = parsed.strings;
  const num = (name: string, def: number): number => positiveIntOption(values, name, def);
  const payers = num('payers', 8_000);
  const days = num('days', 21);
  const seed = num('sim-seed', 3);
  const evalSeed = num('eval-seed', seed === 2 ? 1 : 2);
  if (evalSeed === seed) throw new Error('--eval-seed must differ from --sim-seed: a proposal is not evaluated on the data it was tuned on');
  const testDays = num('test-days', 7);
  if (testDays >= days) throw new Error('--test-days must be fewer than --days');
  const headroom = values.headroom === undefined ? 1 : Number(values.headroom);
  if (!(headroom > 0 && headroom <= 1)) throw new Error(`--headroom must be a number in (0, 1], got "${String(values.headroom)}"`);
  const config = loadConfig();
  const out = values.out !== undefined ? path.resolve(values.out) : path.join(config.process.dataDir, 'calibration-proposal.json');
  const rules = await loadRuleDir(config.ruleFiles.dir);
  if (!rules.ok) throw new Error(`the rule set in ${config.ruleFiles.dir} is invalid`);
  const manifest = newestManifest(values.models !== undefined ? path.resolve(values.models) : config.model.dir);
  const log = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };
  log(manifest === null ? 'no model found: rules alone' : `model ${manifest.name} ${manifest.version}`);

  const tuneSource = { payers, days, seed, testDays };
  const tuning = await simulatedTransfers(tuneSource, config, rules.ruleSet, manifest);
  const activeRules: CalibrationRule[] = rules.ruleSet.rules.filter((r) => r.mode === 'active').map((r) => ({ id: r.id, action: r.action }));
  const started = Date.now();
  const result = calibrate(tuning, activeRules, config.scoring, config.budget, { headroom });
  log(`calibrated on ${tuning.length} transfers in ${((Date.now() - started) / 1000).toFixed(1)} s (${result.evaluations} group evaluations)`);

  const evalSource = { payers, days, seed: evalSeed, testDays };
  const held = await simulatedTransfers(evalSource, config, rules.ruleSet, manifest);
  const before = evaluatePolicy(held, config.scoring, config.budget, { thresholds: configuredThresholds(config.scoring), ruleActions: {} });
  const after = evaluatePolicy(held, config.scoring, config.budget, result.policy);
  const evaluation: PolicyEvaluation = {
    source: { simulator: { ...evalSource, start: START }, transfers: held.length },
    withinBudget: POLICY_GROUPS.every((g) => after[g].withinBudget),
    before,
    after,
  };
  const p = proposal(
    result,
    {
      createdAt: new Date().toISOString(),
      source: { simulator: { ...tuneSource, start: START }, transfers: tuning.length, tunedOn: 'these transfers', headroom },
      rulesVersion: rules.ruleSet.version,
      model: manifest === null ? null : `${manifest.name}-${manifest.version}`,
    },
    evaluation,
    rules.ruleSet.files,
  );
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(p, null, 2)}\n`);
  log(`proposal written to ${out}`);
  console.log(parsed.flags.has('json') ? JSON.stringify(p, null, 2) : proposalTable(p));
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(process.env.DEBUG ? err : `npm run calibrate failed: ${err.message}`);
    process.exit(1);
  },
);

/**
 * `npm run rules -- <command>`:
 *   check [dir]   load and check the rule files (default RULES_DIR or ./rules); exit 1 on errors
 *   features      print the feature catalogue as markdown (docs/features.md)
 *   backtest      replay a candidate rule set on the decision history (src/cli/rules-backtest.ts)
 */
import path from 'node:path';
import { formatRuleErrors } from '../app.ts';
import { renderFeaturesMarkdown } from '../features/features-doc.ts';
import { loadRuleDir } from '../rules/language/index.ts';
import { BACKTEST_USAGE, backtestCommand } from './rules-backtest.ts';

async function main(argv: readonly string[]): Promise<number> {
  const [command, arg] = argv;
  if (command === 'backtest') return backtestCommand(argv.slice(1));
  switch (command) {
    case 'check': {
      const dir = path.resolve(arg ?? process.env.RULES_DIR ?? 'rules');
      const r = await loadRuleDir(dir);
      if (!r.ok) {
        console.error(formatRuleErrors(r.errors));
        console.error(`${r.errors.length} error(s) in ${dir}`);
        return 1;
      }
      console.log(`${dir}: ${r.ruleSet.rules.length} rules, version ${r.ruleSet.version}`);
      return 0;
    }
    case 'features':
      process.stdout.write(renderFeaturesMarkdown());
      return 0;
    default:
      console.error('usage: npm run rules -- check [dir] | features | backtest ...');
      console.error(BACKTEST_USAGE);
      return 2;
  }
}

process.exitCode = await main(process.argv.slice(2));

/**
 * The rule language (DESIGN §5, docs/rule-language.md): parse → check against the feature
 * catalogue → compile, and the rule files around it.
 */
export type {
  ArithmeticOp,
  CheckedExpr,
  ComparisonOp,
  Expr,
  ExpressionError,
  FunctionName,
  LogicalOp,
  Position,
  TypeInfo,
} from './ast.ts';
export { FUNCTION_NAMES } from './ast.ts';
export { checkExpression, type CheckOptions, type CheckResult } from './checker.ts';
export { compileConditions, compileExpression, type CompiledConditions, type CompiledExpression } from './compiler.ts';
export { interpret } from './interpreter.ts';
export { MAX_ERRORS, MAX_EXPRESSION_LENGTH, MAX_LIST_ITEMS, MAX_NESTING_DEPTH, MAX_RULE_FILES, MAX_RULE_SET_CHARS, MAX_RULES } from './limits.ts';
export { loadRuleDir } from './load-rule-dir.ts';
export { KEYWORDS, parseExpression, type ParseResult } from './parser.ts';
export { formatRuleError, type RuleError } from './rule-error.ts';
export { RULE_KEYS, RULE_MODES, parseRuleFile, type RuleDefinition, type RuleMode, type SourceLocation } from './rule-file.ts';
export {
  WHOLE_SET,
  compileRuleSetFromText,
  ruleSetVersion,
  type Rule,
  type RuleEvaluation,
  type RuleEvaluationError,
  type RuleFileText,
  type RuleHit,
  type RuleSet,
  type RuleSetResult,
} from './rule-set.ts';
export { DEFAULT_DEBOUNCE_MS, watchRuleDir, type RuleDirHandlers, type RuleDirWatcher, type WatchOptions } from './watch-rule-dir.ts';

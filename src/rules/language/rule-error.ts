/**
 * Errors of loading a rule set, as shown to analysts (CLI, API `details`, start-up logs).
 */

export interface RuleError {
  /** the rule file, or null for an error about the directory as a whole */
  readonly file: string | null;
  /** the rule concerned, when known */
  readonly ruleId: string | null;
  /** 1-based line and column in the file; 0 when the error has no place in a file */
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

/** `file:line:column [rule-id] message`, one line per error (for logs and the CLI). */
export function formatRuleError(e: RuleError): string {
  const where = e.file === null ? '(rules)' : e.line > 0 ? `${e.file}:${e.line}:${e.column}` : e.file;
  return `${where}${e.ruleId !== null ? ` [${e.ruleId}]` : ''} ${e.message}`;
}

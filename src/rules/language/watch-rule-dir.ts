/**
 * Reloads a rule directory when its files change (DESIGN §5: an edit takes effect without a
 * restart). Events are debounced (editors write a file in several steps) and loads never
 * overlap. A bad edit is reported with onError; the caller keeps serving the set it has.
 */
import { watch } from 'node:fs';
import { loadRuleDir, RULE_FILE } from './load-rule-dir.ts';
import type { RuleError } from './rule-error.ts';
import type { RuleSet } from './rule-set.ts';

export interface RuleDirHandlers {
  /** a load succeeded (called on every successful reload; compare `version` to skip no-ops) */
  onLoad(ruleSet: RuleSet): void;
  /** a load failed; the previous rule set stays the caller's to keep */
  onError(errors: readonly RuleError[]): void;
}

export interface RuleDirWatcher {
  close(): void;
}

export interface WatchOptions {
  readonly debounceMs?: number;
}

export const DEFAULT_DEBOUNCE_MS = 50;

/** Watches `dir` (not loading it first: call loadRuleDir for the initial set). */
export function watchRuleDir(dir: string, handlers: RuleDirHandlers, options: WatchOptions = {}): RuleDirWatcher {
  const debounceMs = options.debounceMs ?? DEFAULT_DEBOUNCE_MS;
  let timer: NodeJS.Timeout | undefined;
  let loading = false;
  let changedWhileLoading = false;
  let closed = false;

  const reload = async (): Promise<void> => {
    if (loading) {
      changedWhileLoading = true;
      return;
    }
    loading = true;
    const result = await loadRuleDir(dir);
    loading = false;
    if (closed) return;
    if (result.ok) handlers.onLoad(result.ruleSet);
    else handlers.onError(result.errors);
    if (changedWhileLoading) {
      changedWhileLoading = false;
      schedule();
    }
  };

  const schedule = (): void => {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(() => void reload(), debounceMs);
  };

  const watcher = watch(dir, { persistent: false }, (_event, filename) => {
    // a null filename means the platform did not say which file: reload to be safe
    if (filename === null || RULE_FILE.test(filename)) schedule();
  });
  watcher.on('error', (e: Error) => {
    if (!closed) {
      handlers.onError([{ file: null, ruleId: null, line: 0, column: 0, message: `watching the rule directory ${dir} failed: ${e.message}` }]);
    }
  });

  return {
    close(): void {
      closed = true;
      clearTimeout(timer);
      watcher.close();
    },
  };
}

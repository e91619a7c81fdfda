import os from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { checkRuleFiles } from './rule-check.ts';
import type { RuleFileText } from './rule-set.ts';

/**
 * The rule-check thread (rule-checker.ts). Loaded only as a thread's entry (through
 * rule-check-thread.mjs): each message is a rule set's files, answered with its RuleCheck.
 */

export interface RuleCheckInit {
  /** this module's URL, which rule-check-thread.mjs imports */
  readonly entry: string;
}

/** Scoring comes first: on Linux this lowers the priority of this thread only (as the PGlite thread does). */
function lowerThreadPriority(): void {
  if (process.platform !== 'linux') return;
  try {
    os.setPriority(os.constants.priority.PRIORITY_LOW);
  } catch {
    // not permitted: run at the normal priority
  }
}

const port = parentPort;
if (port !== null && (workerData as Partial<RuleCheckInit> | null)?.entry !== undefined) {
  lowerThreadPriority();
  port.on('message', (files: readonly RuleFileText[]) => port.postMessage(checkRuleFiles(files)));
}

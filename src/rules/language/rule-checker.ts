import { Worker } from 'node:worker_threads';
import { CalmpayError } from '../../errors.ts';
import type { RuleCheck } from './rule-check.ts';
import type { RuleCheckInit } from './rule-check-thread.ts';
import type { RuleFileText } from './rule-set.ts';

/**
 * Checks rule files submitted through the API (validate, publish, backtest) on a thread of its
 * own, so that an analyst's large paste never holds the event loop that scores transfers
 * (issue 19). The thread is started at the first check and kept (starting one loads the rule
 * modules, which costs far more than a check); checks run one at a time, later ones wait their
 * turn. A check that outlives `deadlineMs` is refused and its thread ended; the next check
 * starts a new one. The idle thread does not keep the process alive.
 */
export class RuleChecker {
  private worker: Worker | null = null;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly deadlineMs: number = 30_000) {}

  check(files: readonly RuleFileText[]): Promise<RuleCheck> {
    const run = this.tail.then(() => this.onThread(files));
    this.tail = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    await worker?.terminate();
  }

  private thread(): Worker {
    if (this.worker !== null) return this.worker;
    const init: RuleCheckInit = { entry: new URL('./rule-check-thread.ts', import.meta.url).href };
    const worker = new Worker(new URL('./rule-check-thread.mjs', import.meta.url), { workerData: init });
    worker.unref();
    worker.once('exit', () => {
      if (this.worker === worker) this.worker = null;
    });
    this.worker = worker;
    return worker;
  }

  private onThread(files: readonly RuleFileText[]): Promise<RuleCheck> {
    const worker = this.thread();
    return new Promise<RuleCheck>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
      };
      const onMessage = (answer: RuleCheck): void => {
        done();
        resolve(answer);
      };
      const onError = (err: Error): void => {
        done();
        reject(err);
      };
      const onExit = (code: number): void => {
        done();
        reject(new Error(`the rule-check thread exited (code ${code}) without an answer`));
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new CalmpayError('CALMPAY_ERR_VALIDATION', `Checking the rule files took longer than ${this.deadlineMs} ms`, [
            { field: 'files', message: `took longer than ${this.deadlineMs} ms to check; split or shorten the rule set` },
          ]),
        );
        if (this.worker === worker) this.worker = null;
        void worker.terminate();
      }, this.deadlineMs);
      worker.on('message', onMessage);
      worker.once('error', onError);
      worker.once('exit', onExit);
      worker.postMessage(files);
    });
  }
}

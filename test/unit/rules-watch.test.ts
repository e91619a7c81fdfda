import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { loadRuleDir } from '../../src/rules/language/load-rule-dir.ts';
import type { RuleError } from '../../src/rules/language/rule-error.ts';
import { ruleSetVersion, type RuleSet } from '../../src/rules/language/rule-set.ts';
import { watchRuleDir, type RuleDirWatcher } from '../../src/rules/language/watch-rule-dir.ts';
import { vector } from './rules-fixtures.ts';

type Event = { kind: 'load'; ruleSet: RuleSet } | { kind: 'error'; errors: readonly RuleError[] };

/** Watcher callbacks as a queue the test can wait on. */
class Events {
  private readonly seen: Event[] = [];
  private waiter: (() => void) | null = null;

  push(e: Event): void {
    this.seen.push(e);
    this.waiter?.();
  }

  /** The first event (from now on) matching `pred`; fails after `ms`. */
  async waitFor(pred: (e: Event) => boolean, ms = 5_000): Promise<Event> {
    const deadline = Date.now() + ms;
    for (;;) {
      const i = this.seen.findIndex(pred);
      if (i >= 0) {
        const [e] = this.seen.splice(0, i + 1).slice(-1);
        return e!;
      }
      if (Date.now() > deadline) throw new Error(`no matching watcher event within ${ms} ms`);
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        setTimeout(resolve, 50);
      });
    }
  }

  get pending(): number {
    return this.seen.length;
  }
}

const rule = (id: string, when: string) => `- id: ${id}\n  description: ${id} fired\n  when: ${when}\n  score: 10\n`;

let dir = '';
let watcher: RuleDirWatcher | null = null;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'calmpay-watch-'));
});
afterEach(async () => {
  watcher?.close();
  watcher = null;
  await rm(dir, { recursive: true, force: true });
});

test('an edit is loaded; a bad edit is reported and the holder keeps serving the previous set', async () => {
  const a1 = rule('big', 'amount > 1000');
  await writeFile(path.join(dir, 'a.yaml'), a1);
  const initial = await loadRuleDir(dir);
  if (!initial.ok) throw new Error('initial load failed');
  const holder = { current: initial.ruleSet };
  const events = new Events();
  watcher = watchRuleDir(dir, {
    onLoad: (ruleSet) => {
      holder.current = ruleSet;
      events.push({ kind: 'load', ruleSet });
    },
    onError: (errors) => events.push({ kind: 'error', errors }),
  });

  const a2 = a1 + rule('huge', 'amount > 100000');
  await writeFile(path.join(dir, 'a.yaml'), a2);
  const loaded = await events.waitFor((e) => e.kind === 'load');
  const v2 = ruleSetVersion([{ name: 'a.yaml', text: a2 }]);
  expect(loaded.kind === 'load' && [loaded.ruleSet.version, loaded.ruleSet.rules.map((r) => r.id)]).toEqual([v2, ['big', 'huge']]);

  await writeFile(path.join(dir, 'a.yaml'), a2 + rule('typo', 'amout > 5'));
  const failed = await events.waitFor((e) => e.kind === 'error');
  expect(failed).toEqual({
    kind: 'error',
    errors: [{ file: 'a.yaml', ruleId: 'typo', line: 11, column: 9, message: "unknown feature 'amout' (did you mean 'amount'?)" }],
  });
  expect([holder.current.version, holder.current.evaluate(vector({ amount: 200_000 })).hits.map((h) => h.ruleId)]).toEqual([
    v2,
    ['big', 'huge'],
  ]);

  // a new file and then its removal are both picked up
  const b = rule('night', 'hour_of_day between 0 and 5');
  await writeFile(path.join(dir, 'a.yaml'), a2);
  await writeFile(path.join(dir, 'b.yml'), b);
  const withB = ruleSetVersion([
    { name: 'a.yaml', text: a2 },
    { name: 'b.yml', text: b },
  ]);
  const added = await events.waitFor((e) => e.kind === 'load' && e.ruleSet.version === withB);
  expect(added.kind === 'load' && added.ruleSet.rules.map((r) => r.id)).toEqual(['big', 'huge', 'night']);
  await unlink(path.join(dir, 'b.yml'));
  const removed = await events.waitFor((e) => e.kind === 'load' && e.ruleSet.version === v2);
  expect(removed.kind === 'load' && removed.ruleSet.rules.map((r) => r.id)).toEqual(['big', 'huge']);
});

test('files that are not rule files do not trigger a reload, and close() stops the watcher', async () => {
  await writeFile(path.join(dir, 'a.yaml'), rule('a', 'true'));
  const events = new Events();
  watcher = watchRuleDir(
    dir,
    { onLoad: (ruleSet) => events.push({ kind: 'load', ruleSet }), onError: (errors) => events.push({ kind: 'error', errors }) },
    { debounceMs: 10 },
  );
  await writeFile(path.join(dir, 'notes.txt'), 'x');
  await writeFile(path.join(dir, 'a.yaml.swp'), 'x');
  // a timing window is unavoidable for "nothing happens": the debounce is 10 ms, we wait 300
  await sleep(300);
  expect(events.pending).toBe(0);

  watcher.close();
  await writeFile(path.join(dir, 'a.yaml'), rule('a', 'false'));
  await sleep(300);
  expect(events.pending).toBe(0);
});

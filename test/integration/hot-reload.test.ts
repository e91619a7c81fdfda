import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp, startedApp } from '../helpers/app.ts';
import { until } from '../helpers/until.ts';

type TestApp = Awaited<ReturnType<typeof testApp>>;

const rule = (score: number) => `- id: any-large
  description: Large transfer
  when: amount >= 1000
  score: ${score}
  scam_type: other
`;

describe('editing a rule file takes effect without a restart', () => {
  let app: TestApp;
  let dir: string;
  let n = 0;
  const score = async () =>
    (
      await app.server.inject({
        method: 'POST',
        url: '/v1/transfers/score',
        payload: {
          transferId: `hr-${n++}`,
          occurredAt: new Date().toISOString(),
          amount: 5000,
          currency: 'CNY',
          payer: { accountId: `hr-p-${n}` },
          payee: { accountId: 'hr-q' },
        },
      })
    ).json();

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'calmpay-rules-'));
    writeFileSync(path.join(dir, 'rules.yaml'), rule(10));
    app = await startedApp({ RULES_DIR: dir, WATCH_RULES: 'true' });
  });
  afterAll(async () => {
    await app.close();
  });

  it('scores with the edited rule on the next score, and keeps the last good set on a bad edit', async () => {
    const v1 = app.rules.current.version;
    expect((await score()).ruleScore).toBe(10);

    writeFileSync(path.join(dir, 'rules.yaml'), rule(35));
    await until(() => app.rules.current.version !== v1, 'the reload', 2_000);
    const d = await score();
    expect([d.ruleScore, d.action, d.rulesVersion]).toEqual([35, 'warn', app.rules.current.version]);

    const v2 = app.rules.current.version;
    writeFileSync(path.join(dir, 'rules.yaml'), rule(35).replace('amount >= 1000', 'amount >= "x"'));
    await until(() => app.rules.lastErrors !== null, 'the rejection', 2_000);
    expect(app.rules.current.version).toBe(v2);
    expect(app.rules.lastErrors?.[0]).toMatchObject({ file: 'rules.yaml', ruleId: 'any-large', line: 3 });
    expect((await score()).ruleScore).toBe(35);
    const ready = (await app.server.inject({ url: '/readyz' })).json();
    expect(ready.checks.rules).toEqual({ ready: true, detail: `${v2}; the latest edit was rejected (1 errors)` });
  });
});

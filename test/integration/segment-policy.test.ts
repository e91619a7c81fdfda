import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp } from '../helpers/app.ts';

type TestApp = Awaited<ReturnType<typeof testApp>>;

const NOW = Date.parse('2026-11-21T12:00:00Z');

/** A large first transfer to a new payee: the fixture rule large-to-new-payee gives 40 points (warn). */
function transfer(id: string, birthYear: number | undefined) {
  return {
    transferId: id,
    occurredAt: '2026-11-21T11:00:00Z',
    amount: 20000,
    currency: 'CNY',
    payer: { accountId: `payer-${id}`, ...(birthYear === undefined ? {} : { birthYear }) },
    payee: { accountId: `payee-${id}` },
  };
}

describe('segment-aware policy', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await testApp(
      { RISK_COOL_OFF_AT_ELDERLY: '40', RISK_WARN_AT_ELDERLY: '20', COOLING_OFF_SECONDS_ELDERLY: '1800', RISK_BLOCK_AT_MINOR: '40', RISK_COOL_OFF_AT_MINOR: '30', RISK_WARN_AT_MINOR: '10' },
      { clock: () => NOW },
    );
  });
  afterAll(async () => {
    await app.close();
  });

  const score = async (body: object) => (await app.server.inject({ method: 'POST', url: '/v1/transfers/score', payload: body })).json();

  it('applies each age band its own thresholds for the same 40 points', async () => {
    const adult = await score(transfer('adult', 1980));
    const unknown = await score(transfer('unknown', undefined));
    const elderly = await score(transfer('elderly', 1950));
    const minor = await score(transfer('minor', 2012));
    expect([adult, unknown, elderly, minor].map((d) => [d.segment, d.riskScore, d.action])).toEqual([
      ['adult', 40, 'warn'],
      [null, 40, 'warn'],
      ['elderly', 40, 'cool_off'],
      ['minor', 40, 'block'],
    ]);
  });

  it('holds elderly payers for their own cooling-off period and says so in the warning', async () => {
    const elderly = await score(transfer('elderly-2', 1950));
    expect(elderly.action).toBe('cool_off');
    expect(elderly.warning.message).toContain('30 minutes');
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ID_MAX_LENGTH } from '../../src/features/transfer-event.ts';
import { testApp } from '../helpers/app.ts';
import { coolOffTransfer, waitFor } from './cooling-helpers.ts';

type TestApp = Awaited<ReturnType<typeof testApp>>;

/**
 * Issue 19: the id schema allows 128 characters, and the router must take every id the schema
 * takes, or a transfer can be scored but never confirmed, read or cancelled. The id uses every
 * character class the schema allows, `/` included (percent-encoded in the path).
 */
const ID_128 = `${'t-/+=:@._'}${'x'.repeat(128 - 9)}`;
const ID_129 = `${ID_128}y`;
const path = (id: string, action = ''): string => `/v1/transfers/${encodeURIComponent(id)}${action}`;

describe('transfer ids of the longest allowed length', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await testApp({ RUN_WORKER: 'false' });
  });
  afterAll(async () => {
    await app.close();
  });

  it('scores, confirms, reads and cancels a transfer with a 128-character id', async () => {
    expect(ID_128).toHaveLength(128);
    const transfer = coolOffTransfer(ID_128, { payer: 'p-long-id', payee: 'q-long-id' });
    const scored = await app.server.inject({ method: 'POST', url: '/v1/transfers/score', payload: transfer });
    expect(scored.statusCode).toBe(200);
    expect(scored.json()).toMatchObject({ transferId: ID_128, action: 'cool_off' });
    await waitFor('registered', async () => (await app.redis.exists(`${app.prefix}{t:${ID_128}}:s`)) === 1);

    const confirmed = await app.server.inject({ method: 'POST', url: path(ID_128, '/confirm') });
    expect(confirmed.statusCode).toBe(200);
    expect(confirmed.json()).toMatchObject({ transferId: ID_128, state: 'COOLING_OFF' });

    const read = await app.server.inject({ method: 'GET', url: path(ID_128) });
    expect(read.statusCode).toBe(200);
    expect(read.json()).toMatchObject({ transferId: ID_128, state: 'COOLING_OFF' });

    const cancelled = await app.server.inject({ method: 'POST', url: path(ID_128, '/cancel') });
    expect(cancelled.statusCode).toBe(200);
    expect(cancelled.json()).toMatchObject({ transferId: ID_128, state: 'CANCELLED' });
  });

  it('refuses a 129-character id at scoring with a 400 naming transferId', async () => {
    const res = await app.server.inject({ method: 'POST', url: '/v1/transfers/score', payload: coolOffTransfer(ID_129, { payer: 'p-x', payee: 'q-x' }) });
    expect(res.statusCode).toBe(400);
    const body = res.json() as { code: string; details: { field: string; message: string }[] };
    expect(body.code).toBe('CALMPAY_ERR_VALIDATION');
    expect(body.details.map((d) => d.field)).toEqual(['transferId']);
  });

  it('routes path parameters exactly as long as the id schema allows', () => {
    expect(app.server.initialConfig.routerOptions?.maxParamLength).toBe(ID_MAX_LENGTH);
  });

  it('answers a path id over 128 characters with 414, as before', async () => {
    const res = await app.server.inject({ method: 'GET', url: path(ID_129) });
    expect(res.statusCode).toBe(414);
    expect(res.json()).toMatchObject({ code: 'CALMPAY_ERR_URI_TOO_LONG' });
  });
});

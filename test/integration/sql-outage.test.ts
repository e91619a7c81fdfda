import { createServer, Socket, type Server } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/store/local-redis.ts';
import { testApp, startedApp } from '../helpers/app.ts';
import { TEST_DATABASE_URL, uniqueSchema } from '../helpers/sql.ts';

type TestApp = Awaited<ReturnType<typeof testApp>>;

/**
 * The SQL store goes away (issue 9): scoring goes on, the decision sink leaves what it could
 * not copy in the Redis stream, and catches up when the store is back. The outage is real:
 * the engine reaches the test Postgres through a TCP relay that this test closes (dropping
 * every open connection) and opens again on the same port.
 */
class Relay {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  async up(): Promise<void> {
    const server = createServer((client) => {
      const upstream = new Socket();
      this.sockets.add(client).add(upstream);
      const drop = (): void => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      upstream.connect(this.target.port, this.target.host, () => {
        client.pipe(upstream);
        upstream.pipe(client);
      });
    });
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(this.port, '127.0.0.1', resolve));
    this.server = server;
  }

  async down(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    const server = this.server;
    this.server = null;
    if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

let seq = 0;
const transfer = () => {
  seq += 1;
  return {
    transferId: `sqlo-${seq}`,
    occurredAt: new Date(Date.now() - 1_000).toISOString(),
    amount: 100 + seq,
    currency: 'CNY',
    payer: { accountId: `sp-${seq % 7}` },
    payee: { accountId: `sq-${seq % 5}` },
  };
};

const pgTarget = new URL(TEST_DATABASE_URL);
const postgresAvailable = await (async () => {
  const c = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 2_000 });
  try {
    await c.connect();
    await c.end();
    return true;
  } catch {
    return false;
  }
})();

describe.skipIf(!postgresAvailable)('the SQL store goes down and comes back', () => {
  const schema = uniqueSchema();
  let relay: Relay;
  let app: TestApp;
  let direct: pg.Client;

  beforeAll(async () => {
    relay = new Relay(await freePort(), { host: pgTarget.hostname, port: Number(pgTarget.port || 5432) });
    await relay.up();
    const viaRelay = new URL(TEST_DATABASE_URL);
    viaRelay.port = String(relay.port);
    app = await startedApp({ DATABASE_URL: viaRelay.toString(), DATABASE_SCHEMA: schema, SINK_BATCH_SIZE: '10', RUN_WORKER: 'false' });
    direct = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await direct.connect();
  });
  afterAll(async () => {
    await app?.close();
    await relay?.up().catch(() => undefined);
    await direct?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await direct?.end();
    await relay?.down();
  });

  const stored = async (): Promise<number> => Number((await direct.query(`SELECT count(*) AS n FROM ${schema}.decisions`)).rows[0].n);
  const waitFor = async (n: number): Promise<number> => {
    for (let i = 0; i < 300; i++) {
      const got = await stored();
      if (got >= n) return got;
      await sleep(100);
    }
    return stored();
  };
  const score = async () => (await app.server.inject({ method: 'POST', url: '/v1/transfers/score', payload: transfer() })).statusCode;

  it('keeps scoring through the outage and copies every decision once it is back', async () => {
    for (let i = 0; i < 10; i++) expect(await score()).toBe(200);
    expect(await waitFor(10)).toBe(10);

    await relay.down();
    for (let i = 0; i < 25; i++) expect(await score()).toBe(200);
    const ready = await app.server.inject({ method: 'GET', url: '/readyz' });
    expect(ready.json().checks.sql.ready).toBe(false);
    // nothing reached the store while it was away
    await sleep(500);
    expect(await stored()).toBe(10);

    await relay.up();
    expect(await waitFor(35)).toBe(35);
    const ids = (await direct.query(`SELECT transfer_id FROM ${schema}.decisions ORDER BY transfer_id`)).rows.map((r: { transfer_id: string }) => r.transfer_id);
    expect(new Set(ids).size).toBe(35);
  }, 60_000);
});

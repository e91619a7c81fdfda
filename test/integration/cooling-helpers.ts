/**
 * Shared by the cooling-*.test.ts files: a real HTTP receiver of webhooks and notifications
 * that verifies signatures the way docs/cooling-off.md tells integrators to (its own HMAC code, not
 * calmpay's), and small helpers to drive transfers through the API.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  readonly eventId: string;
  readonly timestamp: number;
  readonly body: Record<string, unknown>;
  readonly raw: string;
  readonly path: string;
  /** Date.now() when it arrived */
  readonly at: number;
}

export interface Receiver {
  readonly url: string;
  /** every verified request, duplicates included, in arrival order */
  readonly received: Received[];
  /** requests whose signature did not verify */
  readonly rejected: string[];
  /** what the consumer sees after deduplicating by event id */
  unique(): Received[];
  /** answer this status to the next requests (default 204) */
  respondWith(status: number): void;
  close(): Promise<void>;
}

/** docs/cooling-off.md's receiver: HMAC-SHA256 over `${timestamp}.${rawBody}`, constant-time compare, 5 min tolerance. */
function verified(secret: string, raw: string, timestamp: string | undefined, sig: string | undefined): boolean {
  if (timestamp === undefined || sig === undefined) return false;
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) return false;
  const expected = Buffer.from(`v1=${createHmac('sha256', secret).update(`${timestamp}.${raw}`).digest('hex')}`);
  const given = Buffer.from(sig);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

export async function startReceiver(secret: string): Promise<Receiver> {
  const received: Received[] = [];
  const rejected: string[] = [];
  let status = 204;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const ts = req.headers['calmpay-timestamp'] as string | undefined;
      if (!verified(secret, raw, ts, req.headers['calmpay-signature'] as string | undefined)) {
        rejected.push(raw);
        res.statusCode = 400;
        res.end();
        return;
      }
      received.push({
        eventId: String(req.headers['calmpay-event-id']),
        timestamp: Number(ts),
        body: JSON.parse(raw) as Record<string, unknown>,
        raw,
        path: req.url ?? '/',
        at: Date.now(),
      });
      res.statusCode = status;
      res.end();
    });
  });
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    rejected,
    unique() {
      const seen = new Set<string>();
      return received.filter((r) => (seen.has(r.eventId) ? false : (seen.add(r.eventId), true)));
    },
    respondWith(s: number) {
      status = s;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export async function waitFor<T>(what: string, probe: () => Promise<T | null | undefined | false> | T | null | undefined | false, timeoutMs = 15_000, everyMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== null && v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A transfer the fixture rules (test/fixtures/rules) score cool_off: elderly payer on a call, large, new payee. */
export function coolOffTransfer(id: string, over: { payer?: string; payee?: string; amount?: number } = {}): Record<string, unknown> {
  return {
    transferId: id,
    occurredAt: new Date().toISOString(),
    amount: over.amount ?? 48_000,
    currency: 'CNY',
    payer: { accountId: over.payer ?? `p-${id}`, birthYear: 1950 },
    payee: { accountId: over.payee ?? `q-${id}` },
    context: { onCall: true },
  };
}

/** A transfer the fixture rules score warn with risk 40: large, new payee, adult payer. */
export function warnTransfer(id: string, over: { payer?: string; payee?: string } = {}): Record<string, unknown> {
  return {
    transferId: id,
    occurredAt: new Date().toISOString(),
    amount: 20_000,
    currency: 'CNY',
    payer: { accountId: over.payer ?? `p-${id}`, birthYear: 1990 },
    payee: { accountId: over.payee ?? `q-${id}` },
  };
}

/** A transfer the fixture rules allow. */
export function allowTransfer(id: string): Record<string, unknown> {
  return {
    transferId: id,
    occurredAt: new Date().toISOString(),
    amount: 50,
    currency: 'CNY',
    payer: { accountId: `p-${id}` },
    payee: { accountId: `q-${id}` },
  };
}

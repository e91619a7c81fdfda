import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signatures of webhook and notification deliveries (DESIGN §2): HMAC-SHA256 with
 * WEBHOOK_SECRET over `<timestamp>.<body>`, in the style of Stripe's and Slack's webhooks.
 * The timestamp (Unix seconds of the delivery attempt) is signed so a captured request cannot
 * be replayed later; the event id lets a receiver drop the duplicates that at-least-once
 * delivery produces.
 *
 * Headers of every delivery:
 *   calmpay-event-id:   evt_<40 hex>   unique per transition (or per notification)
 *   calmpay-timestamp:  1763709000
 *   calmpay-signature:  v1=<64 hex>
 */

export const EVENT_ID_HEADER = 'calmpay-event-id';
export const TIMESTAMP_HEADER = 'calmpay-timestamp';
export const SIGNATURE_HEADER = 'calmpay-signature';

/** How far a receiver should accept a timestamp from its own clock, by default. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

export function signature(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** The headers a delivery carries besides content-type. */
export function signedHeaders(secret: string, eventId: string, timestamp: number, body: string): Record<string, string> {
  return {
    [EVENT_ID_HEADER]: eventId,
    [TIMESTAMP_HEADER]: String(timestamp),
    [SIGNATURE_HEADER]: signature(secret, timestamp, body),
  };
}

export type Verification = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/**
 * What a receiver does (docs/cooling-off.md shows the same in a few lines): recompute the signature
 * over the raw body, compare in constant time, and refuse stale timestamps.
 */
export function verifySignature(
  secret: string,
  rawBody: string,
  timestampHeader: string | undefined,
  signatureHeader: string | undefined,
  nowSeconds: number,
  toleranceSeconds: number = DEFAULT_TOLERANCE_SECONDS,
): Verification {
  if (timestampHeader === undefined || !/^\d{1,12}$/.test(timestampHeader)) return { ok: false, reason: 'missing or malformed timestamp' };
  if (signatureHeader === undefined) return { ok: false, reason: 'missing signature' };
  const timestamp = Number(timestampHeader);
  if (Math.abs(nowSeconds - timestamp) > toleranceSeconds) return { ok: false, reason: 'timestamp outside the tolerance' };
  const expected = Buffer.from(signature(secret, timestamp, rawBody));
  const given = Buffer.from(signatureHeader);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'signature mismatch' };
  return { ok: true };
}

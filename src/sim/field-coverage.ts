/**
 * Which optional event fields the payment backend sends (issue 19). DESIGN §3 makes only
 * transferId, occurredAt, amount, currency, payer.accountId and payee.accountId required; real
 * backends leave the rest out in large proportions, and a model trained on events that always
 * carry them reads a missing field as whatever the few odd rows without it taught it (an
 * adult's everyday repeat payment warned, a child's held). The simulator therefore builds every
 * event with every field it knows, and this module removes the fields a backend would not have
 * sent, in the proportions below.
 *
 * What is missing depends on WHO integrates and WHICH accounts are involved, never on the
 * label: each decision is a keyed hash of the account id (stable for the whole run, as a
 * backend's integration is), so a victim's or a mule's transfers lose fields exactly as often
 * as anyone else's, and "missing" cannot predict fraud.
 *
 * Payer side, by the backend that integrates the payer's account (one per payer):
 * - 65% a wallet app with session telemetry: every field it has.
 * - 20% a backend without session signals (bank transfer pages, mini-program checkouts): no
 *   `context` (call, screen sharing, pasted payee, new device, memo are not collected).
 * - 15% a minimal server-to-server integration (payment APIs, aggregators, partner banks):
 *   only the required fields and `channel`; no birth year, account date, device, time zone or
 *   context.
 * On top, field by field, for payers of the first two kinds:
 * - `birthYear` absent for 8% (the backend is not the account's KYC holder);
 * - `accountCreatedAt` absent for 15% (accounts migrated without their opening date);
 * - `deviceId` absent for 10% (no device fingerprinting) and, on the web channel, for another
 *   half of the payers (browser sessions without a stable device id);
 * - `timeZone` absent for 5%.
 * Payee side, per payee account:
 * - `accountCreatedAt` absent for 35% (payees at another institution or outside the platform:
 *   the backend knows the opening date only of its own accounts).
 */
import type { TransferEvent } from '../features/transfer-event.ts';
import { deriveSeed, mix32 } from './random.ts';

/** `partial`: the proportions above (the default); `all`: every optional field the simulator knows. */
export const OPTIONAL_FIELDS = ['partial', 'all'] as const;
export type OptionalFields = (typeof OPTIONAL_FIELDS)[number];

/** The shares documented above, in one place (tests and docs/simulator.md quote them). */
export const FIELD_COVERAGE = Object.freeze({
  payerBackend: Object.freeze({ noSessionSignals: 0.2, minimal: 0.15 }),
  payerBirthYearAbsent: 0.08,
  payerAccountCreatedAbsent: 0.15,
  payerDeviceAbsent: 0.1,
  webDeviceAbsent: 0.5,
  payerTimeZoneAbsent: 0.05,
  payeeAccountCreatedAbsent: 0.35,
});

type PayerBackend = 'full' | 'no_session_signals' | 'minimal';

/** Uniform in [0, 1) from an account id and a named question, keyed by the run's seed. */
function draw(key: number, id: string, question: number): number {
  let h = key ^ question;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return mix32(h) / 4294967296;
}

const Q = { backend: 1, birthYear: 2, accountCreated: 3, device: 4, webDevice: 5, timeZone: 6, payeeCreated: 7 } as const;

export class FieldCoverage {
  private readonly key: number;

  constructor(seed: number) {
    this.key = deriveSeed(seed, 'field-coverage');
  }

  payerBackend(payerId: string): PayerBackend {
    const u = draw(this.key, payerId, Q.backend);
    const b = FIELD_COVERAGE.payerBackend;
    return u < b.minimal ? 'minimal' : u < b.minimal + b.noSessionSignals ? 'no_session_signals' : 'full';
  }

  /** The event as the backend sends it: a new object without the fields it would leave out. */
  apply(e: TransferEvent): TransferEvent {
    const id = e.payer.accountId;
    const backend = this.payerBackend(id);
    const c = FIELD_COVERAGE;
    const payee = { ...e.payee };
    if (draw(this.key, e.payee.accountId, Q.payeeCreated) < c.payeeAccountCreatedAbsent) delete payee.accountCreatedAt;
    if (backend === 'minimal') {
      const out: TransferEvent = { ...e, payer: { accountId: id }, payee };
      delete out.context;
      return out;
    }
    const payer = { ...e.payer };
    if (draw(this.key, id, Q.birthYear) < c.payerBirthYearAbsent) delete payer.birthYear;
    if (draw(this.key, id, Q.accountCreated) < c.payerAccountCreatedAbsent) delete payer.accountCreatedAt;
    if (
      draw(this.key, id, Q.device) < c.payerDeviceAbsent ||
      (e.channel === 'web' && draw(this.key, id, Q.webDevice) < c.webDeviceAbsent)
    ) {
      delete payer.deviceId;
    }
    if (draw(this.key, id, Q.timeZone) < c.payerTimeZoneAbsent) delete payer.timeZone;
    const out: TransferEvent = { ...e, payer, payee };
    if (backend === 'no_session_signals') delete out.context;
    return out;
  }
}

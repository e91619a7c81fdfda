import type { ScamType } from '../scoring/scam-types.ts';
import type { TransferEvent } from '../features/transfer-event.ts';
import type { OptionalFields } from './field-coverage.ts';

/** The scam typologies the simulator tells victim stories for (each with its own signals). */
export const SIM_TYPOLOGIES = [
  'impersonation',
  'investment',
  'part_time_job',
  'romance',
  'fake_refund',
  'purchase',
] as const satisfies readonly ScamType[];
export type SimTypology = (typeof SIM_TYPOLOGIES)[number];

export const REPORTERS = ['victim', 'family', 'bank', 'police'] as const;
export type Reporter = (typeof REPORTERS)[number];

/** victim: the payer is the scam victim; mule: the payer is a mule account passing money on */
export type SimRole = 'victim' | 'mule';

/**
 * Ground truth of one simulated transfer. Every transfer of one scam case (one victim, one
 * story; or one mule account's onward transfers) shares `caseId`, `reportedAt` and
 * `reporter`. `reportedAt` is null for a case nobody reports; when set it is after the case's
 * last transfer, and it may lie after the simulated period (reports arrive late).
 */
export interface SimLabel {
  readonly fraud: boolean;
  readonly scamType: ScamType | null;
  readonly role: SimRole | null;
  readonly caseId: string | null;
  readonly reportedAt: string | null;
  readonly reporter: Reporter | null;
}

export interface SimRecord {
  readonly event: TransferEvent;
  readonly label: SimLabel;
}

export interface SimOptions {
  /** number of payers in the population (mule accounts come on top) */
  readonly payers: number;
  /** length of the simulated period in days */
  readonly days: number;
  /** PRNG seed: the same seed and options give the same records, byte for byte */
  readonly seed: number;
  /** first day of the period, `YYYY-MM-DD` (UTC midnight) */
  readonly start: string;
  /** target share of fraudulent transfers (victim and mule transfers) among all transfers */
  readonly fraudRate: number;
  /**
   * `partial`: optional fields left out as payment backends leave them out (field-coverage.ts);
   * `all`: every optional field the simulator knows (for tests of the typologies' signals)
   */
  readonly optionalFields: OptionalFields;
}

export const DEFAULT_SIM_OPTIONS: SimOptions = Object.freeze({
  payers: 10_000,
  days: 30,
  seed: 1,
  start: '2026-06-01',
  fraudRate: 0.005,
  optionalFields: 'partial',
});

import type { LabelledEvent } from '../train/pipeline.ts';

/** A labelled event with what the report breaks metrics down by. */
export interface ReplayRow extends LabelledEvent {
  /** fraud scenario or scam type; '0' for legitimate rows */
  readonly scenario: string;
  /**
   * A context row (PaySim's PAYMENT, DEBIT, CASH_IN): it goes through the feature code, so it
   * feeds the accounts' history, but it is neither trained on, nor scored, nor decided.
   */
  readonly context?: boolean;
}

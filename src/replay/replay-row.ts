import type { LabelledEvent } from '../train/pipeline.ts';

/** A labelled event with what the report breaks metrics down by. */
export interface ReplayRow extends LabelledEvent {
  /** fraud scenario or scam type; '0' for legitimate rows */
  readonly scenario: string;
}

import type { SegmentPolicy } from './scoring-config.ts';
import type { Language } from '../i18n/language.ts';

/**
 * What a score chooses once for its transfer and everything after it reads (issue 18: they were
 * chosen twice, the second time without Accept-Language): the language of the warnings — the
 * screen warning of the reply and the voice warning the lifecycle sends — and the policy of the
 * payer's age band, whose hold the decision states and the lifecycle keeps.
 */
export interface ScoreChoices {
  readonly language: Language;
  readonly policy: SegmentPolicy;
}

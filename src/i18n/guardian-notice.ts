import type { GuardianOutcome } from '../features/velocity-state.ts';
import { COPY } from './copy/index.ts';
import type { Language } from './language.ts';
import { fill } from './template.ts';

/**
 * What a minor sees when a guardian's limit blocks a transfer (issue 6): short words a child
 * understands, no blame, and what to do next (ask the parent or guardian); the words are in
 * copy/. Pure.
 */

export const GUARDIAN_REASONS = ['guardian_limit_per_transfer', 'guardian_limit_daily', 'guardian_limit_currency'] as const;
export type GuardianReason = (typeof GUARDIAN_REASONS)[number];

/** The guardian limit that blocked a transfer, as stored with the decision. */
export interface GuardianBlock {
  readonly reason: GuardianReason;
  readonly currency: string;
  /** the limit that was exceeded (major units); null for a currency mismatch */
  readonly limit: number | null;
  /** spent that local day before this transfer */
  readonly spentToday: number;
}

export function guardianReason(outcome: Exclude<GuardianOutcome, 'within'>): GuardianReason {
  switch (outcome) {
    case 'per_transfer':
      return 'guardian_limit_per_transfer';
    case 'daily':
      return 'guardian_limit_daily';
    case 'currency':
      return 'guardian_limit_currency';
  }
}

export interface GuardianNotice {
  readonly reason: GuardianReason;
  readonly title: string;
  readonly message: string;
}

function money(n: number, currency: string, lang: Language): string {
  return new Intl.NumberFormat(COPY[lang].guardianNotices.moneyLocale, { style: 'currency', currency }).format(n);
}

export function renderGuardianNotice(b: GuardianBlock, lang: Language): GuardianNotice {
  const limit = b.limit === null ? '' : money(b.limit, b.currency, lang);
  const left = b.limit === null ? '' : money(Math.max(0, b.limit - b.spentToday), b.currency, lang);
  const notice = COPY[lang].guardianNotices.notices[b.reason];
  return { reason: b.reason, title: notice.title, message: fill(notice.message, { limit, left, currency: b.currency }) };
}

import type { GuardianOutcome } from '../features/velocity-state.ts';
import type { Language } from './warnings.ts';

/**
 * What a minor sees when a guardian's limit blocks a transfer (issue 6): short words a child
 * understands, no blame, and what to do next (ask the parent or guardian). Pure.
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
  return new Intl.NumberFormat(lang === 'zh' ? 'zh-CN' : 'en', { style: 'currency', currency }).format(n);
}

export function renderGuardianNotice(b: GuardianBlock, lang: Language): GuardianNotice {
  const limit = b.limit === null ? '' : money(b.limit, b.currency, lang);
  const left = b.limit === null ? '' : money(Math.max(0, b.limit - b.spentToday), b.currency, lang);
  if (lang === 'zh') {
    switch (b.reason) {
      case 'guardian_limit_per_transfer':
        return { reason: b.reason, title: '这笔钱太多了', message: `你的家长设置了每次最多转 ${limit}。这次没有转出去。需要的话，请找家长帮忙。` };
      case 'guardian_limit_daily':
        return { reason: b.reason, title: '今天的额度用完了', message: `你的家长设置了每天最多转 ${limit}，今天还能转 ${left}。这次没有转出去。明天再试，或者请家长帮忙。` };
      case 'guardian_limit_currency':
        return { reason: b.reason, title: '不能用这种货币转账', message: `你的家长只允许用 ${b.currency} 转账。这次没有转出去。请找家长帮忙。` };
    }
  }
  switch (b.reason) {
    case 'guardian_limit_per_transfer':
      return { reason: b.reason, title: 'That is more than you can send at once', message: `Your parent or guardian set a limit of ${limit} for each payment. This payment was not sent. Ask them if you need help.` };
    case 'guardian_limit_daily':
      return { reason: b.reason, title: 'You have used up today\'s limit', message: `Your parent or guardian set a limit of ${limit} a day, and you have ${left} left today. This payment was not sent. Try again tomorrow or ask them for help.` };
    case 'guardian_limit_currency':
      return { reason: b.reason, title: 'You cannot pay in this currency', message: `Your parent or guardian only allows payments in ${b.currency}. This payment was not sent. Ask them for help.` };
  }
}

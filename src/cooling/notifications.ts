import type { ScamType } from '../scoring/scam-types.ts';
import { COPY } from '../i18n/copy/index.ts';
import type { Language } from '../i18n/language.ts';
import { renderWarning } from '../i18n/render-warning.ts';
import { fill } from '../i18n/template.ts';
import type { AgeBand } from '../features/catalogue.ts';
import type { TrustedContact } from './lifecycle-store.ts';

/**
 * The bodies of notification deliveries (pure). Each has its own event id, derived from the
 * transition that caused it, so a receiver dedupes notifications like webhooks.
 */

/** The transition event as the outbox delivers it (built by outbox-event.ts from the fields lifecycle-common.lua stores). */
export interface LifecycleEvent {
  readonly id: string;
  readonly type: string;
  readonly createdAt: string;
  readonly transferId: string;
  readonly seq: number;
  readonly from: string | null;
  readonly to: string;
  readonly actor: string;
  readonly reason: string;
  readonly payerId: string | null;
  readonly payeeId: string | null;
  readonly amount: number | null;
  readonly currency: string | null;
  readonly action: 'warn' | 'cool_off' | null;
  readonly riskScore: number | null;
  readonly segment: AgeBand | null;
  readonly scamType: ScamType | null;
  readonly holdUntil: string | null;
}

export interface VoiceWarning {
  readonly id: string;
  readonly type: 'voice.warning';
  readonly createdAt: string;
  readonly transferId: string;
  readonly payerId: string | null;
  readonly language: Language;
  readonly scamType: ScamType;
  /** what the text-to-speech service reads to the payer */
  readonly voiceScript: string;
}

/** The voice warning of a warned transfer; null when the decision named no scam type. */
export function voiceWarning(e: LifecycleEvent, lang: Language, holdMinutes: number): VoiceWarning | null {
  if (e.scamType === null || e.action === null) return null;
  const w = renderWarning({ scamType: e.scamType, segment: e.segment, action: e.action, lang, holdMinutes: Math.max(1, holdMinutes) });
  return {
    id: `${e.id}-voice`,
    type: 'voice.warning',
    createdAt: e.createdAt,
    transferId: e.transferId,
    payerId: e.payerId,
    language: lang,
    scamType: e.scamType,
    voiceScript: w.voiceScript,
  };
}

export interface TrustedContactNotice {
  readonly id: string;
  readonly type: 'trusted_contact.hold_started';
  readonly createdAt: string;
  readonly transferId: string;
  readonly payerId: string | null;
  readonly contact: { readonly name: string; readonly phone: string };
  readonly language: Language;
  readonly amount: number | null;
  readonly currency: string | null;
  readonly holdUntil: string | null;
  /** a text message to send to the contact */
  readonly message: string;
}

const amountText = (e: LifecycleEvent): string => `${e.amount === null ? '' : e.amount.toLocaleString('en-US')} ${e.currency ?? ''}`.trim();

export function trustedContactNotice(e: LifecycleEvent, contact: TrustedContact, fallback: Language): TrustedContactNotice {
  const lang: Language = contact.language === 'zh' || contact.language === 'en' ? contact.language : fallback;
  const until = e.holdUntil === null ? '' : `${e.holdUntil.slice(0, 16).replace('T', ' ')} UTC`;
  const who = e.payerId ?? '';
  const message = fill(COPY[lang].trustedContactHoldStarted, { name: contact.name, payer: who, amount: amountText(e), until });
  return {
    id: `${e.id}-contact`,
    type: 'trusted_contact.hold_started',
    createdAt: e.createdAt,
    transferId: e.transferId,
    payerId: e.payerId,
    contact: { name: contact.name, phone: contact.phone },
    language: lang,
    amount: e.amount,
    currency: e.currency,
    holdUntil: e.holdUntil,
    message,
  };
}

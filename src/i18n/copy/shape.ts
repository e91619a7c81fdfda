import type { AgeBand } from '../../features/catalogue.ts';
import type { ScamType } from '../../scoring/scam-types.ts';
import type { GuardianReason } from '../guardian-notice.ts';

/**
 * The shape of one language's copy: every word calmpay shows, speaks or sends. Each language
 * is one object of this type (en.ts, zh.ts), so a text missing in one language is a compile
 * error. Conventions for translators:
 * - Placeholders are `{name}` (template.ts); each text's doc below lists the ones it may use,
 *   and a unit test checks every language uses the same placeholders in the same text.
 * - Voice scripts are read by text-to-speech: short (under ~60 English words / ~120 Chinese
 *   characters including the hold notice), no quotes, brackets, symbols or URLs, and phone
 *   numbers spelt digit by digit ("nine six one one zero", "九六幺幺零") so a TTS engine does not
 *   read 110 as "one hundred and ten".
 * - elderly: short sentences, plain words, call a family member before paying.
 *   minor: child-friendly words (你, not 您), tell a parent or guardian (家长).
 * - 110 is the police; 96110 is China's national anti-fraud warning hotline.
 */
export interface Copy {
  /** how sentences from different texts are joined (a space in English, nothing in Chinese) */
  readonly joiner: string;
  /** the hold duration as it is written and spoken: `{n}` is the number of minutes */
  readonly minutes: { readonly one: string; readonly other: string };
  /** the risk reminder of a warn or cool_off decision, per scam type and wording; no placeholders */
  readonly warnings: Readonly<Record<ScamType, Readonly<Record<WarningVariant, WarningText>>>>;
  /** appended to the warning of a cool_off; `{minutes}` is the filled `minutes` text */
  readonly holdNotices: Readonly<Record<WarningVariant, HoldNotice>>;
  readonly factors: FactorCopy;
  /** what a minor sees when a guardian's limit blocks a transfer (issue 6) */
  readonly guardianNotices: GuardianCopy;
  /**
   * The text message to a trusted contact when a hold starts: `{name}` the contact's name,
   * `{payer}` the payer's account, `{amount}` the amount and currency, `{until}` the end of the hold.
   */
  readonly trustedContactHoldStarted: string;
}

/** Which wording a segment gets; adults and payers of unknown age get the standard text. */
export type WarningVariant = 'standard' | 'elderly' | 'minor';

export interface WarningText {
  readonly title: string;
  readonly message: string;
  readonly voiceScript: string;
}

export interface HoldNotice {
  readonly message: string;
  readonly voiceScript: string;
}

/** The words of a model factor phrase, e.g. "Transfer amount: 48,000 (raises the risk)". */
export interface FactorCopy {
  /** the BCP 47 locale numbers are formatted in */
  readonly numberLocale: string;
  /** `{label}` the feature's name, `{value}` its value, `{direction}` raises or lowers */
  readonly phrase: string;
  readonly yes: string;
  readonly no: string;
  readonly unknown: string;
  readonly raises: string;
  readonly lowers: string;
  readonly ageBands: Readonly<Record<AgeBand, string>>;
  /**
   * Features with their own name in this language. The one exception to "every language has
   * every key": a feature without a name here is named by its catalogue description
   * (factor-labels.ts), so English needs no table and a new feature is named at once; a unit
   * test checks every model feature has a Chinese name.
   */
  readonly featureNames: Readonly<Record<string, string>>;
}

/**
 * Short words a child understands, no blame, and what to do next. `{limit}` the exceeded
 * limit and `{left}` what is left today, as money; `{currency}` the currency code.
 */
export interface GuardianCopy {
  /** the BCP 47 locale money is formatted in */
  readonly moneyLocale: string;
  readonly notices: Readonly<Record<GuardianReason, { readonly title: string; readonly message: string }>>;
}

/**
 * The risk reminder shown on the transfer page and the voice warning played with it
 * (DESIGN §1: `warn` and `cool_off`). Modelled on WeChat Pay's intervention: a reminder that
 * names the likely scam, its tell-tale signs and what to do, plus a short spoken warning;
 * when dissuasion fails, a cooling-off hold the payer can still cancel. Pure; the words are
 * in copy/.
 */
import type { AgeBand } from '../features/catalogue.ts';
import type { ScamType } from '../scoring/scam-types.ts';
import { BoundedCache } from '../bounded-cache.ts';
import { COPY } from './copy/index.ts';
import type { Copy, HoldNotice, WarningVariant } from './copy/shape.ts';
import type { Language } from './language.ts';
import { fill } from './template.ts';

export interface Warning {
  title: string;
  message: string;
  voiceScript: string;
  scamType: ScamType;
}

export interface WarningInput {
  scamType: ScamType;
  segment: AgeBand | null;
  action: 'warn' | 'cool_off';
  lang: Language;
  /** length of the cooling-off hold; only read when action is 'cool_off' */
  holdMinutes: number;
}

/** The warning texts of every language (a view of COPY). */
export const WARNING_TEXTS: Readonly<Record<Language, Copy['warnings']>> = { en: COPY.en.warnings, zh: COPY.zh.warnings };
/** The hold notices of every language (a view of COPY): appended when the action is `cool_off`. */
export const HOLD_NOTICES: Readonly<Record<Language, Copy['holdNotices']>> = {
  en: COPY.en.holdNotices,
  zh: COPY.zh.holdNotices,
};

export function warningVariant(segment: AgeBand | null): WarningVariant {
  return segment === 'elderly' || segment === 'minor' ? segment : 'standard';
}

/**
 * The warning for one decision. Throws a RangeError when a cool_off is asked for with a hold
 * that is not a positive whole number of minutes: that is a configuration bug, not input.
 */
export function renderWarning(input: WarningInput): Warning {
  const { scamType, segment, action, lang } = input;
  const variant = warningVariant(segment);
  const text = COPY[lang].warnings[scamType][variant];
  if (action === 'warn') {
    return { title: text.title, message: text.message, voiceScript: text.voiceScript, scamType };
  }
  if (!Number.isInteger(input.holdMinutes) || input.holdMinutes <= 0) {
    throw new RangeError(`holdMinutes must be a positive integer for cool_off, got ${input.holdMinutes}`);
  }
  const hold = holdSuffix(lang, variant, input.holdMinutes);
  return {
    title: text.title,
    message: text.message + hold.message,
    voiceScript: text.voiceScript + hold.voiceScript,
    scamType,
  };
}

/**
 * The filled hold notice of a cool_off, joiner included, for a language, variant and hold
 * length. Every cool_off of a segment has the same hold, so the few combinations a
 * configuration has are filled once rather than on every score (bounded, should stored
 * decisions with many hold lengths be replayed).
 */
const holdSuffixes = new BoundedCache<string, HoldNotice>(256);

function holdSuffix(lang: Language, variant: WarningVariant, holdMinutes: number): HoldNotice {
  const key = `${lang} ${variant} ${holdMinutes}`;
  return holdSuffixes.getOr(key, () => {
    const copy = COPY[lang];
    const hold = copy.holdNotices[variant];
    const vars = { minutes: fill(holdMinutes === 1 ? copy.minutes.one : copy.minutes.other, { n: String(holdMinutes) }) };
    return { message: copy.joiner + fill(hold.message, vars), voiceScript: copy.joiner + fill(hold.voiceScript, vars) };
  });
}

import { featureSpec, type FeatureValue } from '../features/catalogue.ts';
import { COPY } from './copy/index.ts';
import { SUPPORTED_LANGUAGES, type Language } from './language.ts';
import { fill } from './template.ts';

/**
 * The model's factors as words, e.g. "Transfer amount: 48,000 (raises the risk)". English
 * names are derived from the catalogue description (parenthetical notes and the trailing
 * "before this one" dropped), so a new feature gets a phrase without an edit here; Chinese
 * needs an entry in copy/zh.ts (a unit test checks every model feature has one), and falls
 * back to the English phrase until it has.
 */

const own = (table: object, key: string): boolean => Object.prototype.hasOwnProperty.call(table, key);

/** The English phrase derived from a catalogue description. */
export function englishLabel(description: string): string {
  return description
    .replace(/\s*\([^)]*\)/g, '')
    .replace(/,\s*before this (one|transfer)$/, '')
    .trim();
}

/** Whether `feature` has its own Chinese name (else factorLabel falls back to English). */
export function hasChineseLabel(feature: string): boolean {
  return own(COPY.zh.factors.featureNames, feature);
}

export function factorLabel(feature: string, lang: Language): string {
  const names = COPY[lang].factors.featureNames;
  if (own(names, feature)) return names[feature]!;
  const spec = featureSpec(feature);
  return spec ? englishLabel(spec.description) : feature;
}

/** A closed-set string value (payer.age_band) as words. */
function valueLabel(_feature: string, value: string, lang: Language): string {
  const bands = COPY[lang].factors.ageBands;
  return own(bands, value) ? bands[value as keyof typeof bands] : value;
}

const NUMBER_FORMAT = Object.fromEntries(
  SUPPORTED_LANGUAGES.map((lang) => [lang, new Intl.NumberFormat(COPY[lang].factors.numberLocale, { maximumFractionDigits: 2 })]),
) as Readonly<Record<Language, Intl.NumberFormat>>;

function valueText(feature: string, value: FeatureValue, lang: Language): string {
  const words = COPY[lang].factors;
  if (value === null) return words.unknown;
  if (typeof value === 'boolean') return value ? words.yes : words.no;
  if (typeof value === 'number') return NUMBER_FORMAT[lang].format(value);
  return valueLabel(feature, value, lang);
}

/** The phrase of one factor: its name, its value as the model saw it, and which way it moved the risk. */
export function factorPhrase(feature: string, value: FeatureValue, direction: 'raises' | 'lowers', lang: Language): string {
  const words = COPY[lang].factors;
  return fill(words.phrase, { label: factorLabel(feature, lang), value: valueText(feature, value, lang), direction: words[direction] });
}

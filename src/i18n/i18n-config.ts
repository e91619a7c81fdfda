/**
 * Configuration of the translated copy (src/i18n): the language of a warning when neither the
 * request nor the event chooses one. A slice of src/config.ts's composition; must not import src/config.ts.
 */
import { ConfigError, type Env } from '../config-env.ts';
import type { Language } from './language.ts';

export interface I18nConfig {
  readonly defaultLanguage: Language;
}

export const I18N_VARIABLES = ['DEFAULT_LANGUAGE'] as const;

export function loadI18nConfig(env: Env): I18nConfig {
  const lang = env.DEFAULT_LANGUAGE || 'en';
  if (lang !== 'en' && lang !== 'zh') {
    throw new ConfigError(`DEFAULT_LANGUAGE must be en or zh, got "${lang}"`);
  }
  return Object.freeze({ defaultLanguage: lang });
}

import type { Language } from '../language.ts';
import { EN } from './en.ts';
import type { Copy } from './shape.ts';
import { ZH } from './zh.ts';

/** The copy of every supported language. */
export const COPY: Readonly<Record<Language, Copy>> = { en: EN, zh: ZH };

/**
 * The language calmpay speaks to a payer: an explicit choice, else the Accept-Language header
 * (RFC 9110 §12.5.4, RFC 4647 lookup), else the configured fallback. Pure.
 */
import { BoundedCache } from '../bounded-cache.ts';

export const SUPPORTED_LANGUAGES = ['en', 'zh'] as const;
export type Language = (typeof SUPPORTED_LANGUAGES)[number];

/** RFC 5646 language tag shape (loose), with '_' accepted for the explicit field (Android "zh_CN"). */
const TAG = /^[a-z]{1,8}(?:[-_][a-z0-9]{1,8})*$/i;

/**
 * The supported language a tag falls back to by RFC 4647 §3.4 lookup: the tag is truncated
 * until it matches, so "zh-CN", "zh-Hans" and "zh-Hant-TW" all reach "zh" (Simplified Chinese,
 * the only Chinese we ship and the closest to what a Traditional reader asks for).
 */
function lookup(tag: string): Language | null {
  if (!TAG.test(tag)) return null;
  const primary = tag.split(/[-_]/)[0]!.toLowerCase();
  return (SUPPORTED_LANGUAGES as readonly string[]).includes(primary) ? (primary as Language) : null;
}

/** Accept-Language headers longer than this are cut: the language choice never needs more. */
const MAX_RANGES = 32;
/** RFC 9110 §12.4.2 qvalue */
const QVALUE = /^q=(0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/i;

interface Range {
  /** the supported language this range selects, or '*' */
  lang: Language | '*';
  q: number;
  position: number;
}

function parseAcceptLanguage(header: string): Range[] {
  const ranges: Range[] = [];
  const parts = header.split(',').slice(0, MAX_RANGES);
  parts.forEach((part, position) => {
    const [rawTag, ...params] = part.split(';').map((s) => s.trim());
    if (!rawTag) return;
    let q = 1;
    for (const p of params) {
      const m = QVALUE.exec(p);
      if (!m) return; // a malformed weight makes the whole range unusable
      q = Number(m[1]);
    }
    if (rawTag === '*') {
      ranges.push({ lang: '*', q, position });
      return;
    }
    if (rawTag.includes('_')) return; // not a valid range in a header
    const lang = lookup(rawTag);
    if (lang) ranges.push({ lang, q, position });
  });
  return ranges;
}

/**
 * The language to warn in. An explicit field (from the transfer event or the app settings)
 * wins when it names a supported language; otherwise the best supported language in the
 * Accept-Language header by q-value (ties go to the earlier range; `*` stands for every
 * supported language the header does not name, preferring the fallback; q=0 excludes);
 * otherwise the fallback.
 */
export function pickLanguage(
  acceptLanguage: string | undefined,
  explicit: string | undefined,
  fallback: Language,
): Language {
  if (explicit !== undefined) {
    const lang = lookup(explicit.trim());
    if (lang) return lang;
  }
  if (!acceptLanguage) return fallback;
  if (acceptLanguage.length > MAX_CACHED_HEADER) return fromAcceptLanguage(acceptLanguage, fallback);
  return headerChoices[fallback].getOr(acceptLanguage, (header) => fromAcceptLanguage(header, fallback));
}

/**
 * Parsing an Accept-Language header costs microseconds (splits, regexes, closures), and the
 * header of a client app is the same on every request, so the choice is kept per header and
 * fallback: a bounded number of ordinary-length headers, anything longer parsed every time.
 */
const MAX_CACHED_HEADER = 256;
const MAX_CACHED_HEADERS = 512;
const headerChoices: Readonly<Record<Language, BoundedCache<string, Language>>> = {
  en: new BoundedCache(MAX_CACHED_HEADERS),
  zh: new BoundedCache(MAX_CACHED_HEADERS),
};

function fromAcceptLanguage(acceptLanguage: string, fallback: Language): Language {
  const ranges = parseAcceptLanguage(acceptLanguage);
  const wildcard = ranges.find((r) => r.lang === '*');
  // Candidates in preference order for equal q: fallback first, then declaration order.
  const order: Language[] = [fallback, ...SUPPORTED_LANGUAGES.filter((l) => l !== fallback)];
  let best: { lang: Language; q: number; position: number } | null = null;
  for (const lang of order) {
    const named = ranges.filter((r) => r.lang === lang);
    let q: number;
    let position: number;
    if (named.length > 0) {
      const top = named.reduce((a, b) => (b.q > a.q ? b : a));
      q = top.q;
      position = top.position;
    } else if (wildcard) {
      q = wildcard.q;
      position = wildcard.position;
    } else {
      continue;
    }
    if (q <= 0) continue;
    if (!best || q > best.q || (q === best.q && position < best.position)) best = { lang, q, position };
  }
  return best ? best.lang : fallback;
}

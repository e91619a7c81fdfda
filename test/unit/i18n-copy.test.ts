import { describe, expect, it } from 'vitest';
import { COPY } from '../../src/i18n/copy/index.ts';
import { SUPPORTED_LANGUAGES } from '../../src/i18n/language.ts';
import { fill, placeholders } from '../../src/i18n/template.ts';

/** Every text of a language's copy by its path, as its sorted placeholder names. */
function texts(node: unknown, path: string, out: Map<string, string[]>): Map<string, string[]> {
  if (typeof node === 'string') {
    out.set(path, placeholders(node).sort());
  } else if (typeof node === 'object' && node !== null) {
    for (const [key, child] of Object.entries(node)) {
      // The documented exception (copy/shape.ts): a language names only the features it has
      // its own words for; the others are named from the catalogue.
      if (path === 'factors' && key === 'featureNames') continue;
      texts(child, path === '' ? key : `${path}.${key}`, out);
    }
  } else {
    throw new Error(`${path}: copy holds only strings, found ${typeof node}`);
  }
  return out;
}

describe('the copy of every language', () => {
  const en = texts(COPY.en, '', new Map());

  it('has the texts of the warnings, hold notices, factors, guardian notices and trusted contact notice', () => {
    expect(en.size).toBeGreaterThan(9 * 3 * 3);
    expect(en.get('holdNotices.elderly.voiceScript')).toEqual(['minutes']);
    expect(en.get('guardianNotices.notices.guardian_limit_daily.message')).toEqual(['left', 'limit']);
    expect(en.get('trustedContactHoldStarted')).toEqual(['amount', 'name', 'payer', 'until']);
  });

  it.each(SUPPORTED_LANGUAGES.filter((l) => l !== 'en'))('%s has the same texts as en, with the same placeholders', (lang) => {
    const other = texts(COPY[lang], '', new Map());
    expect([...other.keys()].sort()).toEqual([...en.keys()].sort());
    for (const [path, names] of en) expect({ path, names: other.get(path) }).toEqual({ path, names });
  });

  it('has no placeholders in feature names', () => {
    for (const lang of SUPPORTED_LANGUAGES) {
      for (const name of Object.values(COPY[lang].factors.featureNames)) expect(placeholders(name)).toEqual([]);
    }
  });
});

describe('fill', () => {
  it('replaces every placeholder and inserts values as they are', () => {
    expect(fill('{a} and {b}, {a}', { a: '{b}', b: 'x' })).toBe('{b} and x, {b}');
    expect(fill('no placeholder', {})).toBe('no placeholder');
    expect(fill('{n}分钟', { n: '15' })).toBe('15分钟');
  });

  it('throws on a placeholder without a value', () => {
    expect(() => fill('wait {minutes}', { n: '1' })).toThrow(new Error('unknown placeholder {minutes} in "wait {minutes}"'));
  });
});

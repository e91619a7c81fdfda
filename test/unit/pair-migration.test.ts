import { describe, expect, it } from 'vitest';
import { globEscape, migrationSummary, pairPattern, parsePairKey } from '../../src/store/pair-migration.ts';

describe('the pair migration keys (npm run redis:migrate)', () => {
  it('matches only pair keys under the prefix, a prefix with glob characters included', () => {
    expect(pairPattern('cp:')).toBe('cp:{a:*}:pair:*');
    expect(globEscape('t*[x]?\\:')).toBe('t\\*\\[x\\]\\?\\\\:');
    expect(pairPattern('a*b:')).toBe('a\\*b:{a:*}:pair:*');
  });

  it('reads payer and payee of a pair key, and nothing of another key', () => {
    expect(parsePairKey('cp:', 'cp:{a:p1}:pair:q:1')).toEqual({ payer: 'p1', payee: 'q:1' });
    expect(parsePairKey('cp:', 'cp:{a:q1}:pairin:p1')).toBeNull();
    expect(parsePairKey('cp:', 'cp:{a:p1}:out')).toBeNull();
    expect(parsePairKey('cp:', 'xx:{a:p1}:pair:q1')).toBeNull();
  });

  it('says what a run did in one line', () => {
    expect(migrationSummary({ scanned: 3, created: 1, merged: 1, unchanged: 1, gone: 0, malformed: 0 }, 1, 1234)).toBe(
      'redis:migrate: 3 pair keys on 1 primary: 1 pairin created, 1 merged, 1 already up to date, 0 expired meanwhile, 0 malformed (left as they are), in 1.2 s',
    );
  });
});

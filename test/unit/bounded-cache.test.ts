import { describe, expect, it } from 'vitest';
import { BoundedCache } from '../../src/bounded-cache.ts';

describe('BoundedCache', () => {
  it('keeps at most max entries, dropping the oldest, and computes a value once while it is kept', () => {
    const cache = new BoundedCache<string, number>(3);
    let made = 0;
    const make = (k: string) => {
      made++;
      return k.length;
    };
    for (const k of ['a', 'bb', 'ccc']) cache.getOr(k, make);
    expect([cache.size, made]).toEqual([3, 3]);
    expect(cache.getOr('bb', make)).toBe(2);
    expect(made).toBe(3);
    cache.getOr('dddd', make); // drops 'a', the oldest
    expect(cache.size).toBe(3);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('dddd')).toBe(4);
    cache.set('bb', 20); // replacing a kept key drops nothing
    expect([cache.size, cache.get('ccc'), cache.get('bb')]).toEqual([3, 3, 20]);
  });

  it('says when a set would drop the oldest, and frees room on delete', () => {
    const cache = new BoundedCache<string, number>(2);
    cache.set('a', 1);
    cache.set('b', 2);
    expect([cache.wouldDrop('b'), cache.wouldDrop('c'), cache.has('a')]).toEqual([false, true, true]);
    expect(cache.delete('a')).toBe(true);
    expect([cache.has('a'), cache.wouldDrop('c'), cache.size]).toEqual([false, false, 1]);
  });
});

/**
 * A memo that holds at most `max` entries: adding one more drops the oldest. For caches whose
 * keys arrive with requests (time-zone names, Accept-Language headers, account ids), so that no
 * client can grow them without bound.
 */
export class BoundedCache<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(readonly max: number) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: K): V | undefined {
    return this.entries.get(key);
  }

  has(key: K): boolean {
    return this.entries.has(key);
  }

  delete(key: K): boolean {
    return this.entries.delete(key);
  }

  /** Whether set(key, …) would drop the oldest entry to make room. */
  wouldDrop(key: K): boolean {
    return this.entries.size >= this.max && !this.entries.has(key);
  }

  set(key: K, value: V): V {
    if (this.wouldDrop(key)) {
      this.entries.delete(this.entries.keys().next().value as K);
    }
    this.entries.set(key, value);
    return value;
  }

  /** The cached value of `key`, else `make(key)`, cached. */
  getOr(key: K, make: (key: K) => V): V {
    const cached = this.entries.get(key);
    return cached !== undefined ? cached : this.set(key, make(key));
  }
}

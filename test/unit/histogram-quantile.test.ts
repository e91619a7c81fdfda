import { describe, expect, it } from 'vitest';
import { Histogram } from '../../src/http/metrics.ts';

describe('Histogram.quantile (the console overview latency, issue 17)', () => {
  it('interpolates within the bucket the rank falls in, as histogram_quantile does', () => {
    const h = new Histogram('h', 'h', [1, 2, 4]);
    expect(h.quantile(0.5)).toBeNull();
    for (const v of [0.5, 1.5, 1.5, 3]) h.observe(v);
    expect(h.total).toBe(4);
    // rank 2 of 4: the first of the two in (1, 2]
    expect(h.quantile(0.5)).toBe(1.5);
    // rank 0.99 × 4 = 3.96: in (2, 4], 0.96 of the way
    expect(h.quantile(0.99)).toBeCloseTo(3.92);
    expect(h.quantile(0.25)).toBe(1);
  });

  it('answers the largest bound for a rank beyond it', () => {
    const h = new Histogram('h', 'h', [1, 2]);
    h.observe(5);
    expect(h.quantile(0.5)).toBe(2);
  });
});

import type { StoredDecision } from '../scoring/decision.ts';

/**
 * Prometheus metrics (text exposition format 0.0.4) without a client library: a handful of
 * counters and one latency histogram, cheap enough to update on every score.
 */

type Labels = Readonly<Record<string, string>>;

/** A label value needs escaping only when it holds one of these; rule ids and actions never do. */
const NEEDS_ESCAPE = /[\\"\n]/;

function labelValue(v: string): string {
  return NEEDS_ESCAPE.test(v) ? v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : v;
}

/** The series key; built on every score, so a plain loop rather than entries/map/join. */
function labelText(labels: Labels): string {
  let text = '';
  for (const k of Object.keys(labels)) text += `${text === '' ? '{' : ','}${k}="${labelValue(labels[k]!)}"`;
  return text === '' ? '' : `${text}}`;
}

export class Counter {
  readonly name: string;
  readonly help: string;
  private readonly values = new Map<string, number>();

  constructor(name: string, help: string) {
    this.name = name;
    this.help = help;
  }

  inc(labels: Labels = {}, by = 1): void {
    const key = labelText(labels);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }

  get(labels: Labels = {}): number {
    return this.values.get(labelText(labels)) ?? 0;
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const [key, v] of this.values) lines.push(`${this.name}${key} ${v}`);
    return lines.join('\n');
  }
}

export class Histogram {
  readonly name: string;
  readonly help: string;
  private readonly bounds: readonly number[];
  private readonly counts: number[];
  private sum = 0;
  private count = 0;

  /** @param bounds upper bounds of the buckets, increasing */
  constructor(name: string, help: string, bounds: readonly number[]) {
    this.name = name;
    this.help = help;
    this.bounds = bounds;
    this.counts = new Array<number>(bounds.length).fill(0);
  }

  observe(v: number): void {
    this.sum += v;
    this.count += 1;
    for (let i = 0; i < this.bounds.length; i++) {
      if (v <= this.bounds[i]!) {
        this.counts[i]! += 1;
        return;
      }
    }
  }

  /** observations so far */
  get total(): number {
    return this.count;
  }

  /**
   * The q-quantile (0-1) estimated from the buckets as Prometheus's histogram_quantile does:
   * linear within the bucket it falls in (from 0 for the first); the largest bound when it falls
   * beyond it; null before the first observation. Read by the console, never on the score path.
   */
  quantile(q: number): number | null {
    if (this.count === 0) return null;
    const rank = q * this.count;
    let below = 0;
    for (let i = 0; i < this.bounds.length; i++) {
      const inBucket = this.counts[i]!;
      if (below + inBucket >= rank && inBucket > 0) {
        const lower = i === 0 ? 0 : this.bounds[i - 1]!;
        return lower + (this.bounds[i]! - lower) * ((rank - below) / inBucket);
      }
      below += inBucket;
    }
    return this.bounds[this.bounds.length - 1]!;
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    let cumulative = 0;
    this.bounds.forEach((b, i) => {
      cumulative += this.counts[i]!;
      lines.push(`${this.name}_bucket{le="${b}"} ${cumulative}`);
    });
    lines.push(`${this.name}_bucket{le="+Inf"} ${this.count}`, `${this.name}_sum ${this.sum}`, `${this.name}_count ${this.count}`);
    return lines.join('\n');
  }
}

/** The engine's metrics; one instance per app, built in the wiring place. */
export class EngineMetrics {
  readonly decisions = new Counter('calmpay_decisions_total', 'Decisions made, by action and age band');
  readonly degraded = new Counter('calmpay_degraded_decisions_total', 'Decisions made in a degraded mode, by stage');
  readonly ruleHits = new Counter('calmpay_rule_hits_total', 'Rule hits, by rule and mode (active or shadow)');
  readonly scoreSeconds = new Histogram(
    'calmpay_score_duration_seconds',
    'Server time of a score from request to decision',
    [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1],
  );

  observeDecision(d: StoredDecision): void {
    this.decisions.inc({ action: d.action, segment: d.segment ?? 'unknown' });
    for (const stage of d.degraded) this.degraded.inc({ stage });
    for (const h of d.hits) this.ruleHits.inc({ rule: h.ruleId, mode: 'active' });
    for (const h of d.shadowHits) this.ruleHits.inc({ rule: h.ruleId, mode: 'shadow' });
    this.scoreSeconds.observe(d.timingsUs.total / 1e6);
  }

  render(): string {
    return `${[this.decisions, this.degraded, this.ruleHits, this.scoreSeconds].map((m) => m.render()).join('\n')}\n`;
  }
}

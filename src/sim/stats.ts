import { AGE_BANDS, type AgeBand } from '../features/catalogue.ts';
import { ageBand } from '../features/build-vector.ts';
import type { SimRecord } from './types.ts';

export interface TypologySummary {
  readonly transfers: number;
  readonly cases: number;
  readonly reportedCases: number;
}

export interface BandSummary {
  readonly transfers: number;
  /** transfers where a payer of this band is a scam victim */
  readonly victimTransfers: number;
}

export interface SimSummary {
  readonly transfers: number;
  readonly fraudTransfers: number;
  readonly cases: number;
  readonly reportedCases: number;
  /** by scamType, including `mule` (mule accounts' onward transfers; one case per mule account) */
  readonly byType: Readonly<Record<string, TypologySummary>>;
  /** by the payer's age band in the year of the transfer */
  readonly byBand: Readonly<Record<AgeBand, BandSummary>>;
  readonly firstAt: string | null;
  readonly lastAt: string | null;
}

/** Counts what a run produced, record by record, for the summary the CLI prints. */
export class SimStats {
  private transfers = 0;
  private fraud = 0;
  private readonly types = new Map<string, { transfers: number; cases: Set<string>; reported: Set<string> }>();
  private readonly bands: Record<AgeBand, { transfers: number; victimTransfers: number }> = {
    minor: { transfers: 0, victimTransfers: 0 },
    adult: { transfers: 0, victimTransfers: 0 },
    elderly: { transfers: 0, victimTransfers: 0 },
  };
  private first: string | null = null;
  private last: string | null = null;

  add(r: SimRecord): void {
    this.transfers++;
    const e = r.event;
    this.first ??= e.occurredAt;
    this.last = e.occurredAt;
    const band = e.payer.birthYear === undefined ? null : ageBand(Number(e.occurredAt.slice(0, 4)) - e.payer.birthYear);
    const l = r.label;
    if (band !== null) {
      const b = this.bands[band];
      b.transfers++;
      if (l.role === 'victim') b.victimTransfers++;
    }
    if (!l.fraud) return;
    this.fraud++;
    const key = l.scamType ?? 'unknown';
    let t = this.types.get(key);
    if (t === undefined) {
      t = { transfers: 0, cases: new Set(), reported: new Set() };
      this.types.set(key, t);
    }
    t.transfers++;
    if (l.caseId !== null) {
      t.cases.add(l.caseId);
      if (l.reportedAt !== null) t.reported.add(l.caseId);
    }
  }

  summary(): SimSummary {
    const byType: Record<string, TypologySummary> = {};
    let cases = 0;
    let reported = 0;
    for (const [k, t] of [...this.types].sort(([a], [b]) => a.localeCompare(b))) {
      byType[k] = { transfers: t.transfers, cases: t.cases.size, reportedCases: t.reported.size };
      cases += t.cases.size;
      reported += t.reported.size;
    }
    return {
      transfers: this.transfers,
      fraudTransfers: this.fraud,
      cases,
      reportedCases: reported,
      byType,
      byBand: { minor: { ...this.bands.minor }, adult: { ...this.bands.adult }, elderly: { ...this.bands.elderly } },
      firstAt: this.first,
      lastAt: this.last,
    };
  }

  /** A short plain-text table for a terminal. */
  format(): string {
    const s = this.summary();
    const pct = (n: number, d: number): string => (d === 0 ? '-' : `${((100 * n) / d).toFixed(2)}%`);
    const num = (n: number): string => n.toLocaleString('en-US');
    const lines = [
      `transfers ${num(s.transfers)} (${s.firstAt ?? '-'} .. ${s.lastAt ?? '-'})`,
      `fraud     ${num(s.fraudTransfers)} (${pct(s.fraudTransfers, s.transfers)}), ${num(s.cases)} cases, ${pct(s.reportedCases, s.cases)} reported`,
      '',
      `${'scam type'.padEnd(15)}${'transfers'.padStart(11)}${'of all'.padStart(9)}${'cases'.padStart(8)}${'reported'.padStart(10)}`,
    ];
    for (const [k, t] of Object.entries(s.byType)) {
      lines.push(
        `${k.padEnd(15)}${num(t.transfers).padStart(11)}${pct(t.transfers, s.transfers).padStart(9)}${num(t.cases).padStart(8)}${pct(t.reportedCases, t.cases).padStart(10)}`,
      );
    }
    lines.push('', `${'payer age'.padEnd(15)}${'transfers'.padStart(11)}${'of all'.padStart(9)}${'victim tx'.padStart(11)}${'share'.padStart(9)}`);
    for (const b of AGE_BANDS) {
      const x = s.byBand[b];
      lines.push(
        `${b.padEnd(15)}${num(x.transfers).padStart(11)}${pct(x.transfers, s.transfers).padStart(9)}${num(x.victimTransfers).padStart(11)}${pct(x.victimTransfers, x.transfers).padStart(9)}`,
      );
    }
    return `${lines.join('\n')}\n`;
  }
}

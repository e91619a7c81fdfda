/**
 * Counts repeated events and reports them at most once per interval, so an outage that
 * degrades every score writes one log line a second, not one per request.
 */
export class ThrottledLog {
  private count = 0;
  private latest = '';
  private timer: NodeJS.Timeout | null = null;
  private readonly report: (count: number, latest: string) => void;
  private readonly intervalMs: number;

  constructor(report: (count: number, latest: string) => void, intervalMs = 1_000) {
    this.report = report;
    this.intervalMs = intervalMs;
  }

  note(detail: string): void {
    this.count += 1;
    this.latest = detail;
    if (this.timer === null) {
      this.timer = setTimeout(() => this.flush(), this.intervalMs);
      this.timer.unref();
    }
  }

  private flush(): void {
    this.timer = null;
    if (this.count > 0) this.report(this.count, this.latest);
    this.count = 0;
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.flush();
  }
}

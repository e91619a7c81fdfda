/**
 * What a process has opened and started, and the order it all ends in (issue 18).
 *
 * Building registers, as each capability is built, what it opened (a connection, the model
 * session, a queue) and the background loops it owns (the decision sink, the hit counter,
 * the lifecycle worker, watchers). Building begins no loop: `start()` begins them, in the
 * order they were registered. `close()` first drains the entry point (the HTTP server: the
 * requests in flight finish on everything they use), then closes every part in reverse
 * order of registration, loops before what they run on. `build()` closes what was opened
 * when building fails half-way.
 */

import type { ClosablePart } from './process-lifetime.ts';

export interface LifetimeLog {
  error(obj: object, msg: string): void;
}

interface Part {
  readonly name: string;
  readonly start: (() => unknown) | null;
  readonly close: () => Promise<unknown>;
}

/** `close` runs once; later calls share its outcome. */
function once(close: () => unknown): () => Promise<unknown> {
  let closed: Promise<unknown> | null = null;
  return () => (closed ??= Promise.resolve().then(close));
}

export class Lifetime {
  private readonly parts: Part[] = [];
  private entry: Part | null = null;
  private started = false;
  private closing: Promise<void> | null = null;
  private readonly log: LifetimeLog;

  constructor(log: LifetimeLog) {
    this.log = log;
  }

  /** `value` was just opened; close() closes it with `close`, after what was registered later. Returns `value`. */
  opened<T>(name: string, value: T, close: (value: T) => unknown): T {
    this.parts.push({ name, start: null, close: once(() => close(value)) });
    return value;
  }

  /** A background loop: `start()` begins it, close() stops it (before what was registered earlier). */
  loop(name: string, start: () => unknown, stop: () => unknown = () => undefined): void {
    this.parts.push({ name, start, close: once(stop) });
  }

  /** Where work comes in (the HTTP server): drained first on close(), before any part closes. */
  entryPoint(name: string, drain: () => unknown): void {
    this.entry = { name, start: null, close: once(drain) };
  }

  /** Begins the loops in registration order (once). A loop that fails to begin rejects; the caller closes. */
  async start(): Promise<void> {
    if (this.started || this.closing !== null) return;
    this.started = true;
    for (const part of this.parts) {
      if (this.closing !== null) return; // a stop signal during start: begin no more
      if (part.start !== null) await part.start();
    }
  }

  /**
   * Drains the entry point, then closes every part, last registered first. A part whose close
   * fails is logged and the next goes on. Later calls share the first.
   */
  close(): Promise<void> {
    this.closing ??= this.closeAll();
    return this.closing;
  }

  /**
   * The parts in the order close() closes them, each closing at most once: for a shutdown with
   * a deadline that names what did not close (closeWithin() in src/process-lifetime.ts).
   */
  closingOrder(): ClosablePart[] {
    const order = [...(this.entry === null ? [] : [this.entry]), ...[...this.parts].reverse()];
    return order.map((part) => ({ name: part.name, close: part.close }));
  }

  private async closeAll(): Promise<void> {
    for (const part of this.closingOrder()) {
      try {
        await part.close();
      } catch (err) {
        this.log.error({ err, part: part.name }, 'closing a part failed');
      }
    }
  }
}

/**
 * Runs `build` with a new lifetime; when it throws, closes what it had opened and rethrows,
 * so a failed start-up leaves no connection or thread behind.
 */
export async function build<T>(log: LifetimeLog, steps: (lifetime: Lifetime) => Promise<T>): Promise<T> {
  const lifetime = new Lifetime(log);
  try {
    return await steps(lifetime);
  } catch (err) {
    await lifetime.close();
    throw err;
  }
}

import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/**
 * An append-only file of JSON lines, each appended line on disk (fdatasync) before append()
 * resolves: the fallback spool of degraded decisions when the SQL store fails too (issue 19).
 * Lines appended in the same event-loop turn share one write and one sync (group commit).
 * Every operation runs in turn, so remove() cannot lose a line appended while it rewrites.
 */
export class SpoolFile {
  private readonly file: string;
  private queue: Promise<unknown> = Promise.resolve();
  private batch: { lines: string[]; done: Promise<void> } | null = null;

  constructor(file: string) {
    this.file = file;
  }

  get location(): string {
    return this.file;
  }

  /** Resolves once `line` (one JSON text, no newline) is on disk. */
  append(line: string): Promise<void> {
    if (this.batch === null) {
      const lines: string[] = [];
      const done = this.serial(async () => {
        this.batch = null;
        await mkdir(path.dirname(this.file), { recursive: true });
        const fh = await open(this.file, 'a');
        try {
          await fh.write(lines.map((l) => `${l}\n`).join(''));
          await fh.datasync();
        } finally {
          await fh.close();
        }
      });
      this.batch = { lines, done };
    }
    this.batch.lines.push(line);
    return this.batch.done;
  }

  /** Every complete line in the file (a line cut by a crash mid-write is left out). */
  read(): Promise<string[]> {
    return this.serial(() => this.readNow());
  }

  /** Rewrites the file without the lines `drop` selects (atomically: a new file renamed over it). */
  remove(drop: (line: string) => boolean): Promise<void> {
    return this.serial(async () => {
      const lines = await this.readNow();
      const keep = lines.filter((l) => !drop(l));
      if (keep.length === lines.length) return;
      if (keep.length === 0) {
        await rm(this.file, { force: true });
        return;
      }
      const tmp = `${this.file}.tmp`;
      const fh = await open(tmp, 'w');
      try {
        await fh.write(keep.map((l) => `${l}\n`).join(''));
        await fh.datasync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.file);
    });
  }

  private async readNow(): Promise<string[]> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const lines = text.split('\n');
    lines.pop(); // after the last newline: '' or a line cut short
    return lines.filter((l) => l !== '');
  }

  private serial<T>(f: () => Promise<T>): Promise<T> {
    const run = this.queue.then(f, f);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

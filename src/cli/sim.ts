/**
 * `npm run sim -- [--payers N] [--days N] [--seed N] [--start YYYY-MM-DD] [--fraud-rate R] [--out FILE]`
 *
 * Writes simulated transfers as JSONL, one `{"event": ..., "label": ...}` per line in time
 * order, to FILE or stdout; prints a summary (transfers, fraud share by scam type and by age
 * band, throughput) to stderr. Exit 2 on bad options, naming every one.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { SIM_USAGE, parseSimArgs } from '../sim/args.ts';
import { SimStats, simRecordJson, simulate } from '../sim/index.ts';

async function main(argv: readonly string[]): Promise<number> {
  const parsed = parseSimArgs(argv);
  if (!parsed.ok) {
    for (const e of parsed.errors) console.error(e);
    console.error(SIM_USAGE);
    return 2;
  }
  if (parsed.help) {
    console.log(SIM_USAGE);
    return 0;
  }
  const sink: Writable = parsed.out === null ? process.stdout : createWriteStream(parsed.out);
  let failure: NodeJS.ErrnoException | null = null;
  sink.on('error', (err: NodeJS.ErrnoException) => {
    failure ??= err;
  });
  const stats = new SimStats();
  const started = process.hrtime.bigint();
  let buf = '';
  try {
    for (const r of simulate(parsed.options)) {
      stats.add(r);
      buf += `${simRecordJson(r)}\n`;
      if (buf.length >= 1 << 20) {
        if (failure !== null) break;
        const ok = sink.write(buf);
        buf = '';
        if (!ok) await once(sink, 'drain');
      }
    }
    if (failure === null) {
      if (parsed.out === null) {
        if (!sink.write(buf)) await once(sink, 'drain');
      } else {
        sink.end(buf);
        await once(sink, 'finish');
      }
    }
  } catch (err) {
    failure ??= err as NodeJS.ErrnoException;
  }
  if (failure !== null) {
    // a reader that closes the pipe early (`| head`) is not a failure of the simulator
    if ((failure as NodeJS.ErrnoException).code === 'EPIPE') return 0;
    console.error(`sim: ${(failure as Error).message}`);
    return 1;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const n = stats.summary().transfers;
  process.stderr.write(stats.format());
  process.stderr.write(
    `\n${n.toLocaleString('en-US')} transfers in ${seconds.toFixed(2)} s (${Math.round(n / seconds).toLocaleString('en-US')}/s)${parsed.out === null ? '' : ` -> ${parsed.out}`}\n`,
  );
  return 0;
}

process.exitCode = await main(process.argv.slice(2));

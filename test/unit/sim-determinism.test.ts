import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseSimArgs, resolveSimOptions, simRecordJson, simulate, type SimOptions } from '../../src/sim/index.ts';

function digest(options: Partial<SimOptions>): { hash: string; lines: number; first: string } {
  const h = createHash('sha256');
  let lines = 0;
  let first = '';
  for (const r of simulate(options)) {
    const line = simRecordJson(r);
    if (lines === 0) first = line;
    h.update(line).update('\n');
    lines++;
  }
  return { hash: h.digest('hex'), lines, first };
}

describe('simulate: reproducible', () => {
  const small = { payers: 1_500, days: 7, fraudRate: 0.02 };

  it('gives byte-identical output for the same seed and options', () => {
    const a = digest({ ...small, seed: 7 });
    const b = digest({ ...small, seed: 7 });
    expect(a.lines).toBeGreaterThan(5_000);
    expect(b).toEqual(a);
  });

  it('gives different output for a different seed, or different options', () => {
    const a = digest({ ...small, seed: 7 });
    const b = digest({ ...small, seed: 8 });
    expect(b.hash).not.toBe(a.hash);
    expect(b.first).not.toBe(a.first);
    const c = digest({ ...small, seed: 7, start: '2026-09-01' });
    expect(c.hash).not.toBe(a.hash);
    expect(JSON.parse(c.first).event.occurredAt.startsWith('2026-09-01')).toBe(true);
  });

  it('writes each record exactly as JSON.stringify would', () => {
    let n = 0;
    for (const r of simulate({ payers: 1_000, days: 5, seed: 3, fraudRate: 0.05 })) {
      const fast = simRecordJson(r);
      if (fast !== JSON.stringify(r)) expect(fast).toBe(JSON.stringify(r));
      n++;
    }
    expect(n).toBeGreaterThan(3_000);
  });

  it('defaults to 2026-06-01, 30 days, a 0.5% fraud rate and optional fields left out as backends do', () => {
    const r = resolveSimOptions({});
    expect(r).toEqual({ ok: true, options: { payers: 10_000, days: 30, seed: 1, start: '2026-06-01', fraudRate: 0.005, optionalFields: 'partial' } });
  });
});

describe('simulator options', () => {
  it('names every invalid option', () => {
    const r = resolveSimOptions({ payers: 0, days: 1.5, seed: -1, start: '2026-02-30', fraudRate: 0.9 });
    expect(r).toEqual({
      ok: false,
      problems: [
        { option: 'payers', message: 'must be an integer from 1 to 10000000' },
        { option: 'days', message: 'must be an integer from 1 to 3660' },
        { option: 'seed', message: 'must be an integer from 0 to 4294967295' },
        { option: 'start', message: 'must be a date YYYY-MM-DD' },
        { option: 'fraudRate', message: 'must be a number from 0 to 0.5' },
      ],
    });
  });

  it('simulate throws a RangeError on invalid options, before yielding anything', () => {
    expect(() => [...simulate({ payers: 10, days: 0 })]).toThrow(
      new RangeError('invalid simulator options: days must be an integer from 1 to 3660'),
    );
  });

  it('parses the command line, naming each bad flag', () => {
    expect(parseSimArgs(['--payers', '50000', '--days', '30', '--seed', '1', '--fraud-rate', '0.01', '--start', '2026-07-01', '--optional-fields', 'all', '--out', '/tmp/x.jsonl'])).toEqual({
      ok: true,
      options: { payers: 50_000, days: 30, seed: 1, start: '2026-07-01', fraudRate: 0.01, optionalFields: 'all' },
      out: '/tmp/x.jsonl',
      help: false,
    });
    expect(parseSimArgs(['--payers', 'many', '--days', '', '--fraud-rate=-0.1', '--start', '1st June', '--optional-fields', 'some', '--out', ''])).toEqual({
      ok: false,
      errors: [
        '--payers: must be an integer from 1 to 10000000',
        '--days: must be an integer from 1 to 3660',
        '--start: must be a date YYYY-MM-DD',
        '--fraud-rate: must be a number from 0 to 0.5',
        '--optional-fields: must be one of partial, all',
        '--out: must name a file',
      ],
    });
    const unknown = parseSimArgs(['--payer', '5']);
    expect(unknown.ok).toBe(false);
    expect(unknown.ok ? [] : unknown.errors).toEqual([expect.stringContaining("Unknown option '--payer'")]);
  });
});

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BacktestReport } from '../../src/backtest/backtest-report.ts';
import { compileRuleSetFromText } from '../../src/rules/language/rule-set.ts';
import { activate, insertVersion } from '../../src/rules/versions/rule-version-store.ts';
import { migrate } from '../../src/store/sql/migrate.ts';
import { openSqlStore } from '../../src/store/sql/sql-store.ts';
import { FIXTURE_RULES } from '../helpers/app.ts';
import { candidateFiles, EXPECTED, EXPECTED_PERFORMANCE, EXPECTED_RULES, EXPECTED_TRANSITIONS, seedHistory, WINDOW } from './backtest-fixtures.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function run(args: string[], env: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/rules.ts', 'backtest', ...args], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: '', DATABASE_SCHEMA: '', RULES_DIR: FIXTURE_RULES, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('npm run rules -- backtest', () => {
  let dir: string;
  let candidate: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'calmpay-backtest-cli-'));
    // the embedded database the engine would use with DATA_DIR=dir
    const sql = await openSqlStore({ databaseUrl: undefined, pgliteDir: path.join(dir, 'pglite'), schema: undefined });
    try {
      await migrate(sql);
      await seedHistory(sql);
    } finally {
      await sql.close();
    }
    candidate = path.join(dir, 'candidate');
    mkdirSync(candidate);
    for (const f of candidateFiles(readFileSync(path.join(FIXTURE_RULES, 'basic.yaml'), 'utf8'))) writeFileSync(path.join(candidate, f.name), f.text);
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints the report of the known answer, against RULES_DIR when the store has no active version', async () => {
    const r = await run(['--rules', candidate, '--from', WINDOW.from, '--to', WINDOW.to], { DATA_DIR: dir });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(`(${FIXTURE_RULES})`);
    const report = JSON.parse(r.stdout) as BacktestReport;
    expect(report).toMatchObject(EXPECTED);
    expect(report.changes.transitions).toEqual(EXPECTED_TRANSITIONS);
    expect(report.rules).toEqual(EXPECTED_RULES);
    expect(report.performance).toMatchObject(EXPECTED_PERFORMANCE);
    expect(r.stderr).toContain('Rule performance of the candidate');
    expect(r.stderr).toMatch(/^\| elderly-on-call-new-payee \| active \| 1 \|.*\| FLAGGED \|$/m);
  }, 60_000);

  it('names every bad option and exits 2', async () => {
    const r = await run(['--from', 'yesterday', '--to', '2026-11-11'], { DATA_DIR: dir });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--rules DIR is required (the candidate rule files)');
    expect(r.stderr).toContain('--from must be an ISO 8601 time with a zone, got "yesterday"');
    expect(r.stderr).toContain('--to must be an ISO 8601 time with a zone, got "2026-11-11"');
  }, 60_000);

  it('takes the active rule version of the SQL store as the baseline when there is one', async () => {
    // the stored active version is the candidate itself: nothing can change
    const files = candidateFiles(readFileSync(path.join(FIXTURE_RULES, 'basic.yaml'), 'utf8'));
    const compiled = compileRuleSetFromText(files);
    if (!compiled.ok) throw new Error('candidate');
    const sql = await openSqlStore({ databaseUrl: undefined, pgliteDir: path.join(dir, 'pglite'), schema: undefined });
    try {
      await sql.transaction(async (tx) => {
        const id = await insertVersion(tx, {
          contentVersion: compiled.ruleSet.version,
          files,
          ruleCount: compiled.ruleSet.rules.length,
          author: 'test',
          comment: 'the candidate, published',
          createdAt: new Date(),
          baseId: null,
          status: 'approved',
        });
        await activate(tx, id, 'test', new Date());
      });
    } finally {
      await sql.close();
    }
    const r = await run(['--rules', candidate, '--from', WINDOW.from, '--to', WINDOW.to], { DATA_DIR: dir });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('(active version 1 in the SQL store)');
    const report = JSON.parse(r.stdout) as BacktestReport;
    expect(report.active.version).toBe(compiled.ruleSet.version);
    expect(report.replayed).toBe(8);
    expect(report.changes.transitions).toEqual([]);
  }, 60_000);

  it('exits 1 with every error of invalid candidate rules', async () => {
    const bad = path.join(dir, 'bad');
    mkdirSync(bad);
    writeFileSync(path.join(bad, 'bad.yaml'), '- id: a\n  description: x\n  when: payer.agee >= 60\n  score: 10\n');
    const r = await run(['--rules', bad], { DATA_DIR: dir });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^bad\.yaml:3:9 \[a\] .*payer\.agee/m);
    expect(r.stderr).toContain(`1 error(s) in the candidate rules ${bad}`);
  }, 60_000);
});

/** Child processes, ports, requests and probes for the benchmarks: all on 127.0.0.1, all bounded in time. */
import type { Request } from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { newApiKey } from '../src/http/api-keys.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Starts a TypeScript entry point of the project (path from its root) in a child Node with
 * tsx, the given env over this process's, stderr shown; `cpuProfileDir` writes a V8 CPU
 * profile of every thread there; `stdout: 'pipe'` / `stderr: 'pipe'` for a caller that reads them.
 */
export function startScript(
  script: string,
  env: Record<string, string>,
  opts: { readonly cpuProfileDir?: string; readonly stdout?: 'ignore' | 'pipe'; readonly stderr?: 'inherit' | 'pipe' } = {},
): ChildProcess {
  const profile = opts.cpuProfileDir ? ['--cpu-prof', '--cpu-prof-dir', opts.cpuProfileDir] : [];
  return spawn(process.execPath, [...profile, '--import', 'tsx', script], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', opts.stdout ?? 'ignore', opts.stderr ?? 'inherit'],
  });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export async function waitReady(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${url}: server exited with ${child.exitCode}`);
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} not ready after 30 s`);
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

/**
 * BENCH_AUTH=true: the engine runs with one API key (scope `score`) and every request sends it,
 * so a run measures scoring with authentication on. Returns the engine env and request headers.
 */
export function benchAuth(env: NodeJS.ProcessEnv = process.env): { engineEnv: Record<string, string>; headers: Record<string, string> } {
  if (env.BENCH_AUTH !== 'true') return { engineEnv: {}, headers: {} };
  const { key, entry } = newApiKey('bench', ['score']);
  return { engineEnv: { API_KEYS: JSON.stringify([entry]) }, headers: { authorization: `Bearer ${key}` } };
}

/** autocannon requests that score a new generated transfer each time. */
export function scoreRequests(gen: () => Record<string, unknown>, headers: Record<string, string>): Request[] {
  return [
    {
      method: 'POST',
      path: '/v1/transfers/score',
      headers: { 'content-type': 'application/json', ...headers },
      setupRequest: (req) => ({ ...req, body: JSON.stringify(gen()) }),
    },
  ];
}

/** CPU time Redis's process has used (user + system), in µs. */
export async function redisCpuUs(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const get = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return (get('used_cpu_user') + get('used_cpu_sys')) * 1e6;
}

const TICK_US = 1e6 / 100; // USER_HZ is 100 on Linux

/** CPU time a process has used (utime + stime from /proc), in µs. */
export function processCpuUs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_US;
}

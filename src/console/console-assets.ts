import { createHash } from 'node:crypto';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/**
 * The console's browser code, bundled by esbuild in this process into memory (issue 17): no
 * build step to forget and no built file to go stale: what is served is always the source of
 * the running engine. Bundled once per process, at start (in the background) or at the first
 * request for it, whichever comes first; file names carry the content hash, so a browser may
 * cache them for good and index.html (never cached) always names the current ones.
 */

const CLIENT_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'client');

export interface ConsoleAsset {
  readonly body: Buffer;
  readonly contentType: string;
}

export interface ConsoleBundle {
  /** the page: no inline script or style, so the CSP can forbid both */
  readonly indexHtml: string;
  /** by file name (`app-<hash>.js`, `app-<hash>.css`) */
  readonly assets: ReadonlyMap<string, ConsoleAsset>;
  /** how long bundling took, ms */
  readonly buildMs: number;
}

/** replaced in each answer by that answer's CSP style nonce */
export const STYLE_NONCE_SLOT = '{{style-nonce}}';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

export async function bundleConsole(): Promise<ConsoleBundle> {
  const t0 = performance.now();
  const result = await build({
    entryPoints: { app: path.join(CLIENT_DIR, 'main.tsx') },
    bundle: true,
    write: false,
    outdir: '/console-assets',
    entryNames: '[name]',
    format: 'esm',
    minify: true,
    target: ['chrome109', 'firefox115', 'safari16'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'none',
    logLevel: 'silent',
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  const assets = new Map<string, ConsoleAsset>();
  const names: Record<string, string> = {};
  for (const file of result.outputFiles) {
    const ext = path.extname(file.path);
    const contentType = CONTENT_TYPES[ext];
    if (contentType === undefined) continue;
    const hash = createHash('sha256').update(file.contents).digest('hex').slice(0, 16);
    const name = `${path.basename(file.path, ext)}-${hash}${ext}`;
    assets.set(name, { body: Buffer.from(file.contents), contentType });
    names[ext] = name;
  }
  if (names['.js'] === undefined) throw new Error('bundling the console produced no script');
  const css = names['.css'] === undefined ? '' : `\n<link rel="stylesheet" href="/console/assets/${names['.css']}">`;
  const indexHtml = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="calmpay-style-nonce" content="${STYLE_NONCE_SLOT}">
<title>calmpay console</title>${css}
<script type="module" src="/console/assets/${names['.js']}"></script>
</head>
<body><div id="app"></div></body>
</html>
`;
  return { indexHtml, assets, buildMs: performance.now() - t0 };
}

/** One bundle per process, made on first demand. */
export class ConsoleAssets {
  private pending: Promise<ConsoleBundle> | null = null;

  get(): Promise<ConsoleBundle> {
    if (this.pending === null) {
      this.pending = bundleConsole();
      // a failed build is retried at the next request rather than remembered
      this.pending.catch(() => (this.pending = null));
    }
    return this.pending;
  }
}

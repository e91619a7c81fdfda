import http from 'node:http';
import https from 'node:https';

/**
 * The HTTP client of deliveries: node:http with keep-alive agents. Measured with
 * `npm run bench:cooling` (BENCH_WORKER_PROFILE): global fetch (undici, web streams, abort
 * signals) took over half of the worker's CPU at 3,000 webhooks a second and left the hold
 * timers late; this is several times cheaper per request.
 */

/** Resolves to the HTTP status; rejects on a network error or when `timeoutMs` passes. */
export type HttpPost = (url: string, headers: Readonly<Record<string, string>>, body: string, timeoutMs: number) => Promise<number>;

export interface HttpPoster {
  readonly post: HttpPost;
  /** closes the kept-alive connections */
  close(): void;
}

const MAX_SOCKETS_PER_HOST = 64;

export function httpPoster(): HttpPoster {
  const agents = {
    'http:': new http.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS_PER_HOST }),
    'https:': new https.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS_PER_HOST }),
  };
  const urls = new Map<string, URL>();
  const post: HttpPost = (url, headers, body, timeoutMs) =>
    new Promise<number>((resolve, reject) => {
      let u = urls.get(url);
      if (u === undefined) {
        u = new URL(url);
        urls.set(url, u);
      }
      const secure = u.protocol === 'https:';
      const request = (secure ? https : http).request(
        u,
        { method: 'POST', agent: secure ? agents['https:'] : agents['http:'], headers: { ...headers, 'content-length': Buffer.byteLength(body) } },
        (res) => {
          res.resume();
          res.once('end', () => {
            clearTimeout(timer);
            resolve(res.statusCode ?? 0);
          });
          res.once('error', (err) => {
            clearTimeout(timer);
            reject(err);
          });
        },
      );
      const timer = setTimeout(() => request.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      request.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      request.end(body);
    });
  return {
    post,
    close() {
      agents['http:'].destroy();
      agents['https:'].destroy();
    },
  };
}

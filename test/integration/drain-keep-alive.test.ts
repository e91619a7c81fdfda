import Fastify from 'fastify';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { drainable } from '../../src/http/drain.ts';

/**
 * Issue 15 (deployment roles): SIGTERM to an API node whose client keeps its connections alive
 * (a load balancer, undici's pool) with requests in flight. The connections were busy when the
 * drain began, so the server's close did not end them, and the drain waited on the client
 * until the shutdown deadline (exit 1, every part "still open").
 */
describe('draining the HTTP server with keep-alive clients', () => {
  it('answers the requests in flight with connection: close and ends once they are answered, though the client keeps its sockets', async () => {
    const server = Fastify();
    const drain = drainable(server);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let arrived = 0;
    server.get('/slow', async () => {
      arrived++;
      await gate;
      return { ok: true };
    });
    await server.listen({ host: '127.0.0.1', port: 0 });
    const port = (server.server.address() as AddressInfo).port;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    const get = (): Promise<{ status: number; connection: string | undefined }> =>
      new Promise((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port, path: '/slow', agent }, (res) => {
            res.resume();
            res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }));
          })
          .on('error', reject);
      });
    try {
      const answers = Promise.all([get(), get(), get()]);
      while (arrived < 3) await new Promise((r) => setTimeout(r, 5));
      const t0 = Date.now();
      const drained = drain();
      await new Promise((r) => setTimeout(r, 50));
      release();
      expect(await answers).toEqual(Array.from({ length: 3 }, () => ({ status: 200, connection: 'close' })));
      await Promise.race([drained, new Promise((_, reject) => setTimeout(() => reject(new Error('the drain waited on kept-alive sockets')), 3_000))]);
      expect(Date.now() - t0).toBeLessThan(3_000);
    } finally {
      agent.destroy();
      release();
    }
  });
});

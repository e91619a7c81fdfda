import type { FastifyInstance, FastifyRequest } from 'fastify';

/**
 * Drains a fastify server: stops taking requests (fastify answers new ones 503 while it closes),
 * closes its listening socket and then waits for every request in flight to be answered,
 * including `inject()`ed ones, which no socket tracks. Install before the server is ready.
 *
 * Keep-alive: a connection busy when the drain begins is not idle then, so the server's close
 * does not end it, and a client that keeps its connections (a load balancer, undici's pool)
 * would hold the close open until the shutdown deadline. Every answer sent while draining
 * says `connection: close`, so Node ends its socket once it is written, and the connections
 * left idle are closed when the last request is answered.
 */
export function drainable(server: FastifyInstance): () => Promise<void> {
  const inFlight = new Set<FastifyRequest>();
  let idle: (() => void) | null = null;
  let draining = false;
  const done = (request: FastifyRequest): void => {
    inFlight.delete(request);
    if (inFlight.size === 0) idle?.();
  };
  server.addHook('onRequest', async (request) => {
    inFlight.add(request);
  });
  server.addHook('onSend', async (_request, reply, payload) => {
    if (draining) reply.header('connection', 'close');
    return payload;
  });
  server.addHook('onResponse', async (request) => done(request));
  server.addHook('onRequestAbort', async (request) => done(request));
  return async () => {
    draining = true;
    const closed = server.close();
    if (inFlight.size > 0) await new Promise<void>((resolve) => (idle = resolve));
    server.server.closeIdleConnections();
    await closed;
  };
}

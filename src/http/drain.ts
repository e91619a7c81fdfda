import type { FastifyInstance, FastifyRequest } from 'fastify';

/**
 * Drains a fastify server: stops taking requests (fastify answers new ones 503 while it closes),
 * closes its listening socket and then waits for every request in flight to be answered,
 * including `inject()`ed ones, which no socket tracks. Install before the server is ready.
 */
export function drainable(server: FastifyInstance): () => Promise<void> {
  const inFlight = new Set<FastifyRequest>();
  let idle: (() => void) | null = null;
  const done = (request: FastifyRequest): void => {
    inFlight.delete(request);
    if (inFlight.size === 0) idle?.();
  };
  server.addHook('onRequest', async (request) => {
    inFlight.add(request);
  });
  server.addHook('onResponse', async (request) => done(request));
  server.addHook('onRequestAbort', async (request) => done(request));
  return async () => {
    await server.close();
    if (inFlight.size > 0) await new Promise<void>((resolve) => (idle = resolve));
  };
}

import Fastify from 'fastify';

/**
 * The baseline of `npm run bench`: bare fastify that parses the same JSON body and answers a
 * small JSON object — what any HTTP service on this machine pays before doing any work.
 */
const app = Fastify({ logger: false, bodyLimit: 16_384 });
app.post('/v1/transfers/score', async (request) => {
  const body = request.body as { transferId?: unknown };
  return { transferId: body.transferId, action: 'allow' };
});
app.get('/healthz', async () => ({ status: 'ok' }));
const port = Number(process.env.PORT ?? 3100);
await app.listen({ host: '127.0.0.1', port });
console.log(`bare fastify listening on ${port}`);

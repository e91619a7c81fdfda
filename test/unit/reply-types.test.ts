import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { replySerializer, requestValidator, type ZodRequestTypes } from '../../src/http/validation.ts';

/**
 * Answers are typed by their response schemas through the type provider (src/http/validation.ts):
 * tsc (`npx tsc --noEmit -p .`, which covers this file) refuses an answer that does not fit the
 * schema of its status code, and accepts the domain's readonly values and interfaces under a
 * loose object. Each `@ts-expect-error` below fails tsc if that answer were accepted.
 */

const ItemSchema = z.object({ id: z.string(), tags: z.array(z.string()), extra: z.looseObject({}).nullable() });
const ListSchema = z.object({ items: z.array(ItemSchema), total: z.number() });
const CreatedSchema = z.object({ id: z.string() });

interface Report {
  readonly rows: number;
}
interface Item {
  readonly id: string;
  readonly tags: readonly string[];
  readonly extra: Report | null;
}

function typedApp(answer: () => unknown) {
  const app = Fastify();
  app.setValidatorCompiler(requestValidator);
  app.setSerializerCompiler(replySerializer);
  const routes = app.withTypeProvider<ZodRequestTypes>();
  const list: readonly Item[] = [{ id: 'a', tags: ['x'], extra: { rows: 3 } }];

  routes.get('/typed', { schema: { response: { 200: ListSchema } } }, async () => ({ items: list, total: list.length }));

  // @ts-expect-error total must be a number
  routes.get('/wrong-field', { schema: { response: { 200: ListSchema } } }, async () => ({ items: list, total: String(list.length) }));

  // @ts-expect-error an item without its tags
  routes.get('/missing-field', { schema: { response: { 200: ListSchema } } }, async () => ({ items: [{ id: 'a', extra: null }], total: 1 }));

  routes.post('/created', { schema: { response: { 200: ListSchema, 201: CreatedSchema } } }, async (_request, reply) => {
    if (answer() === 'created') return reply.status(201).send({ id: 'new' });
    // @ts-expect-error the 201 schema has no items
    return reply.status(201).send({ items: list });
  });
  return app;
}

describe('answers typed by their response schemas', () => {
  it('serialises an answer that fits as it is', async () => {
    const app = typedApp(() => 'created');
    const typed = await app.inject({ method: 'GET', url: '/typed' });
    expect(typed.json()).toEqual({ items: [{ id: 'a', tags: ['x'], extra: { rows: 3 } }], total: 1 });
    const created = await app.inject({ method: 'POST', url: '/created' });
    expect([created.statusCode, created.json()]).toEqual([201, { id: 'new' }]);
    await app.close();
  });
});

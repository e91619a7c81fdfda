import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { installErrorHandler } from '../../src/http/http-errors.ts';
import { replySerializer, reportedUnder, requestValidator, withFastPath, type ZodRequestTypes } from '../../src/http/validation.ts';

/**
 * Routes declare their zod schemas once and fastify validates with them (issue 18): no route
 * switches its validator off and parses by hand, and bad input is the registry's named 400.
 */

const routesDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/http/routes');

describe('route validation', () => {
  it('no route switches its validator or serializer off or parses its input by hand', () => {
    const files = readdirSync(routesDir).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(5);
    for (const f of files) {
      const text = readFileSync(path.join(routesDir, f), 'utf8');
      expect({ f, validatorCompiler: text.includes('validatorCompiler') }).toEqual({ f, validatorCompiler: false });
      expect({ f, serializerCompiler: text.includes('serializerCompiler') }).toEqual({ f, serializerCompiler: false });
      expect({ f, safeParse: text.includes('safeParse(') }).toEqual({ f, safeParse: false });
    }
  });

  let app: FastifyInstance;
  const seen: unknown[] = [];
  let fastCalls = 0;
  const Params = reportedUnder('params', z.strictObject({ id: z.string().regex(/^[a-z]+$/, 'must be lower-case letters') }));
  const Query = z.strictObject({ limit: z.coerce.number().int().min(1).default(10) });
  const Body = z.strictObject({ name: z.string().trim().min(1), kind: z.enum(['a', 'b']) });
  const Fast = withFastPath(z.strictObject({ n: z.number() }), (input) => {
    fastCalls++;
    return typeof input === 'object' && input !== null && Object.keys(input).join() === 'n' && typeof (input as { n: unknown }).n === 'number' ? (input as { n: number }) : undefined;
  });

  beforeAll(async () => {
    app = Fastify();
    app.setValidatorCompiler(requestValidator);
    app.setSerializerCompiler(replySerializer);
    installErrorHandler(app);
    const routes = app.withTypeProvider<ZodRequestTypes>();
    routes.post('/things/:id', { schema: { params: Params, querystring: Query, body: Body } }, async (request) => {
      seen.push({ params: request.params, query: request.query, body: request.body });
      return { id: request.params.id, limit: request.query.limit, name: request.body.name, kind: request.body.kind };
    });
    routes.post('/optional', { schema: { body: Body.optional() } }, async (request) => ({ body: request.body ?? null }));
    routes.post('/fast', { schema: { body: Fast } }, async (request) => ({ n: request.body.n }));
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
  });

  it('hands the handler the parsed values: coerced, defaulted and trimmed', async () => {
    const res = await app.inject({ method: 'POST', url: '/things/abc?limit=3', payload: { name: '  x ', kind: 'a' } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ id: 'abc', limit: 3, name: 'x', kind: 'a' });
    const defaulted = await app.inject({ method: 'POST', url: '/things/abc', payload: { name: 'y', kind: 'b' } });
    expect(defaulted.json()).toEqual({ id: 'abc', limit: 10, name: 'y', kind: 'b' });
  });

  it('answers bad input with the registry 400 naming every field of every part, before the handler runs', async () => {
    const before = seen.length;
    const res = await app.inject({ method: 'POST', url: '/things/ABC?limit=0&x=1', payload: { kind: 'c', extra: true } });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({
      code: 'CALMPAY_ERR_VALIDATION',
      message: 'Invalid fields: params.id, name, kind, extra, limit, x',
      details: [
        { field: 'params.id', message: 'must be lower-case letters' },
        { field: 'name', message: 'is required' },
        { field: 'kind', message: 'Invalid option: expected one of "a"|"b"' },
        { field: 'extra', message: 'is not a known field' },
        { field: 'limit', message: 'Too small: expected number to be >=1' },
        { field: 'x', message: 'is not a known field' },
      ],
    });
    expect(seen.length).toBe(before);
  });

  it('takes an optional body left out, and calls a missing required body "is required"', async () => {
    const none = await app.inject({ method: 'POST', url: '/optional' });
    expect(none.statusCode).toBe(200);
    expect(none.json()).toEqual({ body: null });
    const missing = await app.inject({ method: 'POST', url: '/things/abc' });
    expect(missing.json()).toEqual({ code: 'CALMPAY_ERR_VALIDATION', message: 'Invalid fields: (body)', details: [{ field: '', message: 'is required' }] });
  });

  it('runs a fast path first and leaves what it does not accept to the schema', async () => {
    const calls = fastCalls;
    expect((await app.inject({ method: 'POST', url: '/fast', payload: { n: 1 } })).json()).toEqual({ n: 1 });
    const bad = await app.inject({ method: 'POST', url: '/fast', payload: { n: 'one' } });
    expect(bad.json()).toEqual({ code: 'CALMPAY_ERR_VALIDATION', message: 'Invalid fields: n', details: [{ field: 'n', message: 'Invalid input: expected number, received string' }] });
    expect(fastCalls).toBe(calls + 2);
  });

  it('refuses a route that declares a schema other than zod when the app starts', async () => {
    const other = Fastify();
    other.setValidatorCompiler(requestValidator);
    other.post('/x', { schema: { body: { type: 'object' } } }, async () => ({}));
    await expect(other.ready()).rejects.toThrow('POST /x: the body schema must be a zod schema');
    await other.close();
  });
});

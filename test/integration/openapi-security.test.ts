import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newApiKey } from '../../src/http/api-keys.ts';
import { testApp } from '../helpers/app.ts';

type TestApp = Awaited<ReturnType<typeof testApp>>;

interface Operation {
  readonly security?: unknown;
  readonly description?: string;
}
interface OpenApiDoc {
  readonly components: { readonly securitySchemes?: unknown };
  readonly paths: Record<string, Record<string, Operation>>;
}

/**
 * Issue 19: /docs had no security scheme, so keyed routes could not be tried from it. The
 * document declares a bearer and an `x-api-key` scheme, every keyed route requires one of
 * them and names its scope, and the public routes require none.
 */
describe('the OpenAPI document declares how to send a key', () => {
  let app: TestApp;
  let doc: OpenApiDoc;

  beforeAll(async () => {
    app = await testApp({ API_KEYS: JSON.stringify([newApiKey('ops', ['admin']).entry]) });
    const res = await app.server.inject({ method: 'GET', url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    doc = res.json();
  }, 120_000);
  afterAll(async () => {
    await app?.close();
  });

  const operation = (method: string, url: string): Operation | undefined =>
    doc.paths[url.replace(/:([a-zA-Z]+)/g, '{$1}')]?.[method.toLowerCase()];

  it('declares a bearer scheme and an x-api-key scheme', () => {
    expect(doc.components.securitySchemes).toEqual({
      bearer: { type: 'http', scheme: 'bearer', description: 'An API key as a bearer token: `Authorization: Bearer <key>`' },
      apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key', description: 'An API key in the `x-api-key` header' },
    });
  });

  it('requires one of them on every keyed route, naming its scope, and none on the public ones', () => {
    const seen: string[] = [];
    const wrong: string[] = [];
    for (const route of app.server.calmpayRoutes) {
      const op = operation(route.method, route.url);
      if (op === undefined) {
        // only the docs' own routes are left out of the document
        if (!route.url.startsWith('/docs')) wrong.push(`${route.method} ${route.url} missing from the document`);
        continue;
      }
      seen.push(`${route.method} ${route.url}`);
      if (route.public) {
        if (op.security !== undefined) wrong.push(`${route.method} ${route.url} is public but requires a key`);
      } else {
        const scope = route.scope ?? 'admin';
        if (JSON.stringify(op.security) !== JSON.stringify([{ bearer: [] }, { apiKey: [] }])) wrong.push(`${route.method} ${route.url} security ${JSON.stringify(op.security)}`);
        if (!op.description?.includes(`Needs an API key with the scope \`${scope}\``)) wrong.push(`${route.method} ${route.url} does not name its scope ${scope}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(seen).toEqual(expect.arrayContaining(['GET /healthz', 'GET /readyz', 'GET /metrics', 'POST /v1/transfers/score', 'PUT /v1/accounts/:id/guardian-limits']));
  });
});

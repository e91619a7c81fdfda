/**
 * docs/api.md's route table is the server's routes: every route the app registers is a row with
 * its method and the scope it declares (`public` for the routes that need no key), and every row
 * is a route. The UI's static files count as `/docs/static/*`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeRows, readDoc, section, unquote } from '../helpers/markdown.ts';
import { testApp } from '../helpers/app.ts';

type TestApp = Awaited<ReturnType<typeof testApp>>;

/** `METHOD path scope` of each row of the route table. */
function documentedRoutes(): string[] {
  return codeRows(section(readDoc('docs/api.md'), '## Routes')).map(([method, url, scope]) => `${unquote(method!)} ${unquote(url!)} ${unquote(scope!)}`);
}

describe('docs/api.md lists the routes of the server', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await testApp();
  });
  afterAll(async () => {
    await app.close();
  });

  it('every route with its method and scope, and no other', () => {
    const served = app.server.calmpayRoutes.map((r) => {
      const url = r.url.startsWith('/docs/static/') ? '/docs/static/*' : r.url;
      return `${r.method} ${url} ${r.public ? 'public' : (r.scope ?? 'admin')}`;
    });
    const documented = documentedRoutes();
    expect(documented.length).toBe(new Set(documented).size);
    expect([...new Set(served)].sort()).toEqual([...documented].sort());
  });
});

import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateOpenApiDocument, serializeOpenApi } from '../src/openapi-document';
import { createPanelHarness, type PanelHarness } from './harness';

let h: PanelHarness;
beforeAll(async () => {
  h = await createPanelHarness();
});
afterAll(() => h.close());

describe('OpenAPI', () => {
  it('committed packages/panel/openapi.json equals the generated document (regenerate: npx tsx packages/panel/scripts/write-openapi.ts)', async () => {
    const committed = readFileSync(new URL('../openapi.json', import.meta.url), 'utf8');
    expect(committed).toBe(serializeOpenApi(await generateOpenApiDocument()));
  });

  it('is served without auth and lists every non-hidden route of the route table', async () => {
    const res = await h.call('GET', '/api/v1/openapi.json', { key: null });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toMatch(/^3\./);
    for (const r of h.app.panel.routes) {
      if (r.method === 'HEAD' || r.url.endsWith('/openapi.json')) continue;
      // The console's static files and the reference page are not API operations.
      if (!r.url.startsWith('/api/v1/') || r.url.startsWith('/api/v1/docs')) continue;
      const path = r.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      expect(doc.paths[path]?.[r.method.toLowerCase()], `${r.method} ${path}`).toBeDefined();
    }
    expect(doc.paths['/api/v1/health'].get.security).toEqual([]);
    expect(doc.paths['/api/v1/users/{username}/api-keys'].post.responses['201']).toBeDefined();
  });

  it('/api/v1/docs is the Swagger UI page from the console build: no inline script, nothing from a CDN', async () => {
    const { findConsoleDir } = await import('../src/modules/console/console.routes');
    const res = await h.call('GET', '/api/v1/docs', { key: null });
    expect(res.headers['content-type']).toContain('text/html');
    expect(res.headers['content-security-policy']).toContain("script-src 'self'");
    if (!findConsoleDir()) {
      // Not built (npm ci builds it): an explicit page, never the hand-made dump.
      expect(res.statusCode).toBe(503);
      return;
    }
    expect(res.statusCode).toBe(200);
    expect(res.body).toMatch(/<script src="\/api\/v1\/docs\/[\w.-]+\.js"><\/script>/);
    expect(res.body).not.toMatch(/<script>|<script [^>]*>[^<]|https?:\/\//);
    const init = await h.call('GET', '/api/v1/docs/swagger-init.js', { key: null });
    expect(init.statusCode).toBe(200);
    expect(init.body).toContain('/api/v1/openapi.json');
  });
});

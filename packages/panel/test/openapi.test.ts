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
      if (r.method === 'HEAD' || r.url.endsWith('/openapi.json') || r.url.endsWith('/docs')) continue;
      const path = r.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      expect(doc.paths[path]?.[r.method.toLowerCase()], `${r.method} ${path}`).toBeDefined();
    }
    expect(doc.paths['/api/v1/health'].get.security).toEqual([]);
    expect(doc.paths['/api/v1/users/{username}/api-keys'].post.responses['201']).toBeDefined();
  });

  it('renders a human docs page without scripts or external resources', async () => {
    const res = await h.call('GET', '/api/v1/docs', { key: null });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/html');
    expect(res.body).toContain('POST /api/v1/users/{username}/api-keys');
    expect(res.body).not.toMatch(/<script|https?:\/\/(?!localhost)/);
  });
});

import { readFileSync } from 'node:fs';
import { documentedExamples } from '@wispanel/kit/testing';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateOpenApiDocument, serializeOpenApi } from '../src/openapi-document';
import { createPanelHarness, type PanelHarness } from './harness';

// biome-ignore lint/suspicious/noExplicitAny: a parsed OpenAPI document, walked by the assertions
type OpenApiNode = any;

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

  it('every example in the committed document is a real recorded answer that validates against its schema', () => {
    // biome-ignore lint/suspicious/noExplicitAny: walking a JSON document
    const doc = JSON.parse(readFileSync(new URL('../openapi.json', import.meta.url), 'utf8')) as any;
    const recorded = JSON.parse(readFileSync(new URL('../openapi-examples.json', import.meta.url), 'utf8'));
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(ajv);
    let checked = 0;
    for (const { where, operation, status, example, schema } of documentedExamples(doc)) {
      expect(example, where).toEqual(recorded[operation]?.[status]);
      const validate = ajv.compile(schema as object);
      expect(validate(example) ? [] : validate.errors, where).toEqual([]);
      checked += 1;
    }
    // The recorded tour covers accounts, keys, domains, databases, license and version answers.
    expect(checked).toBeGreaterThanOrEqual(Object.values<object>(recorded).flatMap(Object.keys).length);
    expect(checked).toBeGreaterThanOrEqual(20);
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

  it('is complete: every operation has a success schema, the error envelope for each error status, a body where it takes one, and no internal references', async () => {
    const doc = (await h.call('GET', '/api/v1/openapi.json', { key: null })).json();
    const text = JSON.stringify(doc);
    expect(text).not.toMatch(/SPEC [AB]\d|docs\/[\w-]+\.md|packages\//);
    for (const [path, ops] of Object.entries<Record<string, Record<string, OpenApiNode>>>(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const where = `${method.toUpperCase()} ${path}`;
        const statuses = Object.keys(op.responses);
        const success = statuses.filter((s) => /^2/.test(s));
        expect(success.length, where).toBeGreaterThan(0);
        for (const s of success)
          expect(Object.values(op.responses[s].content ?? {})[0], `${where} ${s}`).toHaveProperty('schema');
        // /health answers 503 with its own health document (documented as such), not an error envelope.
        for (const s of statuses.filter((x) => Number(x) >= 400 && path !== '/api/v1/health')) {
          const schema = op.responses[s].content['application/json'].schema;
          expect(schema.required, `${where} ${s}`).toEqual(
            expect.arrayContaining(['success', 'code', 'message', 'status']),
          );
        }
        if (op.security?.length)
          expect(statuses, where).toEqual(expect.arrayContaining(['401', '403', '429']));
      }
    }
    expect(
      doc.paths['/api/v1/license/activate'].post.requestBody.content['application/json'].schema.properties
        .key,
    ).toBeDefined();
    expect(Object.keys(doc.components.securitySchemes)).toEqual(['bearerAuth']);
  });

  it('license answers match their documented schemas (real answers, unlicensed panel)', async () => {
    const doc = (await h.call('GET', '/api/v1/openapi.json', { key: null })).json();
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(ajv);
    for (const path of [
      '/license',
      '/license/summary',
      '/license/limits',
      '/license/disabled-resources',
      '/license/audit',
    ]) {
      const res = await h.call('GET', `/api/v1${path}`);
      expect(res.statusCode, path).toBe(200);
      const schema = doc.paths[`/api/v1${path}`].get.responses['200'].content['application/json'].schema;
      const valid = ajv.validate(schema, res.json());
      expect(valid, `${path}: ${ajv.errorsText()}`).toBe(true);
    }
    for (const path of ['/license/enforce', '/license/re-enable']) {
      const res = await h.call('POST', `/api/v1${path}`);
      expect(res.statusCode, path).toBe(200);
      const schema = doc.paths[`/api/v1${path}`].post.responses['200'].content['application/json'].schema;
      expect(ajv.validate(schema, res.json()), `${path}: ${ajv.errorsText()}`).toBe(true);
    }
    const refused = await h.call('POST', '/api/v1/license/activate', { body: {} });
    expect(refused.statusCode).toBe(400);
    const errorSchema =
      doc.paths['/api/v1/license/activate'].post.responses['400'].content['application/json'].schema;
    expect(ajv.validate(errorSchema, refused.json()), ajv.errorsText()).toBe(true);
  });
});

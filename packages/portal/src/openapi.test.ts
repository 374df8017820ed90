import { readFileSync } from 'node:fs';
import { documentedExamples } from '@wispanel/kit/testing';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { renderOpenApi } from './server.cli';

// biome-ignore lint/suspicious/noExplicitAny: a parsed OpenAPI document, walked by the assertions
type OpenApiNode = any;

describe('committed OpenAPI document', () => {
  it('is current (regenerate: npx wispanel-portal openapi --write packages/portal/openapi.json)', async () => {
    const committed = readFileSync(new URL('../openapi.json', import.meta.url), 'utf8');
    const current = await renderOpenApi();
    expect(JSON.parse(committed)).toEqual(JSON.parse(current));
    const doc = JSON.parse(current) as { paths: Record<string, unknown> };
    for (const path of [
      '/api/v1/keys',
      '/api/v1/license/activate',
      '/api/v1/license/verify',
      '/api/v1/license/refresh',
      '/api/v1/license/deactivate',
      '/api/v1/admin/tiers',
      '/api/v1/admin/licenses',
      '/api/v1/admin/events',
    ]) {
      expect(doc.paths).toHaveProperty([path]);
    }
  });

  it('every example is a real recorded answer (scripts/record-examples.ts) that validates against its schema', async () => {
    const doc = JSON.parse(await renderOpenApi()) as OpenApiNode;
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
    // The tour covers licenses (issue, activate, verify), releases, rollouts, health, fleet and events.
    expect(checked).toBe(Object.values<object>(recorded).flatMap(Object.keys).length);
    expect(checked).toBeGreaterThanOrEqual(25);
  });

  it('is complete: a success schema and an error envelope per error status on every operation, request bodies, security, no internal references', async () => {
    // biome-ignore lint/suspicious/noExplicitAny: walking a JSON document
    const doc = JSON.parse(await renderOpenApi()) as any;
    expect(JSON.stringify(doc)).not.toMatch(/SPEC [AB]\d|docs\/[\w-]+\.md|packages\//);
    for (const [path, ops] of Object.entries<Record<string, OpenApiNode>>(doc.paths)) {
      for (const [method, op] of Object.entries<OpenApiNode>(ops)) {
        const where = `${method.toUpperCase()} ${path}`;
        const statuses = Object.keys(op.responses);
        expect(
          statuses.some((s) => /^2/.test(s)),
          where,
        ).toBe(true);
        for (const s of statuses) expect(op.responses[s].content, `${where} ${s}`).toBeDefined();
        const errors = statuses.filter((s) => Number(s) >= 400);
        if (path.startsWith('/api/v1/admin/') || path === '/metrics') {
          if (op.security?.length) expect(op.security, where).toEqual([{ adminKey: [] }]);
          if (path !== '/metrics' && op.security?.length)
            expect(errors, where).toEqual(expect.arrayContaining(['401', '422']));
          for (const s of errors) {
            const schema = op.responses[s].content['application/json'].schema;
            expect(schema.required, `${where} ${s}`).toEqual(
              expect.arrayContaining(['success', 'error', 'code']),
            );
          }
        } else {
          expect(op.security, where).toEqual([]);
        }
        if (['post', 'patch', 'put'].includes(method)) {
          expect(op.requestBody, where).toBeDefined();
          for (const [type, media] of Object.entries<OpenApiNode>(op.requestBody.content))
            expect(media.schema, `${where} ${type}`).toBeDefined();
        }
      }
    }
    for (const action of ['activate', 'verify', 'refresh', 'deactivate']) {
      const op = doc.paths[`/api/v1/license/${action}`].post;
      expect(op.requestBody.content['application/json'].schema.required).toEqual(['key', 'hardware_id']);
      expect(Object.keys(op.responses)).toEqual(
        expect.arrayContaining(['200', '403', '404', '409', '422', '429']),
      );
    }
  });
});

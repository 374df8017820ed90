import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderOpenApi } from './cli';

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
});

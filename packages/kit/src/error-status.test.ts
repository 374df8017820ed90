import { Type } from 'typebox';
import { afterAll, describe, expect, it } from 'vitest';
import { createApp } from './app';
import type { AppError } from './errors';
import { createLogger } from './logger';

// A service can word validation problems itself (from `issues`) and answer them with another status.
const app = createApp({
  logger: createLogger({ level: 'silent' }),
  renderError: (err: AppError) => ({ code: err.code, issues: err.issues ?? null }),
  errorStatus: (err) => (err.code === 'VALIDATION_ERROR' ? 422 : err.status),
});
app.post(
  '/x',
  { schema: { body: Type.Object({ id: Type.String({ minLength: 4 }) }, { additionalProperties: false }) } },
  async () => ({ ok: true }),
);
afterAll(() => app.close());

describe('kit error status and validation issues', () => {
  it('exposes structured issues and lets the service choose the status', async () => {
    const res = await app.inject({ method: 'POST', url: '/x', payload: { id: 'a', extra: 1 } });
    expect(res.statusCode).toBe(422);
    expect(res.json().issues).toEqual(
      expect.arrayContaining([
        { field: 'id', keyword: 'minLength', params: { limit: 4 } },
        { field: 'extra', keyword: 'additionalProperties', params: { additionalProperty: 'extra' } },
      ]),
    );
  });

  it('answers fields named like Object members (constructor, __proto__) instead of hanging', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/x',
      payload: '{"id":"abcd","constructor":1,"__proto__":{"a":1}}',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.statusCode).toBe(422);
    expect(
      res
        .json()
        .issues.map((i: { field: string }) => i.field)
        .sort(),
    ).toEqual(['__proto__', 'constructor']);
  });

  it('leaves other errors at their own status', async () => {
    const res = await app.inject({ method: 'GET', url: '/nope' });
    expect(res.statusCode).toBe(404);
  });
});

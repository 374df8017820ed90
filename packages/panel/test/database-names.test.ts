import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownerOfDatabaseName } from '../src/modules/databases/databases.service';
import { createPanelHarness, type PanelHarness } from './harness';

/**
 * Issue 9 item 6: database names and database users are `<owner>_<name>` with no `_` in `<name>`, so the owner
 * of any name is what comes before its last `_` — one owner can never take (or share) another's name or user.
 */
let h: PanelHarness;
beforeAll(async () => {
  h = await createPanelHarness({ flags: { rateLimit: 100_000 } });
});
afterAll(() => h.close());

describe('database names per owner', () => {
  it('bob cannot create bob_x_shop (user bob_x’s shop), nor take bob_x’s database user', async () => {
    const bob = await h.account('user', { username: 'bob' });
    const bobX = await h.account('user', { username: 'bob_x' });
    const squat = await h.call('POST', '/api/v1/databases', { key: bob.key, body: { name: 'x_shop' } });
    expect(squat.statusCode).toBe(400);
    expect(squat.json()).toMatchObject({
      code: 'VALIDATION_ERROR',
      details: { name: [expect.stringMatching(/_/)] },
    });
    const prefixed = await h.call('POST', '/api/v1/databases', {
      key: bob.key,
      body: { name: 'bob_x_shop' },
    });
    expect(prefixed.statusCode).toBe(400);
    const user = await h.call('POST', '/api/v1/databases', {
      key: bob.key,
      body: { name: 'other', user: 'x_shop' },
    });
    expect(user.statusCode).toBe(400);
    expect(user.json().details).toHaveProperty('user');
    // bob_x's own shop is bob_x's, with its own user
    const own = await h.call('POST', '/api/v1/databases', { key: bobX.key, body: { name: 'shop' } });
    expect(own.statusCode).toBe(201);
    expect(own.json().database).toMatchObject({ name: 'bob_x_shop', user: 'bob_x_shop', owner: 'bob_x' });
    // bob's own names still work, with or without the prefix
    const mine = await h.call('POST', '/api/v1/databases', { key: bob.key, body: { name: 'bob_shop' } });
    expect(mine.statusCode).toBe(201);
    expect(mine.json().database).toMatchObject({ name: 'bob_shop', user: 'bob_shop', owner: 'bob' });
  });

  it('no two owners ever share a database user', async () => {
    const rows = await h.deps.db
      .selectFrom('databases')
      .innerJoin('users', 'users.id', 'databases.owner_id')
      .select(['databases.db_user', 'users.username'])
      .execute();
    for (const r of rows) expect(ownerOfDatabaseName(r.db_user)).toBe(r.username);
  });

  it.each([
    ['bob_shop', 'bob'],
    ['bob_x_shop', 'bob_x'],
    ['a_b_c_d', 'a_b_c'],
    ['noowner', null],
    ['_x', null],
  ])('ownerOfDatabaseName(%s) = %s', (name, owner) => {
    expect(ownerOfDatabaseName(name)).toBe(owner);
  });
});

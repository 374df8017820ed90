import { AppError } from '@wispanel/kit';
import { testPostgresUrl } from '@wispanel/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPortal, type TestDialect, type TestPortal } from '../../testing';
import { cliActor } from '../events/event-log';

/** Admin-key list and revoke through the service and the admin API, on each database. */
const dialects: TestDialect[] = testPostgresUrl ? ['sqlite', 'postgres'] : ['sqlite'];

describe.each(dialects)('admin keys on %s', (dialect) => {
  let t: TestPortal;
  beforeAll(async () => {
    t = await createTestPortal(dialect);
  });
  afterAll(() => t?.close());

  const status = async (key: string) =>
    (await t.app.inject({ method: 'GET', url: '/api/v1/admin/tiers', headers: { 'x-admin-key': key } }))
      .statusCode;
  const revokedEvents = async () =>
    (await t.services.events.list({ action: 'admin_key.revoked' })).map((e) => ({
      actor: e.actor,
      data: e.data,
    }));
  const errorOf = async (p: Promise<unknown>) => {
    const err = await p.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  };

  it('list shows every key, revoked ones included, without the key or its hash', async () => {
    const second = await t.services.adminKeys.create('second');
    const list = await t.services.adminKeys.list();
    expect(list.map((k) => k.name)).toEqual(['initial', 'second']);
    for (const k of list) {
      expect(Object.keys(k).sort()).toEqual(['created_at', 'id', 'key_prefix', 'name', 'revoked_at']);
      expect(k.revoked_at).toBeNull();
    }
    expect(list[1]!.key_prefix).toBe(second.key.slice(0, 12));
    expect(JSON.stringify(list)).not.toContain(second.key.slice(12, 30));
  });

  it('revoke by prefix: the admin API refuses the key at once in this process, the other key works; idempotent', async () => {
    const extra = await t.services.adminKeys.create('to-revoke');
    expect(await status(extra.key)).toBe(200);
    const r = await t.services.adminKeys.revoke(cliActor, extra.record.key_prefix);
    expect(r.already_revoked).toBe(false);
    expect(r.record).toMatchObject({ id: extra.record.id, revoked_at: expect.any(String) });
    expect(await status(extra.key)).toBe(401);
    expect(await status(t.adminKey)).toBe(200);

    const again = await t.services.adminKeys.revoke(cliActor, extra.record.id);
    expect(again).toEqual({ record: r.record, already_revoked: true });
    expect(await revokedEvents()).toEqual([
      {
        actor: 'cli:operator',
        data: { id: extra.record.id, prefix: extra.record.key_prefix, name: 'to-revoke' },
      },
    ]);
    const listed = (await t.services.adminKeys.list()).find((k) => k.id === extra.record.id);
    expect(listed?.revoked_at).toBe(r.record.revoked_at);
  });

  it('an unknown, too short or ambiguous target is an error and changes nothing', async () => {
    const before = await t.services.adminKeys.list();
    expect((await errorOf(t.services.adminKeys.revoke(cliActor, 'wpa_ffffffff'))).code).toBe('NOT_FOUND');
    expect((await errorOf(t.services.adminKeys.revoke(cliActor, 'nope'))).message).toMatch(
      /no admin key with id or prefix "nope"/,
    );
    expect((await errorOf(t.services.adminKeys.revoke(cliActor, 'wpa_'))).message).toMatch(/too short/);
    // two keys whose 12-character prefixes collide (1 in 2^32 for real keys; made here on purpose)
    const [a, b] = [await t.services.adminKeys.create('a'), await t.services.adminKeys.create('b')];
    await t.services.db
      .updateTable('admin_keys')
      .set({ key_prefix: 'wpa_0000abcd' })
      .where('id', 'in', [a.record.id, b.record.id])
      .execute();
    const ambiguous = await errorOf(t.services.adminKeys.revoke(cliActor, 'wpa_0000abcd'));
    expect(ambiguous.code).toBe('CONFLICT');
    expect(ambiguous.message).toContain(a.record.id);
    expect((await t.services.adminKeys.revoke(cliActor, a.record.id)).record.id).toBe(a.record.id);
    await t.services.adminKeys.revoke(cliActor, b.record.id);
    expect((await t.services.adminKeys.list()).filter((k) => k.revoked_at === null).map((k) => k.id)).toEqual(
      before.filter((k) => k.revoked_at === null).map((k) => k.id),
    );
  });

  it('refuses to revoke the last active key without force, then locks the admin API with force', async () => {
    const active = (await t.services.adminKeys.list()).filter((k) => k.revoked_at === null);
    expect(active.map((k) => k.name)).toEqual(['initial', 'second']);
    await t.services.adminKeys.revoke(cliActor, active[1]!.id);
    const refused = await errorOf(t.services.adminKeys.revoke(cliActor, active[0]!.key_prefix));
    expect(refused.code).toBe('CONFLICT');
    expect(refused.message).toMatch(/last active admin key.*admin-key create.*--force/);
    expect(await status(t.adminKey)).toBe(200);
    expect(await t.services.adminKeys.count()).toBe(1);

    const forced = await t.services.adminKeys.revoke(cliActor, active[0]!.key_prefix, { force: true });
    expect(forced.already_revoked).toBe(false);
    expect(await status(t.adminKey)).toBe(401);
    expect(await t.services.adminKeys.count()).toBe(0);
    expect((await revokedEvents())[0]?.data).toMatchObject({ id: active[0]!.id, last_active_key: true });
    // recovery: a new key works
    const fresh = await t.services.adminKeys.create('recovery');
    expect(await status(fresh.key)).toBe(200);
  });

  it.skipIf(dialect !== 'postgres')(
    'two instances revoking the last two keys at once: exactly one succeeds',
    async () => {
      const second = await t.secondInstance();
      for (let round = 0; round < 5; round++) {
        const a = await t.services.adminKeys.create(`race-a-${round}`);
        const b = await t.services.adminKeys.create(`race-b-${round}`);
        // leave exactly a and b active
        for (const k of await t.services.adminKeys.list())
          if (k.revoked_at === null && k.id !== a.record.id && k.id !== b.record.id)
            await t.services.adminKeys.revoke(cliActor, k.id, { force: true });
        const results = await Promise.allSettled([
          t.services.adminKeys.revoke(cliActor, a.record.id),
          second.portal.adminKeys.revoke(cliActor, b.record.id),
        ]);
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
        expect((rejected.reason as AppError).code).toBe('CONFLICT');
        expect(await t.services.adminKeys.count()).toBe(1);
      }
    },
  );
});

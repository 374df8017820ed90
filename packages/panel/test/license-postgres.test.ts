/**
 * The license repository's SQL on PostgreSQL (the panel's production option): set-based enforce and
 * re-enable, the disabled-resources union, usage counts, state and audit. Skipped when `npm test` has no
 * PostgreSQL (WISPANEL_TEST_PG_URL unset).
 */
import { migrate, openDatabase } from '@wispanel/kit';
import { createTestPostgresDatabase, testPostgresUrl } from '@wispanel/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PanelDB } from '../src/db/schema';
import { migrations } from '../src/migrations';
import { LicenseRepository } from '../src/modules/license/license.repository';

describe.skipIf(!testPostgresUrl)('license repository on PostgreSQL', () => {
  let drop: () => Promise<void>;
  let database: ReturnType<typeof openDatabase<PanelDB>>;
  let repo: LicenseRepository;

  beforeAll(async () => {
    const created = await createTestPostgresDatabase();
    drop = created.drop;
    database = openDatabase<PanelDB>(created.url);
    await migrate(database, migrations);
    repo = new LicenseRepository(database.db);
    const now = new Date().toISOString();
    const state = {
      status: 'active',
      license_disabled_at: null,
      license_disabled_reason: null,
      created_at: now,
      updated_at: now,
    };
    await database.db
      .insertInto('users')
      .values({
        ...state,
        username: 'admin',
        email: 'a@example.com',
        password_hash: 'x',
        role: 'admin',
        package: 'default',
        creator_id: null,
      })
      .execute();
    for (let i = 1; i <= 6; i++) {
      await database.db
        .insertInto('domains')
        .values({
          ...state,
          domain: `d${i}.example.com`,
          owner_id: 1,
          status: i === 6 ? 'suspended' : 'active',
        })
        .execute();
    }
  });
  afterAll(async () => {
    await database?.close();
    await drop?.();
  });

  it('enforces, lists, and re-enables set-based, leaving admin suspensions alone', async () => {
    expect(await repo.usage()).toEqual({ account: 1, domain: 6, database: 0 });
    const r = await repo.disableExcess('domain', 3, 'license: test', new Date());
    expect(r.count).toBe(2);
    expect(r.resources.map((x) => x.name)).toEqual(['d5.example.com', 'd4.example.com']);
    expect((await repo.disableExcess('domain', 3, 'again', new Date())).count).toBe(0);
    const listed = await repo.disabled(10, 0);
    expect(listed.total).toBe(2);
    expect(listed.resources[0]).toMatchObject({ type: 'domain', owner: 'admin', reason: 'license: test' });
    const back = await repo.reenableWithin('domain', 4);
    expect(back.resources.map((x) => x.name)).toEqual(['d4.example.com']);
    expect((await repo.reenableWithin('domain', -1)).count).toBe(1);
    expect(await repo.disabledCount('domain')).toBe(0);
  });

  it('keeps state and audit', async () => {
    await repo.saveState({ license_key: 'WISP-AAAA-BBBB-CCCC', consecutive_failures: 2 }, new Date());
    expect(await repo.state()).toMatchObject({ license_key: 'WISP-AAAA-BBBB-CCCC', consecutive_failures: 2 });
    const written = await repo.audit(
      { action: 'enforce', actor: 'test', outcome: 'disabled', message: 'm', detail: { n: 1 } },
      new Date(),
    );
    const log = await repo.auditLog(10);
    expect(log[0]).toMatchObject({ action: 'enforce', detail: { n: 1 } });
    expect(typeof log[0]?.id).toBe('number');
    // The written entry (what the webhook sends) carries the id the database gave it.
    expect(written).toEqual(log[0]);
  });
});

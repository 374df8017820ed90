import { AppError, createLogger, migrate, openDatabase } from '@wispanel/kit';
import { createTestPostgresDatabase, tempDir, testPostgresUrl } from '@wispanel/kit/testing';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { buildPanelApp } from '../src/app';
import { loadPanelConfig } from '../src/config';
import type { PanelDB } from '../src/db/schema';
import { migrations } from '../src/migrations';
import type { LicenseGate } from '../src/modules/resources/license-gate';
import { initializeDataDir } from '../src/setup';

describe.skipIf(!testPostgresUrl)('panel on PostgreSQL', () => {
  it('migrates, authenticates, owns and counts race-free', async () => {
    const pg = await createTestPostgresDatabase();
    const dir = tempDir();
    const database = openDatabase<PanelDB>(pg.url);
    try {
      await migrate(database, migrations);
      const config = loadPanelConfig(
        { dataDir: dir.path, databaseUrl: pg.url, noTls: true, rateLimit: 100_000 },
        {},
      );
      const init = await initializeDataDir(config, {}, database);
      const gate: LicenseGate = {
        async assertCanCreate(kind, _actor, tx) {
          const n = Number(
            (await sql<{ n: number }>`SELECT COUNT(*) AS n FROM domains`.execute(tx)).rows[0]?.n,
          );
          if (kind === 'domain' && n >= 3) throw new AppError('LICENSE_LIMIT_REACHED', 'limit 3');
        },
      };
      const app = await buildPanelApp({
        config,
        db: database.db,
        dialect: 'postgres',
        logger: createLogger({ level: 'silent' }),
        licenseGate: gate,
      });
      const call = (method: 'GET' | 'POST', url: string, body?: unknown, key = init.api_key) =>
        app.inject({
          method,
          url,
          headers: {
            authorization: `Bearer ${key}`,
            ...(body ? { 'content-type': 'application/json' } : {}),
          },
          payload: body ? JSON.stringify(body) : undefined,
        });
      try {
        expect((await call('GET', '/api/v1/auth/me')).json().username).toBe('admin');
        expect(
          (
            await call('POST', '/api/v1/users', {
              username: 'pgu',
              email: 'pgu@example.com',
              password: 'long enough pw',
            })
          ).statusCode,
        ).toBe(201);
        const key = (
          await call('POST', '/api/v1/users/pgu/api-keys', { name: 'k', permissions: ['all'] })
        ).json().secret_key;
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            call('POST', '/api/v1/domains', { domain: `pg${i}.example` }, key),
          ),
        );
        expect(results.filter((r) => r.statusCode === 201)).toHaveLength(3);
        expect(results.filter((r) => r.statusCode === 403)).toHaveLength(7);
        expect((await call('GET', '/api/v1/domains', undefined, key)).json().pagination.total).toBe(3);
        expect((await call('POST', '/api/v1/databases', { name: 'db1' }, key)).json().database.name).toBe(
          'pgu_db1',
        );
        expect((await call('POST', '/api/v1/databases', { name: 'db1' }, key)).statusCode).toBe(409);
        expect((await call('GET', '/api/v1/users')).json().pagination.total).toBe(2);
      } finally {
        await app.close();
      }
    } finally {
      await database.close();
      await pg.drop();
      dir.remove();
    }
  });
});

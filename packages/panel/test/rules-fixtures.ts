// Fixtures of the `*.rules.test.ts` suites (the auth and key services and the auth hook without HTTP): a real
// SQLite panel database per test file and rows written with plain SQL, so the code under test only runs inside
// tests (what keeps the mutation group `auth` fast: see docs/mutation-testing.md).
import type { Role } from '@wispanel/contract';
import { AppError } from '@wispanel/kit';
import { tempDir } from '@wispanel/kit/testing';
import { afterAll, beforeAll, expect } from 'vitest';
import { loadPanelConfig } from '../src/config';
import { newApiKeySecret, newSessionToken } from '../src/modules/auth/tokens';
import { openPanelDatabase } from '../src/setup';

export type RulesDb = Awaited<ReturnType<typeof openPanelDatabase>>['database'];

/** A panel database in a temp dir for this test file: opened in beforeAll, closed and removed in afterAll. */
export function rulesDatabase(prefix: string): { readonly db: RulesDb } {
  let dir: { path: string; remove: () => void } | undefined;
  let db: RulesDb | undefined;
  beforeAll(async () => {
    dir = tempDir(prefix);
    const config = loadPanelConfig({ dataDir: dir.path, noTls: true, logLevel: 'silent' }, {});
    db = (await openPanelDatabase(config)).database;
  });
  afterAll(async () => {
    await db?.close();
    dir?.remove();
  });
  return {
    get db() {
      if (!db) throw new Error('rulesDatabase: used before beforeAll ran');
      return db;
    },
  };
}

let n = 0;

/** An account row (unique name); `passwordHash` defaults to an unusable one. */
export async function insertUser(
  db: RulesDb,
  o: {
    role?: Role;
    status?: string;
    licenseDisabled?: boolean;
    creatorId?: number | null;
    passwordHash?: string;
  } = {},
): Promise<{ id: number; username: string; email: string }> {
  n += 1;
  const role = o.role ?? 'user';
  const username = `${role}${n}x${Math.floor(Math.random() * 1e6)}`;
  const email = `${username}@example.com`;
  const row = await db.db
    .insertInto('users')
    .values({
      username,
      email,
      password_hash: o.passwordHash ?? 'x',
      role,
      package: 'default',
      creator_id: o.creatorId ?? null,
      status: o.status ?? 'active',
      license_disabled_at: o.licenseDisabled ? '2029-12-31T00:00:00.000Z' : null,
      license_disabled_reason: o.licenseDisabled ? 'over the limit' : null,
      created_at: '2029-06-01T00:00:00.000Z',
      updated_at: '2029-06-01T00:00:00.000Z',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { id: row.id, username, email };
}

/** An API key row of `userId` (all scopes, any IP, no expiry unless told); returns the secret and its parts. */
export async function insertKey(
  db: RulesDb,
  userId: number,
  o: {
    permissions?: string[];
    ipWhitelist?: string[];
    expiresAt?: string | null;
    enabled?: boolean;
    createdAt?: string;
  } = {},
): Promise<ReturnType<typeof newApiKeySecret>> {
  const key = newApiKeySecret();
  await db.db
    .insertInto('api_keys')
    .values({
      id: key.id,
      user_id: userId,
      name: 'k',
      key_prefix: key.prefix,
      secret_hash: key.hash,
      permissions: JSON.stringify(o.permissions ?? ['all']),
      ip_whitelist: JSON.stringify(o.ipWhitelist ?? []),
      last_used: null,
      created_at: o.createdAt ?? '2029-06-01T00:00:00.000Z',
      expires_at: o.expiresAt ?? null,
      enabled: o.enabled === false ? 0 : 1,
    })
    .execute();
  return key;
}

/** A UI session row of `userId` from `createdAt` to `expiresAt` (ms since the epoch). */
export async function insertSession(
  db: RulesDb,
  userId: number,
  createdAt: number,
  expiresAt: number,
): Promise<ReturnType<typeof newSessionToken>> {
  const s = newSessionToken();
  await db.db
    .insertInto('sessions')
    .values({
      id: s.id,
      token_hash: s.hash,
      user_id: userId,
      ip: '127.0.0.1',
      created_at: new Date(createdAt).toISOString(),
      expires_at: new Date(expiresAt).toISOString(),
    })
    .execute();
  return s;
}

/** The AppError a call throws (synchronously or as a rejected promise); fails the test when it does not. */
export async function refusal(run: () => unknown): Promise<AppError> {
  try {
    await run();
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  }
  throw new Error('expected a refusal');
}

export function expectRefused(err: AppError, code: string, status: number, message: string): void {
  expect({ code: err.code, status: err.status, message: err.message }).toEqual({ code, status, message });
}

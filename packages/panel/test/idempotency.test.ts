import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPanelApp } from '../src/app';
import { createPanelHarness, type PanelHarness } from './harness';

let h: PanelHarness;
beforeAll(async () => {
  h = await createPanelHarness({ flags: { rateLimit: 100_000 } });
});
afterAll(() => h.close());

const post = (body: unknown, key: string, apiKey?: string) =>
  h.call('POST', '/api/v1/domains', {
    body,
    headers: { 'idempotency-key': key },
    ...(apiKey ? { key: apiKey } : {}),
  });

describe('Idempotency-Key', () => {
  it('replays the first successful answer and does the work once', async () => {
    const first = await post({ domain: 'once.example' }, 'k-1');
    expect(first.statusCode).toBe(201);
    const again = await post({ domain: 'once.example' }, 'k-1');
    expect(again.statusCode).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toBe(first.body);
    const count = await h.deps.db
      .selectFrom('domains')
      .select('id')
      .where('domain', '=', 'once.example')
      .execute();
    expect(count).toHaveLength(1);
  });

  it('never stores an API key secret, and a replay of a key issue does not reveal it again', async () => {
    const issue = () =>
      h.call('POST', '/api/v1/users/admin/api-keys', {
        body: { name: 'idem', permissions: ['read'] },
        headers: { 'idempotency-key': 'k-key-issue' },
      });
    const first = await issue();
    expect(first.statusCode).toBe(201);
    const secret: string = first.json().secret_key;
    expect(secret).toMatch(/^wsp_[0-9a-f]{48}$/);
    // nothing of the secret in the stored answer (the stored row is what a replay serves for 24 h)
    const stored = await h.deps.db
      .selectFrom('idempotency_keys')
      .selectAll()
      .where('idem_key', '=', 'k-key-issue')
      .executeTakeFirstOrThrow();
    expect(stored.response_body).not.toContain(secret.slice(4));
    expect(stored.response_body).not.toContain(secret.slice(4, 20));
    const again = await issue();
    expect(again.statusCode).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).not.toContain(secret.slice(4));
    const body = again.json();
    expect(body).not.toHaveProperty('secret_key');
    expect(body).not.toHaveProperty('api_key');
    expect(body).toMatchObject({ success: true, secret_shown_once: true, key: first.json().key });
    expect(body.message).toMatch(/shown once/);
    // the work was done once
    const keys = await h.deps.db.selectFrom('api_keys').select('id').where('name', '=', 'idem').execute();
    expect(keys).toHaveLength(1);
  });

  it('handles concurrent retries: one runs, the others wait for or replay it', async () => {
    const results = await Promise.all(
      Array.from({ length: 5 }, () => post({ domain: 'race.example' }, 'k-race')),
    );
    const codes = results.map((r) => r.statusCode).sort();
    expect(codes.filter((c) => c === 201).length).toBeGreaterThanOrEqual(1);
    expect(codes.every((c) => c === 201 || c === 409)).toBe(true);
    // A 409 must be "still in progress", never "already exists" (which would mean the work ran twice),
    // and every 201 is the one answer, replayed.
    for (const r of results.filter((x) => x.statusCode === 409))
      expect(r.json().message).toBe('A request with this Idempotency-Key is still in progress; retry later');
    expect(new Set(results.filter((x) => x.statusCode === 201).map((x) => x.json().id)).size).toBe(1);
    const rows = await h.deps.db
      .selectFrom('domains')
      .select('id')
      .where('domain', '=', 'race.example')
      .execute();
    expect(rows).toHaveLength(1);
  });

  it('refuses the same key with a different body (422 IDEMPOTENCY_KEY_REUSED)', async () => {
    expect((await post({ domain: 'a.example' }, 'k-2')).statusCode).toBe(201);
    const other = await post({ domain: 'b.example' }, 'k-2');
    expect(other.statusCode).toBe(422);
    expect(other.json()).toMatchObject({ success: false, code: 'IDEMPOTENCY_KEY_REUSED', status: 422 });
    expect((await h.call('GET', '/api/v1/domains/b.example')).statusCode).toBe(404);
  });

  it('compares bodies canonically (key order does not matter)', async () => {
    expect((await post({ domain: 'c.example', owner: 'admin' }, 'k-3')).statusCode).toBe(201);
    const same = await post({ owner: 'admin', domain: 'c.example' }, 'k-3');
    expect(same.headers['idempotent-replayed']).toBe('true');
  });

  it('does not remember failures: a retry runs again', async () => {
    expect((await post({ domain: 'once.example' }, 'k-4')).statusCode).toBe(409);
    await h.call('DELETE', '/api/v1/domains/once.example');
    expect((await post({ domain: 'once.example' }, 'k-4')).statusCode).toBe(201);
  });

  it('keys are per account', async () => {
    const u = await h.account('user');
    const mine = await post({ domain: 'user-own.example' }, 'k-1', u.key);
    expect(mine.statusCode).toBe(201);
    expect(mine.headers['idempotent-replayed']).toBeUndefined();
  });

  it('rejects a malformed key', async () => {
    const res = await post({ domain: 'bad-key.example' }, 'x'.repeat(300));
    expect(res.statusCode).toBe(400);
  });

  it('forgets keys after 24 hours', async () => {
    expect((await post({ domain: 'ttl.example' }, 'k-ttl')).statusCode).toBe(201);
    await h.deps.db
      .updateTable('idempotency_keys')
      .set({ created_at: '2000-01-01T00:00:00.000Z' })
      .where('idem_key', '=', 'k-ttl')
      .execute();
    await h.call('DELETE', '/api/v1/domains/ttl.example');
    const fresh = await post({ domain: 'ttl.example' }, 'k-ttl');
    expect(fresh.statusCode).toBe(201);
    expect(fresh.headers['idempotent-replayed']).toBeUndefined();
  });

  it('stores no plain digest of a body: a password in it cannot be confirmed from the database alone', async () => {
    const body = {
      username: 'idemuser',
      email: 'idemuser@example.com',
      password: 'Summer2026!pass',
      role: 'user',
      package: 'default',
    };
    const first = await h.call('POST', '/api/v1/users', {
      body,
      headers: { 'idempotency-key': 'k-secret-body' },
    });
    expect(first.statusCode).toBe(201);
    const row = await h.deps.db
      .selectFrom('idempotency_keys')
      .select('body_hash')
      .where('idem_key', '=', 'k-secret-body')
      .executeTakeFirstOrThrow();
    // Someone holding a copy of the database (a backup) who guesses every field right, the password included,
    // must not be able to confirm the guess: the digest is keyed with a secret kept outside the database.
    const sorted = (o: Record<string, string>) =>
      `{${Object.keys(o)
        .sort()
        .map((k) => `${JSON.stringify(k)}:${JSON.stringify(o[k])}`)
        .join(',')}}`;
    expect(row.body_hash).not.toBe(createHash('sha256').update(sorted(body)).digest('hex'));
    expect(row.body_hash).not.toContain(createHash('sha256').update(JSON.stringify(body)).digest('hex'));
    const keyFile = join(h.config.dataDir, 'idempotency.key');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    // The key survives a restart: a retry after the panel came back is still recognised as the same request.
    const restarted = await buildPanelApp(h.deps);
    try {
      const again = await restarted.inject({
        method: 'POST',
        url: '/api/v1/users',
        headers: {
          authorization: `Bearer ${h.adminKey}`,
          'content-type': 'application/json',
          'idempotency-key': 'k-secret-body',
        },
        payload: JSON.stringify(body),
      });
      expect(again.statusCode).toBe(201);
      expect(again.headers['idempotent-replayed']).toBe('true');
    } finally {
      await restarted.close();
    }
  });
});

import type { LicenseAnswer } from '@wispanel/contract';
import { writeTransaction } from '@wispanel/kit';
import { testPostgresUrl } from '@wispanel/kit/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPortal, type TestDialect, type TestPortal } from '../../testing';
import { Batcher } from './batcher';
import { CheckRepository } from './check.repository';

/**
 * The license check (verify/refresh) group-commits its writes (check.repository.ts). These tests hold it to
 * what it must not give up: every answer from the current license state, every call in the event log before
 * its answer, one bad row failing only its own request. Real databases; the crash test is test/verify-crash.
 */
const hw = (n: number) => n.toString(16).padStart(64, 'c');
const dialects: TestDialect[] = testPostgresUrl ? ['sqlite', 'postgres'] : ['sqlite'];

describe('Batcher', () => {
  it('runs what arrives in one turn as one batch, one batch at a time, results in order', async () => {
    const batches: number[][] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const b = new Batcher<number, number>(async (items) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      batches.push(items);
      await new Promise((r) => setTimeout(r, 20));
      inFlight--;
      return items.map((x) => x * 10);
    });
    const first = Promise.all([1, 2, 3].map((x) => b.run(x)));
    await new Promise((r) => setImmediate(r)); // the first batch is running now
    const second = Promise.all([4, 5].map((x) => b.run(x)));
    expect(await first).toEqual([10, 20, 30]);
    expect(await second).toEqual([40, 50]);
    expect(batches).toEqual([
      [1, 2, 3],
      [4, 5],
    ]);
    expect(maxInFlight).toBe(1);
  });

  it('retries a failed batch item by item: only the bad item fails', async () => {
    const b = new Batcher<number, number>(async (items) => {
      if (items.includes(13)) throw new Error('thirteen');
      return items;
    });
    const results = await Promise.allSettled([12, 13, 14].map((x) => b.run(x)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason.message).toBe('thirteen');
  });
});

describe.each(dialects)('license check on %s', (dialect) => {
  let t: TestPortal;
  beforeAll(async () => {
    t = await createTestPortal(dialect);
  });
  afterAll(() => t?.close());

  const admin = (method: 'GET' | 'POST', url: string, payload?: object) =>
    t.app.inject({
      method,
      url: `/api/v1/admin${url}`,
      headers: { 'x-admin-key': t.adminKey },
      ...(payload ? { payload } : {}),
    });
  const lic = async (action: string, body: Record<string, unknown>) => {
    const res = await t.app.inject({ method: 'POST', url: `/api/v1/license/${action}`, payload: body });
    return res.json() as LicenseAnswer;
  };
  const issueActivated = async (n: number) => {
    const res = await admin('POST', '/licenses', { tier: 'pro', term_days: 30 });
    const { license_key, license } = res.json() as { license_key: string; license: { id: string } };
    expect((await lic('activate', { key: license_key, hardware_id: hw(n) })).code).toBe('VALID');
    return { key: license_key, id: license.id };
  };
  const events = async (licenseId: string) =>
    (await admin('GET', `/events?license_id=${licenseId}&limit=500`)).json().events as Array<{
      action: string;
      result_code: string;
      data: { hostname?: string } | null;
    }>;

  const eventRow = (hostname: string) => ({
    at: new Date().toISOString(),
    license_id: null,
    action: 'license.verify',
    actor: 'panel:test',
    ip: null,
    hardware_id: null,
    panel_version: null,
    usage: null,
    result_code: 'NOT_FOUND',
    data: JSON.stringify({ hostname }),
  });
  const hostnames = async () =>
    (
      (await admin('GET', '/events?action=license.verify&limit=500')).json().events as Array<{
        data: { hostname?: string } | null;
      }>
    ).map((e) => e.data?.hostname);

  it('80 concurrent verifies: every one answered VALID and logged once, in order; last seen = the latest', async () => {
    const x = await issueActivated(1);
    const answers = await Promise.all(
      Array.from({ length: 80 }, (_, i) =>
        lic('verify', {
          key: x.key,
          hardware_id: hw(1),
          hostname: `host-${i}`,
          usage: { accounts: i, domains: 0, databases: 0 },
        }),
      ),
    );
    expect(answers.every((a) => a.code === 'VALID')).toBe(true);
    const logged = (await events(x.id)).filter((e) => e.action === 'license.verify');
    expect(logged).toHaveLength(80);
    // Newest first; inject sends them in order, so the log holds host-79 … host-0.
    expect(logged.map((e) => e.data?.hostname)).toEqual(
      Array.from({ length: 80 }, (_, i) => `host-${79 - i}`),
    );
    const detail = (await admin('GET', `/licenses/${x.id}`)).json().license;
    expect(detail.activations[0]).toMatchObject({
      hostname: 'host-79',
      last_usage: { accounts: 79, domains: 0, databases: 0 },
    });
  });

  it('a suspension (and a reinstatement, and a revocation) is seen by the very next verify, even under load', async () => {
    const x = await issueActivated(2);
    const background = Array.from({ length: 40 }, () => lic('verify', { key: x.key, hardware_id: hw(2) }));
    await admin('POST', `/licenses/${x.id}/suspend`);
    expect((await lic('verify', { key: x.key, hardware_id: hw(2) })).code).toBe('SUSPENDED');
    await admin('POST', `/licenses/${x.id}/reinstate`);
    expect((await lic('verify', { key: x.key, hardware_id: hw(2) })).code).toBe('VALID');
    const moreBackground = Array.from({ length: 40 }, () =>
      lic('refresh', { key: x.key, hardware_id: hw(2) }),
    );
    await admin('POST', `/licenses/${x.id}/revoke`);
    const after = await lic('refresh', { key: x.key, hardware_id: hw(2) });
    expect(after).toMatchObject({ valid: false, code: 'REVOKED' });
    expect(after.license_file).toBeUndefined();
    await Promise.all([...background, ...moreBackground]);
    const codes = (await events(x.id)).map((e) => `${e.action} ${e.result_code}`);
    expect(codes[0]).toBe('license.refresh REVOKED');
    expect(
      codes.filter((c) => c.startsWith('license.verify') || c.startsWith('license.refresh')),
    ).toHaveLength(83);
  });

  it('unknown keys and foreign servers are logged too (NOT_FOUND, HARDWARE_MISMATCH)', async () => {
    const x = await issueActivated(3);
    const [mismatch, missing] = await Promise.all([
      lic('verify', { key: x.key, hardware_id: hw(4) }),
      lic('verify', { key: 'WISP-ZZZZ-ZZZZ-ZZZZ', hardware_id: hw(4), hostname: 'nobody-knows-me' }),
    ]);
    expect(mismatch.code).toBe('HARDWARE_MISMATCH');
    expect(missing.code).toBe('NOT_FOUND');
    expect((await events(x.id))[0]).toMatchObject({
      action: 'license.verify',
      result_code: 'HARDWARE_MISMATCH',
    });
    const all = (await admin('GET', '/events?action=license.verify&limit=500')).json().events as Array<{
      result_code: string;
      data: { hostname?: string } | null;
    }>;
    expect(all.find((e) => e.data?.hostname === 'nobody-knows-me')?.result_code).toBe('NOT_FOUND');
  });

  it('a record the database refuses fails alone; the rest of its batch is committed', async () => {
    const repo = new CheckRepository(t.services.db, t.services.database);
    const row = eventRow;
    const results = await Promise.allSettled([
      repo.record({ event: row('batch-ok-1') }),
      repo.record({ event: { ...row('batch-bad'), action: null as unknown as string } }),
      repo.record({ event: row('batch-ok-2') }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const hosts = await hostnames();
    expect(hosts).toContain('batch-ok-1');
    expect(hosts).toContain('batch-ok-2');
    expect(hosts).not.toContain('batch-bad');
  });

  it.skipIf(dialect !== 'sqlite')(
    'a verify during an open write transaction waits for it instead of reading its uncommitted rows',
    async () => {
      const x = await issueActivated(5);
      let release!: () => void;
      const held = new Promise<void>((r) => {
        release = r;
      });
      let entered!: () => void;
      const inside = new Promise<void>((r) => {
        entered = r;
      });
      const tx = writeTransaction(t.services.db, 'sqlite', async (conn) => {
        await sql`UPDATE licenses SET status = 'suspended' WHERE id = ${x.id}`.execute(conn);
        entered();
        await held;
        throw new Error('roll back');
      });
      await inside;
      const repo = new CheckRepository(t.services.db, t.services.database);
      let settled = false;
      const read = repo.license(t.services.hasher.hash(x.key), hw(5)).then((row) => {
        settled = true;
        return row;
      });
      const recorded = repo.record({ event: eventRow('written-during-a-rolled-back-transaction') });
      await new Promise((r) => setTimeout(r, 50));
      expect(settled).toBe(false); // queued behind the open transaction, not reading its rows
      release();
      await expect(tx).rejects.toThrow('roll back');
      expect((await read)?.status).toBe('active');
      await recorded; // its own transaction after the other one ended: not rolled back with it
      expect(await hostnames()).toContain('written-during-a-rolled-back-transaction');
      expect((await lic('verify', { key: x.key, hardware_id: hw(5) })).code).toBe('VALID');
    },
  );
});

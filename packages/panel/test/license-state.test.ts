import { join } from 'node:path';
import type { LicensePayload } from '@wispanel/contract';
import { createLogger, migrate, openDatabase } from '@wispanel/kit';
import { tempDir } from '@wispanel/kit/testing';
import { describe, expect, it, vi } from 'vitest';
import type { PanelDB } from '../src/db/schema';
import { migrations } from '../src/migrations';
import { planEnforcement } from '../src/modules/license/enforcement-plan';
import { type LedgerDeps, LicenseLedger, QUEUE_WAIT_MS } from '../src/modules/license/ledger';
import { LicenseRepository } from '../src/modules/license/license.repository';
import { DAY_MS, evaluateLicense, type LicenseEvaluationInput } from '../src/modules/license/license-state';
import { acceptSignedTime, TrustedTime, trustedFloor } from '../src/modules/license/trusted-clock';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

function payload(over: Partial<LicensePayload> = {}): LicensePayload {
  return {
    v: 1,
    license_id: 'lic_1',
    key_masked: 'WISP-****SA6T',
    tier: 'pro',
    limits: { max_users: 30, max_domains: 100, max_databases: -1 },
    features: [],
    hardware_id: 'a'.repeat(64),
    issued_at: iso(T0),
    expires_at: iso(T0 + 365 * DAY_MS),
    valid_until: iso(T0 + 14 * DAY_MS),
    lease_days: 14,
    grace_days: 7,
    server_time: iso(T0),
    nonce: 'n',
    status: 'active',
    ...over,
  };
}

const unlicensed = { max_users: 5, max_domains: 5, max_databases: 5 };
function input(over: Partial<LicenseEvaluationInput>): LicenseEvaluationInput {
  return {
    payload: payload(),
    hasFile: true,
    hasKey: true,
    fileError: null,
    systemNow: T0,
    trustedFloor: T0,
    graceMs: null,
    unlicensed,
    clockToleranceMs: 5 * 60_000,
    ...over,
  };
}

describe('license state machine (fake clock)', () => {
  it('is active inside the lease with the license limits and no refresh needed early', () => {
    const e = evaluateLicense(input({ systemNow: T0 + DAY_MS }));
    expect(e).toMatchObject({
      status: 'active',
      is_valid: true,
      reason: null,
      tier: 'pro',
      needs_refresh: false,
    });
    expect(e.limits.max_users).toBe(30);
  });

  it('needs a refresh once a third or less of the lease is left, still active', () => {
    const lease = 14 * DAY_MS;
    expect(evaluateLicense(input({ systemNow: T0 + lease - lease / 3 - 1000 })).needs_refresh).toBe(false);
    const e = evaluateLicense(input({ systemNow: T0 + lease - lease / 3 }));
    expect(e).toMatchObject({ status: 'active', needs_refresh: true, is_valid: true });
  });

  it('keeps the limits during the grace after the lease ends, then falls back to the unlicensed allowance', () => {
    const leaseEnd = T0 + 14 * DAY_MS;
    const g = evaluateLicense(input({ systemNow: leaseEnd + DAY_MS }));
    expect(g).toMatchObject({ status: 'grace', is_valid: true, reason: 'LEASE_ENDED', needs_refresh: true });
    expect(g.limits.max_users).toBe(30);
    expect(g.grace_ends_at).toBe(leaseEnd + 7 * DAY_MS);
    const x = evaluateLicense(input({ systemNow: leaseEnd + 7 * DAY_MS }));
    expect(x).toMatchObject({
      status: 'invalid',
      is_valid: false,
      reason: 'LEASE_EXPIRED',
      limits: unlicensed,
    });
  });

  it('applies a configured grace instead of the file grace', () => {
    const leaseEnd = T0 + 14 * DAY_MS;
    expect(evaluateLicense(input({ systemNow: leaseEnd + 2 * DAY_MS, graceMs: DAY_MS })).status).toBe(
      'invalid',
    );
    expect(evaluateLicense(input({ systemNow: leaseEnd + 2 * DAY_MS, graceMs: 0 })).status).toBe('invalid');
    expect(evaluateLicense(input({ systemNow: leaseEnd + 2 * DAY_MS, graceMs: 3 * DAY_MS })).status).toBe(
      'grace',
    );
  });

  it('expires at the end of the term (after grace) even with a fresh lease', () => {
    const p = payload({ expires_at: iso(T0 + 10 * DAY_MS), valid_until: iso(T0 + 20 * DAY_MS) });
    expect(evaluateLicense(input({ payload: p, systemNow: T0 + 11 * DAY_MS })).status).toBe('grace');
    const e = evaluateLicense(input({ payload: p, systemNow: T0 + 17 * DAY_MS }));
    expect(e).toMatchObject({
      status: 'expired',
      is_valid: false,
      reason: 'TERM_EXPIRED',
      limits: unlicensed,
    });
  });

  it('treats a suspended or revoked license as invalid at once', () => {
    expect(evaluateLicense(input({ payload: payload({ status: 'revoked' }) }))).toMatchObject({
      status: 'invalid',
      reason: 'LICENSE_REVOKED',
      limits: unlicensed,
    });
  });

  it('a signed portal refusal newer than the file overrides it; an older one does not', () => {
    const later = evaluateLicense(
      input({ systemNow: T0 + DAY_MS, verdict: { code: 'REVOKED', at: iso(T0 + 1000) } }),
    );
    expect(later).toMatchObject({
      status: 'invalid',
      reason: 'LICENSE_REVOKED',
      is_valid: false,
      limits: unlicensed,
    });
    const older = evaluateLicense(
      input({ systemNow: T0 + DAY_MS, verdict: { code: 'REVOKED', at: iso(T0 - 1000) } }),
    );
    expect(older.status).toBe('active');
  });

  it('reports no license and a rejected file with its reason', () => {
    expect(evaluateLicense(input({ payload: null, hasFile: false, hasKey: false }))).toMatchObject({
      status: 'unlicensed',
      is_valid: false,
      tier: 'unlicensed',
      limits: unlicensed,
      needs_refresh: false,
    });
    const e = evaluateLicense(
      input({ payload: null, fileError: { reason: 'BAD_SIGNATURE', message: 'signature does not match' } }),
    );
    expect(e).toMatchObject({ status: 'invalid', is_valid: false, reason: 'BAD_SIGNATURE' });
  });

  it('a clock turned back is reported and never extends the lease', () => {
    const leaseEnd = T0 + 14 * DAY_MS;
    // The panel last trusted a time after the grace ended; the system clock claims we are back at T0.
    const floor = leaseEnd + 8 * DAY_MS;
    const e = evaluateLicense(input({ systemNow: T0, trustedFloor: floor }));
    expect(e).toMatchObject({ status: 'invalid', reason: 'LEASE_EXPIRED', clock_behind: true, now: floor });
    expect(e.clock_behind_ms).toBe(floor - T0);
    // Within the lease a small lag under the tolerance is not reported.
    const ok = evaluateLicense(input({ systemNow: T0 + DAY_MS, trustedFloor: T0 + DAY_MS + 1000 }));
    expect(ok).toMatchObject({ status: 'active', clock_behind: false });
    const behind = evaluateLicense(input({ systemNow: T0, trustedFloor: T0 + DAY_MS }));
    expect(behind).toMatchObject({ status: 'active', reason: 'CLOCK_BEHIND', clock_behind: true });
  });
});

describe('trusted clock floor', () => {
  it('is the newest of its sources and is reset by a signed portal time', () => {
    let rec = acceptSignedTime({ signed_time: null, observed_time: null }, iso(T0));
    expect(trustedFloor(rec)).toBe(T0);
    rec = { ...rec, observed_time: iso(T0 + DAY_MS) };
    expect(trustedFloor(rec)).toBe(T0 + DAY_MS);
    // A time recorded into the future is corrected by the next signed time.
    rec = { ...rec, observed_time: iso(T0 + 400 * DAY_MS) };
    rec = acceptSignedTime(rec, iso(T0 + 2 * DAY_MS));
    expect(trustedFloor(rec)).toBe(T0 + 2 * DAY_MS);
    expect(trustedFloor(rec, [iso(T0 + 3 * DAY_MS)])).toBe(T0 + 3 * DAY_MS);
  });
});

describe('enforcement plan', () => {
  const rows = (n: number) =>
    Array.from({ length: n }, (_, i) => ({
      id: i + 1,
      status: 'active',
      license_disabled_at: null as string | null,
    }));

  it('disables exactly the excess, newest first, never the oldest limit ones', () => {
    const plan = planEnforcement(rows(10), 7);
    expect(plan).toEqual({ disable: [10, 9, 8], reenable: [], excess: 3 });
    expect(planEnforcement(rows(10), -1)).toEqual({ disable: [], reenable: [], excess: 0 });
    expect(planEnforcement(rows(3), 0).disable).toEqual([3, 2, 1]);
  });

  it('never touches admin-suspended resources and is idempotent', () => {
    const r = rows(6);
    (r[5] as { status: string }).status = 'suspended';
    (r[4] as { license_disabled_at: string | null }).license_disabled_at = 'x';
    expect(planEnforcement(r, 3)).toEqual({ disable: [4], reenable: [], excess: 3 });
  });

  it('re-enables what fits the limit, oldest first', () => {
    const r = rows(6).map((x) => (x.id > 2 ? { ...x, license_disabled_at: 't' } : x));
    expect(planEnforcement(r, 4)).toEqual({ disable: [], reenable: [3, 4], excess: 2 });
    expect(planEnforcement(r, -1).reenable).toEqual([3, 4, 5, 6]);
  });

  // The plan above is the reference model (and the bench's baseline); the panel runs set-based SQL. This
  // checks that the SQL does exactly what the model says, on a real SQLite file with random states.
  it('the set-based SQL the panel runs does exactly what the plan says (SQLite, random states)', async () => {
    const dir = tempDir('wispanel-enforce-model-');
    const database = openDatabase<PanelDB>(join(dir.path, 'panel.db'));
    try {
      await migrate(database, migrations);
      const db = database.db;
      const repo = new LicenseRepository(db);
      const now = new Date().toISOString();
      const base = { license_disabled_reason: null, created_at: now, updated_at: now };
      await db
        .insertInto('users')
        .values({
          ...base,
          username: 'admin',
          email: 'a@example.com',
          password_hash: 'x',
          role: 'admin',
          package: 'default',
          creator_id: null,
          status: 'active',
          license_disabled_at: null,
        })
        .execute();
      let seed = 7;
      const rand = (n: number) => {
        seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
        return seed % n;
      };
      for (let i = 1; i <= 40; i++) {
        await db
          .insertInto('domains')
          .values({
            ...base,
            domain: `d${i}.example.com`,
            owner_id: 1,
            status: rand(5) === 0 ? 'suspended' : 'active',
            license_disabled_at: rand(3) === 0 ? now : null,
          })
          .execute();
      }
      const rowsNow = () =>
        db.selectFrom('domains').select(['id', 'status', 'license_disabled_at']).orderBy('id').execute();
      for (const limit of [0, 3, 17, 25, 39, 40, 55, -1, 10]) {
        const plan = planEnforcement(await rowsNow(), limit);
        const back = await repo.reenableWithin('domain', limit);
        expect([limit, back.resources.map((r) => r.id)]).toEqual([limit, plan.reenable]);
        const after = planEnforcement(await rowsNow(), limit);
        const off = await repo.disableExcess('domain', limit, 'model', new Date());
        expect([limit, off.resources.map((r) => r.id)]).toEqual([limit, after.disable]);
        expect(off.count).toBe(after.disable.length);
        expect(planEnforcement(await rowsNow(), limit)).toMatchObject({ disable: [], reenable: [] });
      }
      const suspended = (await rowsNow()).filter((r) => r.status === 'suspended');
      expect(suspended.length).toBeGreaterThan(0);
    } finally {
      await database.close();
      dir.remove();
    }
  });
});

describe('trusted time (system and monotonic clocks injected)', () => {
  const MIN = 60_000;
  const make = (floor: number | null, settleMs = 10 * MIN) => {
    const c = { system: T0, mono: 0 };
    const t = new TrustedTime(
      { system: () => c.system, monotonic: () => c.mono, toleranceMs: 5 * MIN, settleMs },
      floor,
    );
    return { c, t };
  };

  it('starts at max(system clock, floor) and advances with the monotonic clock when the clock is behind', () => {
    const { c, t } = make(T0 + DAY_MS);
    expect(t.now()).toBe(T0 + DAY_MS);
    c.mono += 10 * MIN; // the system clock stays behind and does not move
    expect(t.now()).toBe(T0 + DAY_MS + 10 * MIN);
    c.system -= DAY_MS; // turned back further
    c.mono += MIN;
    expect(t.now()).toBe(T0 + DAY_MS + 11 * MIN);
  });

  it('follows the system clock within the tolerance, ignores a jump ahead, and adopts it once settled', () => {
    const { c, t } = make(null);
    c.system += 2 * MIN;
    c.mono += MIN; // the clock ran 1 min faster: within the tolerance, followed
    expect(t.now()).toBe(T0 + 2 * MIN);
    c.system += 363 * DAY_MS;
    expect(t.now()).toBe(T0 + 2 * MIN);
    expect(t.systemAheadMs).toBe(363 * DAY_MS);
    c.system += 9 * MIN;
    c.mono += 9 * MIN;
    expect(t.now()).toBe(T0 + 11 * MIN); // not settled yet
    c.system += 2 * MIN;
    c.mono += 2 * MIN;
    expect(t.now()).toBe(c.system); // ahead by the same offset for 10+ min: adopted
  });

  it('after a signed portal time a jump ahead is never adopted; the signed time replaces a clock that ran ahead', () => {
    const { c, t } = make(null);
    c.system += 400 * DAY_MS;
    t.acceptSigned(T0);
    expect(t.now()).toBe(T0);
    for (let i = 0; i < 30; i++) {
      c.system += MIN;
      c.mono += MIN;
      t.now();
    }
    expect(t.now()).toBe(T0 + 30 * MIN);
  });
});

describe('the serial queue of license operations', () => {
  it('runs operations one at a time, and never stays blocked by one that does not end', async () => {
    vi.useFakeTimers();
    try {
      const ledger = new LicenseLedger({
        logger: createLogger({ level: 'silent' }),
      } as unknown as LedgerDeps);
      const order: string[] = [];
      let release: () => void = () => {};
      const first = ledger.serial(
        () =>
          new Promise<void>((r) => {
            order.push('first');
            release = r;
          }),
      );
      const second = ledger.serial(async () => {
        order.push('second');
      });
      await vi.advanceTimersByTimeAsync(1000);
      expect(order).toEqual(['first']); // serial: waits for the first
      release();
      await first;
      await second;
      expect(order).toEqual(['first', 'second']);

      ledger.serial(() => new Promise<void>(() => {})); // never ends
      let ran = false;
      const after = ledger.serial(async () => {
        ran = true;
      });
      await vi.advanceTimersByTimeAsync(QUEUE_WAIT_MS - 1000);
      expect(ran).toBe(false);
      await vi.advanceTimersByTimeAsync(2000);
      await after;
      expect(ran).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });
});

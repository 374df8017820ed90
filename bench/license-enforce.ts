/**
 * Enforce and re-enable over 100,000 resources (SPEC B2), on a real SQLite panel database.
 *   npx tsx bench/license-enforce.ts [count]
 * Prints wall time and peak memory of the set-based enforcement (what the panel runs) beside a baseline
 * measured in the same run: the naive way (load every row, plan in JS, update row by row in one transaction).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrate, openDatabase } from '@wispanel/kit';
import { sql } from 'kysely';
import type { PanelDB } from '../packages/panel/src/db/schema';
import { migrations } from '../packages/panel/src/migrations';
import { planEnforcement } from '../packages/panel/src/modules/license/enforcement-plan';
import { LicenseRepository } from '../packages/panel/src/modules/license/license.repository';

const COUNT = Number(process.argv[2] ?? 100_000);
const LIMIT = Math.floor(COUNT / 2);

let peakRss = 0;
let peakHeap = 0;
const sampler = setInterval(() => {
  const m = process.memoryUsage();
  peakRss = Math.max(peakRss, m.rss);
  peakHeap = Math.max(peakHeap, m.heapUsed);
}, 5);

async function measure<T>(label: string, fn: () => Promise<T>): Promise<T> {
  global.gc?.();
  const before = process.memoryUsage();
  peakRss = before.rss;
  peakHeap = before.heapUsed;
  const t = process.hrtime.bigint();
  const out = await fn();
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  const m = process.memoryUsage();
  peakRss = Math.max(peakRss, m.rss);
  peakHeap = Math.max(peakHeap, m.heapUsed);
  console.log(
    `${label.padEnd(44)} ${ms.toFixed(0).padStart(7)} ms   peak heap +${((peakHeap - before.heapUsed) / 2 ** 20).toFixed(1).padStart(6)} MiB   peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB`,
  );
  return out;
}

const dir = mkdtempSync(join(tmpdir(), 'wispanel-bench-'));
const database = openDatabase<PanelDB>(join(dir, 'panel.db'));
try {
  await migrate(database, migrations);
  const db = database.db;
  const now = new Date().toISOString();
  await db.transaction().execute(async (tx) => {
    await tx
      .insertInto('users')
      .values({
        username: 'admin',
        email: 'admin@example.com',
        password_hash: 'x',
        role: 'admin',
        package: 'default',
        creator_id: null,
        status: 'active',
        license_disabled_at: null,
        license_disabled_reason: null,
        created_at: now,
        updated_at: now,
      })
      .execute();
    const batch = 500;
    for (let i = 0; i < COUNT; i += batch) {
      const rows = [];
      for (let j = i; j < Math.min(COUNT, i + batch); j++) {
        rows.push({
          domain: `site${j}-${randomBytes(2).toString('hex')}.example.com`,
          owner_id: 1,
          // Every 1000th is suspended by an admin: enforcement must leave it alone.
          status: j % 1000 === 999 ? 'suspended' : 'active',
          license_disabled_at: null,
          license_disabled_reason: null,
          created_at: now,
          updated_at: now,
        });
      }
      await tx.insertInto('domains').values(rows).execute();
    }
  });
  console.log(
    `${COUNT} domains (every 1000th admin-suspended), limit ${LIMIT}; node ${process.version}, SQLite file`,
  );
  const repo = new LicenseRepository(db);

  const enforced = await measure('enforce (panel: set-based)', () =>
    repo.disableExcess('domain', LIMIT, 'bench', new Date()),
  );
  const again = await measure('enforce again (idempotent, nothing to do)', () =>
    repo.disableExcess('domain', LIMIT, 'bench', new Date()),
  );
  const restored = await measure('re-enable, unlimited (panel: set-based)', () =>
    repo.reenableWithin('domain', -1),
  );
  console.log(`  disabled ${enforced.count}, then ${again.count}; re-enabled ${restored.count}`);

  const naive = await measure('baseline: enforce row by row', async () => {
    const rows = await db
      .selectFrom('domains')
      .select(['id', 'status', 'license_disabled_at'])
      .orderBy('id')
      .execute();
    const plan = planEnforcement(rows, LIMIT);
    await db.transaction().execute(async (tx) => {
      for (const id of plan.disable) {
        await tx
          .updateTable('domains')
          .set({ license_disabled_at: now, license_disabled_reason: 'bench' })
          .where('id', '=', id)
          .execute();
      }
    });
    return plan.disable.length;
  });
  const naiveBack = await measure('baseline: re-enable row by row', async () => {
    const rows = await db
      .selectFrom('domains')
      .select(['id', 'status', 'license_disabled_at'])
      .orderBy('id')
      .execute();
    const plan = planEnforcement(rows, -1);
    await db.transaction().execute(async (tx) => {
      for (const id of plan.reenable) {
        await tx
          .updateTable('domains')
          .set({ license_disabled_at: null, license_disabled_reason: null })
          .where('id', '=', id)
          .execute();
      }
    });
    return plan.reenable.length;
  });
  console.log(`  baseline disabled ${naive}, re-enabled ${naiveBack}`);
  const check = await sql<{
    n: number;
  }>`SELECT COUNT(*) AS n FROM domains WHERE license_disabled_at IS NOT NULL`.execute(db);
  if (enforced.count !== naive || Number(check.rows[0]?.n) !== 0)
    throw new Error('panel and baseline disagree');
} finally {
  clearInterval(sampler);
  await database.close();
  rmSync(dir, { recursive: true, force: true });
}

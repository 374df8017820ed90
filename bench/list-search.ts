/**
 * List search: `GET /api/v1/domains` with and without `q` / `status`, over a real SQLite file holding N domains
 * (inserted directly, owned by the admin and by users), in-process through the whole stack (auth, validation,
 * the query and its count) with `app.inject`. Baseline: the unfiltered first page in the same run; rounds
 * interleaved; medians. Also a reseller's search (narrowed through the owner index first).
 *   npx tsx bench/list-search.ts [--rows 100000] [--rounds 15]
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { createPanelHarness } from '../packages/panel/test/harness';

const { values } = parseArgs({
  options: { rows: { type: 'string', default: '100000' }, rounds: { type: 'string', default: '15' } },
});
const ROWS = Number(values.rows);
const ROUNDS = Number(values.rounds);

const h = await createPanelHarness({ flags: { rateLimit: 10_000_000 } });
const reseller = await h.account('reseller', { username: 'benchres' });
const db = h.deps.db;
const owners = await db.selectFrom('users').select(['id', 'username']).execute();
const resellerId = owners.find((o) => o.username === 'benchres')!.id;
const adminId = owners.find((o) => o.username === 'admin')!.id;
const now = new Date().toISOString();
const BATCH = 500;
for (let i = 0; i < ROWS; i += BATCH) {
  const rows = [];
  for (let j = i; j < Math.min(ROWS, i + BATCH); j++) {
    rows.push({
      domain: `site-${j}.${j % 7 === 0 ? 'shop' : 'example'}.test`,
      owner_id: j % 50 === 0 ? resellerId : adminId,
      status: j % 97 === 0 ? 'suspended' : 'active',
      license_disabled_at: null,
      license_disabled_reason: null,
      created_at: now,
      updated_at: now,
    });
  }
  await db.insertInto('domains').values(rows).execute();
}

const targets: Array<[string, string, string]> = [
  ['first page, no filter (baseline)', '/api/v1/domains?per_page=20', h.adminKey],
  ['q=shop (1 in 7 match)', '/api/v1/domains?q=shop&per_page=20', h.adminKey],
  ['q=site-4242. (rare)', '/api/v1/domains?q=site-4242.&per_page=20', h.adminKey],
  ['q=nomatch (scan, 0 rows)', '/api/v1/domains?q=nomatch&per_page=20', h.adminKey],
  ['status=suspended', '/api/v1/domains?status=suspended&per_page=20', h.adminKey],
  ['reseller q=shop (own rows only)', '/api/v1/domains?q=shop&per_page=20', reseller.key],
];
const times = new Map<string, number[]>(targets.map(([n]) => [n, []]));
const totals = new Map<string, number>();
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, url, key] of targets) {
    const t0 = process.hrtime.bigint();
    const res = await h.call('GET', url, { key });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (res.statusCode !== 200) throw new Error(`${name}: ${res.statusCode} ${res.body}`);
    totals.set(name, res.json().pagination.total);
    if (r > 0) times.get(name)!.push(ms); // round 0 warms up
  }
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};
const base = median(times.get(targets[0]![0])!);
console.log(
  `domains: ${ROWS} rows, ${ROUNDS - 1} measured rounds, load ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
for (const [name] of targets) {
  const m = median(times.get(name)!);
  console.log(
    `${name.padEnd(34)} median ${m.toFixed(1).padStart(7)} ms  ×${(m / base).toFixed(2).padStart(6)}  total ${totals.get(name)}`,
  );
}
await h.close();

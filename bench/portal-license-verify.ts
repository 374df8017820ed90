import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PortalAdminClient } from '@wispanel/client';
import { createTestPostgresDatabase } from '@wispanel/kit/testing';
import { initPortal, loadPortalConfig, startPortal } from '@wispanel/portal';
import { startPostgres } from '../scripts/postgres.mjs';
import { type LoadResult, postLoad } from './lib/post-load';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '5' }, connections: { type: 'string', default: '32' } },
});
const SECONDS = Number(values.seconds);
const CONNECTIONS = Number(values.connections);
const LICENSES = 200;

type Result = LoadResult;

const load = (name: string, url: string, bodies: string[]): Promise<Result> =>
  postLoad({
    name,
    url,
    path: '/api/v1/license/verify',
    bodies,
    ok: '"VALID"',
    seconds: SECONDS,
    connections: CONNECTIONS,
  });

async function bare(bodies: string[]): Promise<Result> {
  const answer = JSON.stringify({ valid: true, code: 'VALID', server_time: new Date().toISOString() });
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      JSON.parse(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(200, { 'content-type': 'application/json' }).end(answer);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address() as { port: number };
  try {
    return await load('bare node:http', `http://127.0.0.1:${address.port}`, bodies);
  } finally {
    server.close();
  }
}

async function portal(name: string, databaseUrl: string | undefined): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), 'wispanel-bench-'));
  try {
    const config = loadPortalConfig(
      {
        dataDir: dir,
        port: 0,
        rateLimit: 1_000_000,
        logLevel: 'silent',
        ...(databaseUrl ? { databaseUrl } : {}),
      },
      {},
    );
    const init = await initPortal(config);
    const running = await startPortal(config, { logLevel: 'silent' });
    try {
      const admin = new PortalAdminClient({ baseUrl: running.url, adminKey: init.admin_key! });
      const bodies: string[] = [];
      for (let i = 0; i < LICENSES; i++) {
        const { license_key } = await admin.issueLicense({ tier: 'pro', term_days: 365 });
        const hardware_id = i.toString(16).padStart(64, 'a');
        const res = await fetch(`${running.url}/api/v1/license/activate`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ key: license_key, hardware_id }),
        });
        if (res.status !== 200) throw new Error(`activate: ${res.status} ${await res.text()}`);
        bodies.push(
          JSON.stringify({
            key: license_key,
            hardware_id,
            nonce: `bench-${i}-nonce`,
            panel_version: '1.4.2',
            usage: { accounts: 10, domains: 7, databases: 2 },
          }),
        );
      }
      return await load(name, running.url, bodies);
    } finally {
      await running.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const results: Result[] = [];
const bodiesForBare = Array.from({ length: LICENSES }, (_, i) =>
  JSON.stringify({
    key: 'WISP-AAAA-BBBB-CCCC',
    hardware_id: i.toString(16).padStart(64, 'a'),
    nonce: `bench-${i}-nonce`,
  }),
);
results.push(await bare(bodiesForBare));
results.push(await portal('portal verify, SQLite', undefined));
const pgServer = process.env.WISPANEL_TEST_PG_URL ? null : await startPostgres({ durable: true });
const pgUrl = process.env.WISPANEL_TEST_PG_URL ?? pgServer?.url;
if (pgUrl) {
  const db = await createTestPostgresDatabase(pgUrl);
  try {
    results.push(await portal('portal verify, PostgreSQL', db.url));
  } finally {
    await db.drop();
    pgServer?.stop();
  }
} else {
  console.log('PostgreSQL not available: skipping the PostgreSQL row');
}

const baseline = results[0]!;
console.log(`\nlicense/verify, ${CONNECTIONS} connections, ${SECONDS}s per row, node ${process.version}`);
console.log('(PostgreSQL runs in its own processes: its CPU time is not in the cpu column)\n');
console.log(
  'server                        req/s   p50 ms   p99 ms   cpu µs/req   req/s vs bare   cpu vs bare   errors',
);
for (const r of results) {
  console.log(
    [
      r.name.padEnd(28),
      r.rps.toFixed(0).padStart(6),
      r.p50.toFixed(2).padStart(8),
      r.p99.toFixed(2).padStart(8),
      r.cpuUs.toFixed(0).padStart(12),
      `${(r.rps / baseline.rps).toFixed(3)}x`.padStart(15),
      `${(r.cpuUs / baseline.cpuUs).toFixed(1)}x`.padStart(13),
      String(r.errors).padStart(8),
    ].join(' '),
  );
}

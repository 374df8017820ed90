/**
 * `POST /api/v1/license/verify` throughput and latency on the portal over SQLite and over PostgreSQL, beside a
 * bare node:http server answering a fixed JSON body, measured in the same run with the same load generator.
 *
 *   npx tsx bench/portal-license-verify.ts [--seconds 5] [--connections 32]
 *
 * PostgreSQL: uses WISPANEL_TEST_PG_URL if set, else starts a throwaway cluster (like scripts/test.mjs) when
 * PostgreSQL is installed, else skips that row. Each verify does what production does: look the key up,
 * read the tier and bindings, note the server as seen, append an event, sign the answer (Ed25519).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PortalAdminClient } from '@wispanel/client';
import { initPortal, loadPortalConfig, startPortal } from '@wispanel/portal';
import pg from 'pg';
import { Pool } from 'undici';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '5' }, connections: { type: 'string', default: '32' } },
});
const SECONDS = Number(values.seconds);
const CONNECTIONS = Number(values.connections);
const LICENSES = 200;

interface Result {
  name: string;
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  /** CPU time of this process (server + load generator) per request: steadier than req/s on a busy machine. */
  cpuUs: number;
  errors: number;
}

/** Closed-loop load: CONNECTIONS workers, each sending the next request when the previous one answered. */
async function load(name: string, url: string, bodies: string[]): Promise<Result> {
  const pool = new Pool(url, { connections: CONNECTIONS, pipelining: 1 });
  const latencies: number[] = [];
  let errors = 0;
  const run = async (until: number, record: boolean) => {
    let i = Math.floor(Math.random() * bodies.length);
    while (performance.now() < until) {
      const t0 = performance.now();
      const res = await pool.request({
        path: '/api/v1/license/verify',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: bodies[i++ % bodies.length],
      });
      const text = await res.body.text();
      if (record) {
        latencies.push(performance.now() - t0);
        if (res.statusCode !== 200 || !text.includes('"VALID"')) errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, () => run(performance.now() + 1000, false))); // warm-up
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  await Promise.all(Array.from({ length: CONNECTIONS }, () => run(start + SECONDS * 1000, true)));
  const cpu = process.cpuUsage(cpu0);
  const elapsed = (performance.now() - start) / 1000;
  await pool.close();
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0;
  return {
    name,
    requests: latencies.length,
    rps: latencies.length / elapsed,
    p50: q(0.5),
    p99: q(0.99),
    cpuUs: (cpu.user + cpu.system) / Math.max(1, latencies.length),
    errors,
  };
}

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

/** A throwaway PostgreSQL cluster (as scripts/test.mjs starts one), stopped by PID. */
async function startPostgres(): Promise<{ url: string; stop: () => void } | null> {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return null;
  const version = readdirSync(base).find((v) => existsSync(join(base, v, 'bin', 'initdb')));
  if (!version) return null;
  const bin = join(base, version, 'bin');
  const dir = mkdtempSync(join(tmpdir(), 'wispanel-bench-pg-'));
  chmodSync(dir, 0o777);
  const data = join(dir, 'data');
  mkdirSync(data);
  const asRoot = process.getuid?.() === 0;
  if (asRoot) execFileSync('chown', ['-R', 'postgres:postgres', dir]);
  const cmd = (c: string, args: string[]) =>
    asRoot
      ? (['runuser', ['-u', 'postgres', '--', join(bin, c), ...args]] as const)
      : ([join(bin, c), args] as const);
  const [initCmd, initArgs] = cmd('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  execFileSync(initCmd, [...initArgs], { stdio: 'pipe' });
  const port = 20000 + Math.floor(Math.random() * 20000);
  const [pgCmd, pgArgs] = cmd('postgres', [
    '-D',
    data,
    '-p',
    String(port),
    '-k',
    dir,
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'max_connections=200',
  ]);
  spawn(pgCmd, [...pgArgs], { stdio: 'ignore', detached: true });
  for (let i = 0; i < 100; i++) {
    if (spawnSync(join(bin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port)]).status === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: () => {
      try {
        process.kill(pid, 'SIGINT');
      } catch {}
      for (let i = 0; i < 50; i++) {
        try {
          process.kill(pid, 0);
        } catch {
          break;
        }
        spawnSync('sleep', ['0.1']);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function freshPgDatabase(serverUrl: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `bench_${Date.now().toString(36)}`;
  const c = new pg.Client({ connectionString: serverUrl });
  await c.connect();
  await c.query(`CREATE DATABASE ${name}`);
  await c.end();
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: async () => {
      const d = new pg.Client({ connectionString: serverUrl });
      await d.connect();
      await d.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await d.end();
    },
  };
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
const pgServer = process.env.WISPANEL_TEST_PG_URL ? null : await startPostgres();
const pgUrl = process.env.WISPANEL_TEST_PG_URL ?? pgServer?.url;
if (pgUrl) {
  const db = await freshPgDatabase(pgUrl);
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

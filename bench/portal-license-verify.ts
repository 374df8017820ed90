/**
 * Throughput and p99 of the portal's `POST /api/v1/license/verify` (200 activated licenses, round robin) on
 * SQLite and on PostgreSQL (durable settings: fsync on, synchronous_commit on), beside a bare node:http server
 * that parses the same JSON body and answers a fixed JSON, measured in the same run with the same load
 * generator.
 *
 *   npx tsx bench/portal-license-verify.ts [--seconds 5] [--rounds 3] [--connections 32] [--loader wrk|undici]
 *       [--only bare,sign,sqlite,pg]
 *
 * Targets: `bare` (node:http answering a fixed JSON: the baseline), `sign` (node:http that only makes the
 * Ed25519-signed answer over the request's nonce and the time — no database, framework or validation: the
 * ceiling of any design that signs on the event loop), `sqlite` and `pg` (the portal). `sqlite@0`, `pg@2`…:
 * the portal with that many signing threads (`--signing-threads`; default: the portal's own default), so
 * `--only bare,sqlite@0,sqlite@1` compares them in one run.
 *
 * Every server runs in its own child process (so it has a core to itself, as in production). The load
 * generator is wrk (C, one thread, keep-alive, a Lua script rotating the request bodies and counting every
 * answer that is not a 200 with `"VALID"` in it) when it is installed, else undici in this process: undici needs
 * about as much CPU per request as the bare server, so with it the bare row measures the load generator and
 * the ratios are flattered. Rounds are interleaved (every target once per round) so the machine's noise hits
 * every target alike; the table shows medians and the ratio against the bare server of the same run.
 * Server CPU µs/request (read from the server process) is steadier than req/s on a busy machine; `loop µs` is
 * the main thread's share (the event loop: what bounds one process's throughput).
 *
 * Profiling one target: `node --cpu-prof --import tsx bench/portal-license-verify.ts --serve sqlite` prints
 * `{ port, bodies }` on stderr; drive it with wrk (see `wrkScript`), stop it with Ctrl-C to write the profile.
 */
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { PortalAdminClient } from '@wispanel/client';
import { generateSigningKeyPair, loadSigningKey, signDocument } from '@wispanel/contract';
import { createTestPostgresDatabase } from '@wispanel/kit/testing';
import { initPortal, loadPortalConfig, startPortal } from '@wispanel/portal';
import { startPostgres } from '../scripts/postgres.mjs';
import { postLoad } from './lib/post-load';

type Kind = 'bare' | 'sign' | 'sqlite' | 'pg';
const PATH = '/api/v1/license/verify';
const LICENSES = 200;

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '32' },
    loader: { type: 'string' },
    only: { type: 'string', default: 'bare,sign,sqlite,pg' },
    serve: { type: 'string' },
    'pg-url': { type: 'string' },
    'log-level': { type: 'string', default: 'silent' },
    'signing-threads': { type: 'string' },
  },
});

/** Child mode: start one target, make its request bodies, report `{ port, bodies }`, answer CPU queries. */
async function serve(kind: Kind): Promise<void> {
  process.on('SIGINT', () => process.exit(0)); // lets --cpu-prof write its profile
  process.on('SIGTERM', () => process.exit(0));
  const dir = mkdtempSync(join(tmpdir(), 'wispanel-bench-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const bodies: string[] = [];
  let port: number;
  if (kind === 'bare' || kind === 'sign') {
    const answer = JSON.stringify({ valid: true, code: 'VALID', server_time: new Date().toISOString() });
    // `sign`: the least any verify answer needs beyond bare HTTP — the Ed25519 signature over the panel's nonce
    // and the server time (no database, no framework, no validation): the ceiling of a one-loop design.
    const key = loadSigningKey(generateSigningKeyPair().privateKeyPem);
    const signed = (body: { hardware_id: string; nonce: string }) => {
      const now = new Date().toISOString();
      const payload = {
        v: 1,
        action: 'verify',
        valid: true,
        code: 'VALID',
        license_id: 'lic_bench',
        hardware_id: body.hardware_id,
        nonce: body.nonce,
        server_time: now,
      };
      return JSON.stringify({
        valid: true,
        code: 'VALID',
        server_time: now,
        nonce: body.nonce,
        signed: signDocument('license-answer', payload, key),
      });
    };
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(kind === 'sign' ? signed(body) : answer);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
    for (let i = 0; i < LICENSES; i++)
      bodies.push(
        JSON.stringify({
          key: 'WISP-AAAA-BBBB-CCCC',
          hardware_id: i.toString(16).padStart(64, 'a'),
          nonce: `bench-${i}-nonce`,
          panel_version: '1.4.2',
          usage: { accounts: 10, domains: 7, databases: 2 },
        }),
      );
  } else {
    const databaseUrl = values['pg-url'];
    if (kind === 'pg' && !databaseUrl) throw new Error('--pg-url is required for the pg target');
    const config = loadPortalConfig(
      {
        dataDir: dir,
        port: 0,
        rateLimit: 1_000_000,
        logLevel: values['log-level'],
        ...(values['signing-threads'] !== undefined ? { signingThreads: values['signing-threads'] } : {}),
        ...(kind === 'pg' ? { databaseUrl } : {}),
      },
      {},
    );
    const init = await initPortal(config);
    const running = await startPortal(config);
    const admin = new PortalAdminClient({ baseUrl: running.url, adminKey: init.admin_key! });
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
    port = Number(new URL(running.url).port);
  }
  const bodiesFile = join(dir, 'bodies.txt');
  writeFileSync(bodiesFile, `${bodies.join('\n')}\n`);
  process.on('message', (m) => {
    if (m === 'cpu') process.send?.({ cpu: process.cpuUsage(), main: mainThreadCpuUs() });
  });
  const ready = { port, bodies: bodiesFile };
  if (process.send) process.send(ready);
  else console.error(JSON.stringify(ready));
}

interface Target {
  /** `kind` or `kind@threads` (the portal with that many signing threads). */
  spec: string;
  kind: Kind;
  port: number;
  bodies: string;
  child: ChildProcess;
}

async function startTarget(spec: string, pgUrl?: string): Promise<Target> {
  const [kind, threads] = spec.split('@') as [Kind, string | undefined];
  const args = ['--import', 'tsx', fileURLToPath(import.meta.url), '--serve', kind];
  if (pgUrl) args.push('--pg-url', pgUrl);
  if (threads !== undefined) args.push('--signing-threads', threads);
  args.push('--log-level', values['log-level']!);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const msg = await new Promise<{ port: number; bodies: string }>((resolve, reject) => {
    child.once('message', (m) => resolve(m as never));
    child.once('exit', (code) => reject(new Error(`${kind} server exited ${code}`)));
  });
  return { spec, kind, ...msg, child };
}

/** Server CPU time (user + system, µs) used so far. */
/** CPU time of this process's main thread (the event loop) in µs, from /proc (Linux); NaN elsewhere. */
function mainThreadCpuUs(): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100; // utime + stime, in clock ticks (100 Hz)
  } catch {
    return Number.NaN;
  }
}

function serverCpu(t: Target): Promise<{ all: number; main: number }> {
  return new Promise((resolve) => {
    const onMessage = (m: unknown) => {
      const { cpu, main } = m as { cpu?: { user: number; system: number }; main: number };
      if (!cpu) return;
      t.child.off('message', onMessage);
      resolve({ all: cpu.user + cpu.system, main });
    };
    t.child.on('message', onMessage);
    t.child.send('cpu');
  });
}

/** The wrk Lua script: POSTs the bodies of `bodiesFile` round robin; counts answers that are not a VALID 200. */
export function wrkScript(bodiesFile: string): string {
  return `
local bodies = {}
for line in io.lines(${JSON.stringify(bodiesFile)}) do bodies[#bodies + 1] = line end
local i = math.random(#bodies)
bad = 0
local threads = {}
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
setup = function(thread) table.insert(threads, thread) end
request = function()
  i = i % #bodies + 1
  return wrk.format(nil, "${PATH}", nil, bodies[i])
end
response = function(status, headers, body)
  if status ~= 200 or not string.find(body, '"VALID"', 1, true) then bad = bad + 1 end
end
done = function(summary, latency, requests)
  local b = 0
  for _, t in ipairs(threads) do b = b + t:get("bad") end
  io.write(string.format("RESULT %d %f %f %f %d\\n", summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, b + summary.errors.status
    + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
`;
}

interface Row {
  rps: number;
  p50: number;
  p99: number;
  cpuUs: number;
  /** CPU of the main thread alone (the event loop; without V8's helper threads and libuv's pool). */
  loopUs: number;
  errors: number;
}

const scriptDir = mkdtempSync(join(tmpdir(), 'wispanel-bench-wrk-'));
process.on('exit', () => rmSync(scriptDir, { recursive: true, force: true }));

async function load(t: Target, seconds: number, connections: number, loader: string): Promise<Row> {
  const cpu0 = await serverCpu(t);
  let requests: number;
  let elapsed: number;
  let p50: number;
  let p99: number;
  let errors: number;
  if (loader === 'wrk') {
    const script = join(scriptDir, `${t.spec}.lua`);
    writeFileSync(script, wrkScript(t.bodies));
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        'wrk',
        ['-t1', `-c${connections}`, `-d${seconds}s`, '-s', script, `http://127.0.0.1:${t.port}${PATH}`],
        (err, stdout) => (err ? reject(err) : resolve(stdout)),
      ),
    );
    const m = /RESULT (\d+) ([\d.]+) ([\d.]+) ([\d.]+) (\d+)/.exec(out);
    if (!m) throw new Error(`unexpected wrk output:\n${out}`);
    [requests, elapsed, p50, p99, errors] = m.slice(1).map(Number) as [
      number,
      number,
      number,
      number,
      number,
    ];
  } else {
    const { readFileSync } = await import('node:fs');
    const bodies = readFileSync(t.bodies, 'utf8').trim().split('\n');
    const r = await postLoad({
      name: t.spec,
      url: `http://127.0.0.1:${t.port}`,
      path: PATH,
      bodies,
      ok: '"VALID"',
      seconds,
      connections,
    });
    requests = r.requests;
    elapsed = r.requests / r.rps;
    p50 = r.p50;
    p99 = r.p99;
    errors = r.errors;
  }
  const cpu = await serverCpu(t);
  const n = Math.max(1, requests);
  return {
    rps: requests / elapsed,
    p50,
    p99,
    cpuUs: (cpu.all - cpu0.all) / n,
    loopUs: (cpu.main - cpu0.main) / n,
    errors,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function main(): Promise<void> {
  const seconds = Number(values.seconds);
  const rounds = Number(values.rounds);
  const connections = Number(values.connections);
  const hasWrk = spawnSync('wrk', ['--version']).error === undefined;
  const loader = values.loader ?? (hasWrk ? 'wrk' : 'undici');
  if (loader === 'wrk' && !hasWrk) throw new Error('wrk is not installed (apt-get install wrk)');
  const kinds = values.only!.split(',');
  let pg: Awaited<ReturnType<typeof startPostgres>> = null;
  const pgDbs: Array<Awaited<ReturnType<typeof createTestPostgresDatabase>>> = [];
  let pgStarted = false;
  const targets: Target[] = [];
  try {
    for (const kind of kinds) {
      if (kind.split('@')[0] === 'pg') {
        // One PostgreSQL server; a database of its own for every pg target.
        if (!pgStarted && !process.env.WISPANEL_TEST_PG_URL) pg = await startPostgres({ durable: true });
        pgStarted = true;
        const url = process.env.WISPANEL_TEST_PG_URL ?? pg?.url;
        if (!url) {
          console.log('PostgreSQL not available: skipping the PostgreSQL row');
          continue;
        }
        const pgDb = await createTestPostgresDatabase(url);
        pgDbs.push(pgDb);
        targets.push(await startTarget(kind, pgDb.url));
      } else targets.push(await startTarget(kind));
    }
    for (const t of targets) await load(t, 2, connections, loader); // warm-up: JIT, caches, connections
    const rows = new Map<string, Row[]>();
    for (let r = 0; r < rounds; r++)
      for (const t of targets) {
        const row = await load(t, seconds, connections, loader);
        rows.set(t.spec, [...(rows.get(t.spec) ?? []), row]);
      }
    const names: Record<Kind, string> = {
      bare: 'bare node:http',
      sign: 'node:http + Ed25519 only',
      sqlite: 'portal verify, SQLite',
      pg: 'portal verify, PostgreSQL',
    };
    const med = (k: string, f: (r: Row) => number) => median((rows.get(k) ?? []).map(f));
    const base = targets[0]!.spec;
    console.log(
      `\nlicense/verify: ${rounds} interleaved rounds × ${seconds}s, ${connections} connections, load generator ${loader}, node ${process.version}, load average ${(
        await import('node:os')
      )
        .loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}`,
    );
    console.log('(PostgreSQL runs in its own processes: its CPU time is not in the cpu column)\n');
    console.log(
      `server                              req/s   p50 ms   p99 ms   cpu µs/req  loop µs   req/s vs ${base.padEnd(6)}   cpu vs ${base.padEnd(6)}   errors   rounds (req/s)`,
    );
    for (const t of targets) {
      const k = t.spec;
      const threads = t.spec.split('@')[1];
      const all = rows.get(k) ?? [];
      console.log(
        [
          `${names[t.kind]}${threads === undefined ? '' : `, ${threads} sign thr`}`.padEnd(34),
          med(k, (r) => r.rps)
            .toFixed(0)
            .padStart(6),
          med(k, (r) => r.p50)
            .toFixed(2)
            .padStart(8),
          med(k, (r) => r.p99)
            .toFixed(2)
            .padStart(8),
          med(k, (r) => r.cpuUs)
            .toFixed(0)
            .padStart(12),
          med(k, (r) => r.loopUs)
            .toFixed(0)
            .padStart(9),
          `${(med(k, (r) => r.rps) / med(base, (r) => r.rps)).toFixed(3)}x`.padStart(17),
          `${(med(k, (r) => r.cpuUs) / med(base, (r) => r.cpuUs)).toFixed(1)}x`.padStart(15),
          String(all.reduce((a, r) => a + r.errors, 0)).padStart(8),
          `   ${all.map((r) => r.rps.toFixed(0)).join(', ')}`,
        ].join(' '),
      );
    }
  } finally {
    for (const t of targets) t.child.kill();
    await Promise.all(
      targets.map((t) => (t.child.exitCode === null ? new Promise((r) => t.child.once('exit', r)) : null)),
    );
    for (const db of pgDbs) await db.drop();
    pg?.stop();
  }
}

// Run only as a script (the profiling harness imports wrkScript).
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (values.serve) await serve(values.serve as Kind);
  else await main();
}

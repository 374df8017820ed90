/**
 * Throughput of an authenticated `GET /api/v1/auth/me` through the whole panel stack (rate limit, API key
 * lookup in SQLite, role/scope checks, handler, JSON logs at info level) with TLS off and on, against bare
 * node:http and bare fastify hello-world servers, measured in the same run with the same load generator.
 *
 *   npx tsx bench/panel-throughput.ts [--seconds 3] [--rounds 5] [--connections 32] [--loader wrk|undici]
 *
 * Each server runs in its own child process (one core). The load generator is wrk (C, one thread, keep-alive;
 * `apt-get install wrk`) when it is installed, else undici in this process. wrk is preferred: undici needs
 * about as much CPU per request as a bare server, so with it the fast targets measure the load generator
 * (bare fastify ~19k req/s with undici, ~34k with wrk on the same machine), which flatters the ratio.
 * Rounds are interleaved (every target once per round) so the machine's noise hits every target alike.
 * Prints requests/s medians and the ratios; goal: panel without TLS ≥ 0.5 × bare fastify.
 */
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { fileURLToPath } from 'node:url';
import { createLogger, ensureSelfSignedCertificate } from '@wispanel/kit';
import { tempDir } from '@wispanel/kit/testing';
import Fastify from 'fastify';
import { Pool } from 'undici';
import { loadPanelConfig } from '../packages/panel/src/config';
import { startPanel } from '../packages/panel/src/main';
import { initializeDataDir } from '../packages/panel/src/setup';

type Kind =
  | 'node-http'
  | 'fastify-http'
  | 'panel-http'
  | 'panel-quiet-http'
  | 'node-https'
  | 'fastify-https'
  | 'panel-https';
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};

const HELLO = JSON.stringify({ hello: 'world' });

async function serve(kind: Kind): Promise<void> {
  process.on('SIGINT', () => process.exit(0)); // lets --cpu-prof write its profile
  const dir = tempDir('wispanel-bench-');
  const tls = kind.endsWith('https') ? await ensureSelfSignedCertificate(dir.path) : null;
  let port = 0;
  let path = '/';
  let headers: Record<string, string> = {};
  if (kind.startsWith('node')) {
    const handler = (_req: unknown, res: import('node:http').ServerResponse) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(HELLO);
    };
    const server = tls
      ? createHttpsServer({ key: tls.key, cert: tls.cert }, handler)
      : createHttpServer(handler);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  } else if (kind.startsWith('fastify')) {
    const app = Fastify((tls ? { https: { key: tls.key, cert: tls.cert } } : {}) as never);
    app.get('/', async () => ({ hello: 'world' }));
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as { port: number }).port;
  } else {
    const config = loadPanelConfig(
      {
        dataDir: dir.path,
        host: '127.0.0.1',
        port: '0',
        noTls: tls ? undefined : 'true',
        rateLimit: '10000000',
        logLevel: 'info',
      },
      {},
    );
    const init = await initializeDataDir(config);
    const panel = await startPanel(config, {
      // panel-quiet: the same stack with the per-request line off (level warn), to show what logging costs.
      logger: createLogger({
        level: kind === 'panel-quiet-http' ? 'warn' : (process.env.BENCH_LOG_LEVEL ?? 'info'),
        name: 'panel',
      }),
    });
    port = panel.port;
    path = '/api/v1/auth/me';
    headers = { authorization: `Bearer ${init.api_key}` };
  }
  process.on('message', (m) => {
    if (m === 'cpu') process.send?.({ cpu: process.cpuUsage() });
  });
  if (process.send) process.send({ port, path, headers });
  else console.error(JSON.stringify({ port, path, headers })); // standalone (e.g. under --cpu-prof)
}

interface Target {
  origin: string;
  path: string;
  headers: Record<string, string>;
  child: ChildProcess;
}

/** CPU time (user + system, µs) the server process has used so far. */
function serverCpu(t: Target): Promise<number> {
  return new Promise((resolve) => {
    const onMessage = (m: unknown) => {
      const cpu = (m as { cpu?: { user: number; system: number } }).cpu;
      if (!cpu) return;
      t.child.off('message', onMessage);
      resolve(cpu.user + cpu.system);
    };
    t.child.on('message', onMessage);
    t.child.send('cpu');
  });
}

async function startTarget(kind: Kind): Promise<Target> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), '--serve', kind],
    {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    },
  );
  const msg = await new Promise<{ port: number; path: string; headers: Record<string, string> }>(
    (resolve, reject) => {
      child.once('message', (m) => resolve(m as never));
      child.once('exit', (code) => reject(new Error(`${kind} server exited ${code}`)));
    },
  );
  return {
    origin: `${kind.endsWith('https') ? 'https' : 'http'}://127.0.0.1:${msg.port}`,
    path: msg.path,
    headers: msg.headers,
    child,
  };
}

type Loader = 'wrk' | 'undici';
const hasWrk = () => spawnSync('wrk', ['--version']).error === undefined;

/** Keep-alive load: `connections` concurrent request loops for `seconds`; returns requests per second. */
async function load(
  t: Target,
  seconds: number,
  connections: number,
  loader: Loader,
): Promise<{ rps: number; errors: number; cpuPerRequest: number }> {
  if (loader === 'wrk') return loadWrk(t, seconds, connections);
  const cpuBefore = await serverCpu(t);
  const pool = new Pool(t.origin, { connections, pipelining: 1, connect: { rejectUnauthorized: false } });
  let done = 0;
  let errors = 0;
  const end = Date.now() + seconds * 1000;
  const loop = async () => {
    while (Date.now() < end) {
      try {
        const res = await pool.request({ method: 'GET', path: t.path, headers: t.headers });
        await res.body.dump();
        if (res.statusCode === 200) done++;
        else errors++;
      } catch {
        errors++;
      }
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: connections }, loop));
  const elapsed = (performance.now() - started) / 1000;
  await pool.close();
  const cpu = (await serverCpu(t)) - cpuBefore;
  return { rps: done / elapsed, errors, cpuPerRequest: cpu / Math.max(1, done) };
}

/** The same measurement with wrk as the load generator (one thread, `connections` keep-alive connections). */
async function loadWrk(
  t: Target,
  seconds: number,
  connections: number,
): Promise<{ rps: number; errors: number; cpuPerRequest: number }> {
  const cpuBefore = await serverCpu(t);
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`];
  for (const [k, v] of Object.entries(t.headers)) args.push('-H', `${k}: ${v}`);
  args.push(`${t.origin}${t.path}`);
  const out = await new Promise<string>((resolve, reject) =>
    execFile('wrk', args, (err, stdout) => (err ? reject(err) : resolve(stdout))),
  );
  const cpu = (await serverCpu(t)) - cpuBefore;
  const total = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
  const seconds_ = Number(/requests in ([\d.]+)s/.exec(out)?.[1] ?? seconds);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = non2xx + (socketErrors ? socketErrors.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
  const ok = total - non2xx;
  return { rps: ok / seconds_, errors, cpuPerRequest: cpu / Math.max(1, ok) };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};

async function main(): Promise<void> {
  const seconds = arg('seconds', 3);
  const rounds = arg('rounds', 5);
  const connections = arg('connections', 32);
  const li = process.argv.indexOf('--loader');
  const loader: Loader = li >= 0 ? (process.argv[li + 1] as Loader) : hasWrk() ? 'wrk' : 'undici';
  if (loader === 'wrk' && !hasWrk()) throw new Error('wrk is not installed (apt-get install wrk)');
  const kinds: Kind[] = [
    'node-http',
    'fastify-http',
    'panel-http',
    'panel-quiet-http',
    'node-https',
    'fastify-https',
    'panel-https',
  ];
  const results = new Map<Kind, number[]>();
  const cpuCost = new Map<Kind, number[]>();
  const targets = new Map<Kind, Target>();
  for (const k of kinds) targets.set(k, await startTarget(k));
  try {
    for (const t of targets.values()) await load(t, 2, connections, loader); // warm-up (JIT, TLS sessions, caches)
    // Interleave rounds so background noise hits every target alike.
    for (let r = 0; r < rounds; r++) {
      for (const k of kinds) {
        const { rps, errors, cpuPerRequest } = await load(
          targets.get(k) as Target,
          seconds,
          connections,
          loader,
        );
        if (errors > 0) console.error(`${k}: ${errors} errors`);
        results.set(k, [...(results.get(k) ?? []), rps]);
        cpuCost.set(k, [...(cpuCost.get(k) ?? []), cpuPerRequest]);
      }
    }
  } finally {
    for (const t of targets.values()) t.child.kill();
  }
  const m = (k: Kind) => median(results.get(k) as number[]);
  const c = (k: Kind) => median(cpuCost.get(k) as number[]);
  console.log(
    `panel throughput: ${rounds} rounds × ${seconds}s, ${connections} keep-alive connections, load generator ${loader}, node ${process.version}`,
  );
  console.log('target                               req/s (median)   server CPU µs/req   rounds (req/s)');
  const names: Record<Kind, string> = {
    'node-http': 'bare node:http hello',
    'fastify-http': 'bare fastify hello',
    'panel-http': 'panel GET /auth/me (no TLS)',
    'panel-quiet-http': 'same, request log line off (warn)',
    'node-https': 'bare node:https hello',
    'fastify-https': 'bare fastify hello (TLS)',
    'panel-https': 'panel GET /auth/me (TLS)',
  };
  for (const k of kinds) {
    console.log(
      `${names[k].padEnd(36)} ${m(k).toFixed(0).padStart(10)}       ${c(k).toFixed(1).padStart(10)}          ${(results.get(k) as number[]).map((x) => x.toFixed(0)).join(', ')}`,
    );
  }
  console.log(
    `ratio panel/fastify (no TLS): ${(m('panel-http') / m('fastify-http')).toFixed(2)}  (goal ≥ 0.50)`,
  );
  console.log(
    `ratio panel with / without the request log line (no TLS): ${(m('panel-http') / m('panel-quiet-http')).toFixed(2)}  (must not halve: > 0.5)`,
  );
  console.log(`ratio panel/node:http (no TLS): ${(m('panel-http') / m('node-http')).toFixed(2)}`);
  console.log(`ratio panel/fastify (TLS): ${(m('panel-https') / m('fastify-https')).toFixed(2)}`);
  console.log(`ratio panel TLS / panel no TLS: ${(m('panel-https') / m('panel-http')).toFixed(2)}`);
  // CPU per request is robust against a busy machine (wall-clock req/s is not): the share of one core each
  // request costs, i.e. the throughput ratio a saturated single-core server would show.
  console.log(
    `CPU-cost ratio fastify/panel (no TLS): ${(c('fastify-http') / c('panel-http')).toFixed(2)}  (goal ≥ 0.50)`,
  );
  console.log(`CPU-cost ratio fastify/panel (TLS): ${(c('fastify-https') / c('panel-https')).toFixed(2)}`);
}

const serveIndex = process.argv.indexOf('--serve');
if (serveIndex >= 0) await serve(process.argv[serveIndex + 1] as Kind);
else await main();

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createReadStream, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as tar from 'tar';
import { Agent, request } from 'undici';

/** Shared by the update end-to-end tests: real releases from `npm run release`, real processes. */
export const root = new URL('../../..', import.meta.url).pathname;
const run = promisify(execFile);
const insecure = new Agent({ connect: { rejectUnauthorized: false } });

export interface BuiltRelease {
  file: string;
  version: string;
  size: number;
  sha256: string;
  git_commit: string;
  build_time: string;
}

/** `npm run release -- --version V --out DIR` (the bundle is cached per tree, so X+1, X+2… are quick). */
export async function buildRelease(version: string, out: string): Promise<BuiltRelease> {
  const { stdout } = await run(
    process.execPath,
    [join(root, 'scripts/release.mjs'), '--version', version, '--out', out, '--json'],
    {
      cwd: root,
      maxBuffer: 16 * 1024 * 1024,
    },
  );
  return JSON.parse(stdout.trim().split('\n').pop() as string);
}

/** Rewrites a built release's launcher (how tests make a release that fails to start or to be healthy). */
export async function withLauncher(release: BuiltRelease, work: string, launcher: string): Promise<string> {
  const dir = join(work, `repack-${release.version}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  await tar.x({ file: release.file, cwd: dir });
  const top = `wispanel-${release.version}`;
  writeFileSync(join(dir, top, 'bin/wispanel.mjs'), launcher);
  const file = join(work, `wispanel-${release.version}.tar.gz`);
  await tar.c({ gzip: true, file, cwd: dir, portable: true }, [top]);
  rmSync(dir, { recursive: true, force: true });
  return file;
}

/** A release whose process dies at start. */
export const CRASHING_LAUNCHER = `#!/usr/bin/env node
process.stderr.write('release refuses to start: simulated fatal error\\n');
process.exit(3);
`;

/** A release that starts and listens (HTTPS, the data dir's certificate) but whose health check fails. */
export const UNHEALTHY_LAUNCHER = `#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { join } from 'node:path';
const arg = (n) => process.argv[process.argv.indexOf(n) + 1];
const dataDir = arg('--data-dir');
const server = createServer(
  { key: readFileSync(join(dataDir, 'tls/key.pem')), cert: readFileSync(join(dataDir, 'tls/cert.pem')) },
  (req, res) => {
    res.writeHead(503, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: 'degraded', database: 'unavailable' }));
  },
);
server.listen(Number(arg('--port')), arg('--host'));
const bye = () => process.exit(0);
process.on('SIGTERM', bye);
process.on('disconnect', bye);
`;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

// biome-ignore lint/suspicious/noExplicitAny: JSON printed by the CLIs, checked by the assertions
export type Json = Record<string, any>;

export async function portalCli(args: string[]): Promise<Json> {
  const { stdout } = await run(
    process.execPath,
    [join(root, 'packages/portal/bin/wispanel-portal.mjs'), ...args, '--json'],
    {
      cwd: root,
      env: { ...process.env, WISPANEL_PORTAL_LOG_LEVEL: 'warn' },
    },
  );
  return JSON.parse(stdout.slice(stdout.indexOf('{')));
}

export interface Proc {
  child: ChildProcess;
  output: () => string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Spawns a process in its own group; `stop` signals the group and waits for the exit. */
export function spawnProc(cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd = root): Proc {
  const child = spawn(cmd, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    output: () => out,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      try {
        process.kill(-(child.pid as number), signal);
      } catch {
        /* gone */
      }
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
    },
  };
}

/** `wispanel-portal start --port 0` on `dataDir`; `args` adds flags (`--database-url`, `--rate-limit`…). */
export async function startPortal(
  dataDir: string,
  args: string[] = [],
): Promise<{ url: string; proc: Proc }> {
  const proc = spawnProc(
    process.execPath,
    [
      join(root, 'packages/portal/bin/wispanel-portal.mjs'),
      'start',
      '--data-dir',
      dataDir,
      '--port',
      '0',
      '--json',
      ...args,
    ],
    { ...process.env, WISPANEL_PORTAL_LOG_LEVEL: 'warn' },
  );
  let url: string | undefined;
  try {
    url = await waitFor(
      async () => {
        const m = /"url":\s*"([^"]+)"/.exec(proc.output());
        return m ? m[1] : undefined;
      },
      45_000,
      () => `portal did not start: ${proc.output()}`,
    );
  } catch (err) {
    await proc.stop('SIGKILL');
    throw err;
  }
  return { url: url as string, proc };
}

export async function waitFor<T>(
  fn: () => Promise<T | undefined | null | false>,
  timeoutMs: number,
  message: () => string,
  intervalMs = 150,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(message());
}

export interface PanelApi {
  call(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: Json; headers: Record<string, unknown> }>;
}

export function panelApi(baseUrl: string, apiKey: string): PanelApi {
  return {
    async call(method, path, body) {
      const res = await request(`${baseUrl}/api/v1${path}`, {
        method: method as 'GET',
        dispatcher: insecure,
        headers: {
          authorization: `Bearer ${apiKey}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        body: body !== undefined ? JSON.stringify(body) : undefined,
      });
      const text = await res.body.text();
      let json: Json = {};
      try {
        json = JSON.parse(text);
      } catch {
        json = { raw: text };
      }
      return { status: res.statusCode, body: json, headers: res.headers };
    },
  };
}

/** Polls the update status (the panel may be down while it restarts) until `done` holds. */
export async function waitForStatus(
  api: PanelApi,
  done: (s: Json) => boolean,
  timeoutMs: number,
  log: () => string,
): Promise<Json> {
  let last: Json = {};
  return waitFor(
    async () => {
      const r = await api.call('GET', '/version/update/status');
      if (r.status !== 200) return undefined;
      last = r.body;
      return done(r.body) ? r.body : undefined;
    },
    timeoutMs,
    () => `status never reached the expected state; last ${JSON.stringify(last)}\n${log().slice(-4000)}`,
    250,
  );
}

export function readJson(path: string): Json {
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** Publishes a release through the portal's admin API (create, streamed artifact upload, publish). */
/** The portal's `health.failures` of a release's rollout: `[{ step, error_code, servers }]` from the install reports. */
export async function rolloutFailures(portalUrl: string, adminKey: string, version: string): Promise<Json[]> {
  const res = await request(`${portalUrl}/api/v1/admin/versions/${version}/health`, {
    headers: { 'x-admin-key': adminKey },
  });
  const json = (await res.body.json()) as Json;
  if (res.statusCode !== 200)
    throw new Error(`rollout health ${version}: ${res.statusCode} ${JSON.stringify(json)}`);
  return (json.health as Json).failures as Json[];
}

export async function publishRelease(
  portalUrl: string,
  adminKey: string,
  file: string,
  version: string,
  options: { changelog?: string; critical?: boolean } = {},
): Promise<Json> {
  const headers = { 'x-admin-key': adminKey };
  const post = async (path: string, body?: unknown) => {
    const res = await request(`${portalUrl}/api/v1/admin/versions${path}`, {
      method: 'POST',
      headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await res.body.json()) as Json;
    if (res.statusCode >= 300) throw new Error(`${path}: ${res.statusCode} ${JSON.stringify(json)}`);
    return json;
  };
  await post('', {
    version,
    channel: 'stable',
    changelog: options.changelog ?? `## WisPanel ${version}\n\n- change in ${version}\n`,
    ...(options.critical ? { critical: true } : {}),
  });
  const up = await request(`${portalUrl}/api/v1/admin/versions/${version}/artifact`, {
    method: 'PUT',
    headers: { ...headers, 'content-type': 'application/octet-stream' },
    body: createReadStream(file),
  });
  const upJson = await up.body.text();
  if (up.statusCode >= 300) throw new Error(`upload ${version}: ${up.statusCode} ${upJson}`);
  return post(`/${version}/publish`);
}

export interface InstalledPanel {
  /** `https://127.0.0.1:<port>` */
  base: string;
  api: PanelApi;
  apiKey: string;
  adminPassword: string;
  installDir: string;
  dataDir: string;
  hardwareId: string;
  /** The `wispanel run` supervisor (its panel restarts under it on an update). */
  supervisor: Proc;
}

/**
 * A panel as an operator runs it: `install-release FILE` into `<dir>/install`, `init` of `<dir>/data`, then
 * `wispanel run` (the supervisor) on a free port, talking to the portal at `portalUrl` (trusting the keys in
 * `publicKeysFile`); resolves once `/version/info` answers. `hardwareId` replaces the computed one (several
 * panels on one test machine would otherwise all be the same server); `env` and `runArgs` add settings.
 */
export async function startInstalledPanel(options: {
  releaseFile: string;
  dir: string;
  portalUrl: string;
  publicKeysFile: string;
  hardwareId?: string;
  env?: NodeJS.ProcessEnv;
  runArgs?: string[];
}): Promise<InstalledPanel> {
  const installDir = join(options.dir, 'install');
  const dataDir = join(options.dir, 'data');
  const install = spawnProc(
    process.execPath,
    [
      join(root, 'packages/panel/bin/wispanel.mjs'),
      'install-release',
      options.releaseFile,
      '--install-dir',
      installDir,
    ],
    process.env,
  );
  await waitFor(
    async () => install.child.exitCode === 0,
    60_000,
    () => `install-release failed: ${install.output()}`,
  );
  const bin = join(installDir, 'current/bin/wispanel.mjs');
  const init = spawnProc(process.execPath, [bin, 'init', '--data-dir', dataDir, '--json'], process.env);
  const initOut = await waitFor(
    async () => (init.child.exitCode === 0 ? init.output() : undefined),
    60_000,
    () => `panel init failed: ${init.output()}`,
  );
  const initJson = JSON.parse(initOut.slice(initOut.indexOf('{'))) as Json;
  if (options.hardwareId)
    writeFileSync(join(dataDir, 'hardware-id'), `${options.hardwareId}\n`, { mode: 0o600 });
  const hardwareId = readFileSync(join(dataDir, 'hardware-id'), 'utf8').trim();
  const port = await freePort();
  const supervisor = spawnProc(
    process.execPath,
    [
      bin,
      'run',
      '--install-dir',
      installDir,
      '--data-dir',
      dataDir,
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--health-timeout',
      '12',
      ...(options.runArgs ?? []),
    ],
    {
      ...process.env,
      WISPANEL_PORTAL_URL: options.portalUrl,
      WISPANEL_PORTAL_KEYS: options.publicKeysFile,
      WISPANEL_LOG_LEVEL: 'warn',
      WISPANEL_LICENSE_TICK: '0',
      WISPANEL_RATE_LIMIT: '100000',
      ...options.env,
    },
  );
  const base = `https://127.0.0.1:${port}`;
  const api = panelApi(base, initJson.api_key);
  try {
    await waitFor(
      async () => (await api.call('GET', '/version/info')).status === 200,
      60_000,
      () => `panel did not come up: ${supervisor.output()}`,
    );
  } catch (err) {
    await supervisor.stop('SIGKILL');
    throw err;
  }
  return {
    base,
    api,
    apiKey: initJson.api_key,
    adminPassword: initJson.admin.password,
    installDir,
    dataDir,
    hardwareId,
    supervisor,
  };
}

/** First lines of a release's `bin/wispanel.mjs` (as scripts/release.mjs writes it). */
const BIN_HEAD = `#!/usr/bin/env node
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
process.env.WISPANEL_RELEASE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
`;

/** A release whose panel (`start`) is fine but whose supervisor (`run`) throws at once. */
export const BROKEN_SUPERVISOR_BIN = `${BIN_HEAD}if (process.argv[2] === 'run') throw new Error('simulated supervisor bug: run throws');
await import('../dist/wispanel.mjs');
`;

/**
 * A release whose panel starts, is healthy, and exits `seconds` after its own health endpoint first answered
 * (with its own version — while it waits pre-warmed, the old release still holds the port) — an early crash
 * the stability window must catch, however long the start took on a busy host.
 */
export function crashAfterBin(seconds: number): string {
  return `${BIN_HEAD}if (process.argv[2] === 'start') {
  const { get } = await import('node:https');
  const { readFileSync } = await import('node:fs');
  const own = JSON.parse(readFileSync(join(process.env.WISPANEL_RELEASE_DIR, 'release-manifest.json'), 'utf8')).version;
  const arg = (n) => process.argv[process.argv.indexOf(n) + 1];
  const probe = setInterval(() => {
    const req = get({ host: arg('--host'), port: Number(arg('--port')), path: '/api/v1/health', rejectUnauthorized: false }, (res) => {
      let body = '';
      res.on('data', (c) => { body += c; });
      res.on('end', () => {
        if (!body.includes('"' + own + '"')) return;
        clearInterval(probe);
        setTimeout(() => { process.stderr.write('simulated crash ${seconds} s after start\\n'); process.exit(7); }, ${seconds * 1000});
      });
    });
    req.on('error', () => {});
  }, 100);
  probe.unref();
}
await import('../dist/wispanel.mjs');
`;
}

/**
 * A release that runs fine for `seconds` after its very first start (long enough to pass the health gate and
 * be committed), then crashes 1.5 s after every start: what probation is for.
 */
export function crashLaterBin(seconds: number): string {
  return `${BIN_HEAD}import { readFileSync, writeFileSync } from 'node:fs';
if (process.argv[2] === 'start') {
  const f = join(process.env.WISPANEL_INSTALL_DIR, 'state', 'test-first-start');
  let first;
  try { first = Number(readFileSync(f, 'utf8')); } catch { first = Date.now(); writeFileSync(f, String(first)); }
  const wait = Math.max(first + ${seconds * 1000} - Date.now(), 1500);
  setTimeout(() => { process.stderr.write('simulated late crash\\n'); process.exit(7); }, wait);
}
await import('../dist/wispanel.mjs');
`;
}

/** A release whose supervisor is fine but whose panel listens and is never healthy. */
export const UNHEALTHY_START_BIN = `${BIN_HEAD}if (process.argv[2] === 'start') {
  const { readFileSync } = await import('node:fs');
  const { createServer } = await import('node:https');
  const arg = (n) => process.argv[process.argv.indexOf(n) + 1];
  const dataDir = arg('--data-dir');
  const server = createServer(
    { key: readFileSync(join(dataDir, 'tls/key.pem')), cert: readFileSync(join(dataDir, 'tls/cert.pem')) },
    (req, res) => {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'degraded', database: 'unavailable' }));
    },
  );
  server.listen(Number(arg('--port')), arg('--host'));
  const bye = () => process.exit(0);
  process.on('SIGTERM', bye);
  process.on('disconnect', bye);
} else {
  await import('../dist/wispanel.mjs');
}
`;

/**
 * Black-box fuzz of every route of both services, over real processes: a portal (`wispanel-portal start`, HTTP)
 * and a panel (`wispanel start`, HTTPS with its self-signed certificate, licensed against that portal). Each
 * service's own OpenAPI document lists the routes, so a route added later is fuzzed without touching this file.
 *
 *   npm run fuzz [-- --requests 4000] [--seed 1] [--concurrency 16] [--json]
 *
 * Every request is hostile in one way — path parameters (traversal, NUL, 5,000 characters, broken percent
 * escapes, emoji), query strings (unknown names, wrong types, repeats, 8 KiB values), bodies (malformed JSON,
 * non-objects, 10,000-deep nesting, 70 KiB strings, each field of the schema given the wrong type, NUL, unknown
 * fields, `__proto__`), headers (wrong or missing content types, a 16 KiB header, broken credentials) — half with
 * a valid credential (so validation is reached), half without. A few raw TLS/TCP requests break HTTP itself
 * (bad request line, duplicate Content-Length, CL+TE, a bare LF).
 *
 * The run fails (exit 1) on any 5xx other than a documented 503, an answer under /api/ that is not the service's
 * JSON error envelope, or a connection the server dropped without answering. It prints the status histogram,
 * p50/p99 latency and every failure (at most 20 each).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';

const root = fileURLToPath(new URL('..', import.meta.url));

// biome-ignore lint/suspicious/noExplicitAny: walking OpenAPI documents
type Json = any;

export interface FuzzCase {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  what: string;
}

export interface FuzzTarget {
  name: 'portal' | 'panel';
  url: string;
  ca?: string;
  /** Header carrying a valid credential. */
  auth: Record<string, string>;
}

export interface FuzzFailure {
  service: string;
  status: number | string;
  method: string;
  path: string;
  what: string;
  body: string;
}

export interface FuzzReport {
  service: string;
  requests: number;
  routes: number;
  statuses: Record<string, number>;
  p50ms: number;
  p99ms: number;
  failures: FuzzFailure[];
  unavailable: Record<string, number>;
}

/** Deterministic PRNG (mulberry32), so a seed reproduces a run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NASTY_PATH = [
  '..',
  '%2e%2e%2f%2e%2e%2fetc%2fpasswd',
  '%00',
  'a%00b',
  'x'.repeat(5000),
  '%E0%A4%A',
  '%',
  '%F0%9F%98%80',
  '%20',
  '%5C',
  '%2F',
  "'%20OR%201=1--",
  '-1',
  '1e309',
  'null',
  '%7B%7D',
  '0',
  '99999999999999999999999',
];
const NASTY_VALUES: unknown[] = [
  null,
  true,
  -1,
  1.5,
  1e300,
  2 ** 60,
  '',
  'x'.repeat(70_000),
  'a\u0000b',
  '\u202e\ud800',
  '../../etc/passwd',
  [],
  [1, 2, 3],
  {},
  { $gt: '' },
];
const NASTY_QUERY = [
  'bogus=1',
  'page=-1',
  'page=abc',
  'per_page=100000',
  'page=99999999999999999999999',
  'q=%FF%FE',
  'q=%00',
  `q=${'x'.repeat(8192)}`,
  'status[]=a&status[]=b',
  'status=active&status=suspended',
  'before=-1&limit=0',
  'token=%00',
  'since=10000-01-01T00:00:00Z',
  'bucket=minute',
  '__proto__[admin]=1',
];

function pick<T>(rand: () => number, list: readonly T[]): T {
  return list[Math.floor(rand() * list.length)]!;
}

function plausible(schema: Json, depth = 0): unknown {
  if (!schema || depth > 4) return null;
  if (schema.anyOf || schema.oneOf) return plausible((schema.anyOf ?? schema.oneOf)[0], depth + 1);
  if (schema.enum) return schema.enum[0];
  switch (schema.type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries<Json>(schema.properties ?? {})) out[k] = plausible(v, depth + 1);
      return out;
    }
    case 'array':
      return [plausible(schema.items, depth + 1)];
    case 'integer':
    case 'number':
      return schema.minimum ?? 1;
    case 'boolean':
      return true;
    case 'string':
      return 'x'.repeat(Math.max(1, schema.minLength ?? 1));
    default:
      return null;
  }
}

function hostileBody(rand: () => number, schema: Json): { body: string; what: string } {
  const kind = Math.floor(rand() * 10);
  if (kind === 0)
    return {
      body: pick(rand, ['{', '{"a":', '[1,', '}', '\u0000', '{"a":1}{"b":2}']),
      what: 'malformed JSON',
    };
  if (kind === 1)
    return { body: pick(rand, ['[]', 'null', '"x"', '1e309', 'true', '-0']), what: 'not an object' };
  if (kind === 2) return { body: `${'['.repeat(10_000)}${']'.repeat(10_000)}`, what: 'nesting 10,000 deep' };
  if (kind === 3) return { body: JSON.stringify({ a: 'x'.repeat(70_000) }), what: '70 KiB body' };
  if (kind === 4)
    return {
      body: '{"__proto__":{"admin":true},"constructor":{"prototype":{"x":1}}}',
      what: 'prototype keys',
    };
  const base = (plausible(schema) ?? {}) as Record<string, unknown>;
  const keys = Object.keys(base);
  if (kind === 5 || keys.length === 0) {
    return { body: JSON.stringify({ ...base, bogus_field: 1 }), what: 'unknown field' };
  }
  const key = pick(rand, keys);
  const value = pick(rand, NASTY_VALUES);
  if (kind === 6) {
    const { [key]: _dropped, ...rest } = base;
    return { body: JSON.stringify(rest), what: `without ${key}` };
  }
  return {
    body: JSON.stringify({ ...base, [key]: value }),
    what: `${key} = ${JSON.stringify(value)?.slice(0, 40)}`,
  };
}

/** Every operation of an OpenAPI document. */
export function operationsOf(doc: Json): Array<{ method: string; path: string; op: Json }> {
  const out: Array<{ method: string; path: string; op: Json }> = [];
  for (const [path, ops] of Object.entries<Json>(doc.paths ?? {}))
    for (const [method, op] of Object.entries<Json>(ops))
      if (['get', 'post', 'put', 'patch', 'delete'].includes(method))
        out.push({ method: method.toUpperCase(), path, op });
  return out;
}

/** One hostile request for an operation. */
export function hostileCase(
  rand: () => number,
  o: { method: string; path: string; op: Json },
  auth: Record<string, string>,
): FuzzCase {
  const whats: string[] = [];
  const headers: Record<string, string> = rand() < 0.5 ? { ...auth } : {};
  if (Object.keys(headers).length === 0) whats.push('no credential');
  let path = o.path.replace(/\{[^}]+\}/g, () => {
    const v = pick(rand, NASTY_PATH);
    whats.push(`path ${v.slice(0, 20)}`);
    return v;
  });
  const schema = o.op.requestBody?.content?.['application/json']?.schema;
  let body: string | undefined;
  const mode = rand();
  if (mode < 0.2 || !/\{/.test(o.path)) {
    const q = pick(rand, NASTY_QUERY);
    path += `?${q}`;
    whats.push(`query ${q.slice(0, 30)}`);
  }
  if (o.method !== 'GET' && o.method !== 'DELETE') {
    const b = hostileBody(rand, schema);
    body = b.body;
    whats.push(b.what);
    headers['content-type'] =
      rand() < 0.85
        ? 'application/json'
        : pick(rand, [
            'text/plain',
            'application/json; charset=utf-16',
            'application/x-www-form-urlencoded',
            'multipart/form-data; boundary=x',
            '',
          ]);
  }
  const h = rand();
  if (h < 0.05) {
    headers['x-fuzz'] = 'y'.repeat(16_384);
    whats.push('16 KiB header');
  } else if (h < 0.1) {
    const bad = pick(rand, [
      'Bearer ',
      'Bearer wsp_',
      `Bearer wsp_${'z'.repeat(48)}`,
      'Basic YWRtaW46YWRtaW4=',
      'Bearer \u00ff',
    ]);
    headers.authorization = bad;
    headers['x-admin-key'] = bad.replace(/^\S+ /, '');
    whats.push('broken credential');
  } else if (h < 0.13) {
    headers['x-forwarded-for'] = '1.2.3.4, 127.0.0.1';
    whats.push('spoofed X-Forwarded-For');
  }
  return { method: o.method, path, headers, body, what: whats.join('; ') };
}

/** Raw requests that break HTTP itself (the server must answer in its envelope or close, never hang or 5xx). */
const RAW: Array<{ what: string; text: (host: string) => string }> = [
  { what: 'bad request line', text: () => 'GET /api/v1/health HTTP/9.9 extra\r\n\r\n' },
  {
    what: 'duplicate Content-Length',
    text: (h) =>
      `POST /api/v1/health HTTP/1.1\r\nHost: ${h}\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab`,
  },
  {
    what: 'CL + TE',
    text: (h) =>
      `POST /api/v1/health HTTP/1.1\r\nHost: ${h}\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
  },
  {
    what: 'invalid header character',
    text: (h) => `GET /api/v1/health HTTP/1.1\r\nHost: ${h}\r\nX-A: a\u0001b\r\n\r\n`,
  },
  { what: 'no Host', text: () => 'GET /api/v1/health HTTP/1.1\r\n\r\n' },
  { what: 'bare LF', text: (h) => `GET /api/v1/health HTTP/1.1\nHost: ${h}\n\n` },
];

function rawRequest(target: FuzzTarget, text: string): Promise<{ status: number | string; body: string }> {
  const u = new URL(target.url);
  return new Promise((resolve) => {
    const port = Number(u.port);
    const socket =
      u.protocol === 'https:'
        ? tlsConnect({ host: u.hostname, port, ca: target.ca, servername: u.hostname })
        : netConnect({ host: u.hostname, port });
    let data = '';
    const done = (status: number | string) => {
      socket.destroy();
      resolve({ status, body: data.split('\r\n\r\n').slice(1).join('\r\n\r\n') });
    };
    socket.setTimeout(10_000, () => done('timeout'));
    socket.on(u.protocol === 'https:' ? 'secureConnect' : 'connect', () => socket.write(text));
    socket.on('data', (d) => {
      data += d.toString('latin1');
      if (/\r\n\r\n/.test(data)) {
        const m = /^HTTP\/1\.1 (\d{3})/.exec(data);
        const len = /content-length: (\d+)/i.exec(data);
        const body = data.split('\r\n\r\n').slice(1).join('\r\n\r\n');
        if (m && (!len || body.length >= Number(len[1]))) done(Number(m[1]));
      }
    });
    socket.on('end', () => done(data ? Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1]) || 'closed' : 'closed'));
    socket.on('error', () => done('closed'));
  });
}

/** Whether a ≥ 400 answer is in the envelope of the service and route family. */
function inEnvelope(service: string, path: string, status: number, body: string): boolean {
  let json: Json;
  try {
    json = JSON.parse(body);
  } catch {
    return false;
  }
  if (typeof json !== 'object' || json === null) return false;
  if (service === 'panel')
    return json.success === false && typeof json.code === 'string' && json.status === status;
  if (path.startsWith('/api/v1/license/')) return json.valid === false && typeof json.code === 'string';
  if (path.startsWith('/api/v1/download/')) return typeof json.error === 'string';
  return json.success === false && typeof json.code === 'string';
}

/** Fuzzes one running service; never throws for an answer, only reports it. */
export async function fuzzService(
  target: FuzzTarget,
  o: { requests: number; seed: number; concurrency: number },
): Promise<FuzzReport> {
  const dispatcher = new Agent({
    connect: target.ca ? { ca: target.ca } : {},
    headersTimeout: 15_000,
    bodyTimeout: 15_000,
  });
  const docRes = await request(`${target.url}/api/v1/openapi.json`, { dispatcher });
  const doc = (await docRes.body.json()) as Json;
  const ops = operationsOf(doc);
  const rand = prng(o.seed);
  const report: FuzzReport = {
    service: target.name,
    requests: 0,
    routes: ops.length,
    statuses: {},
    p50ms: 0,
    p99ms: 0,
    failures: [],
    unavailable: {},
  };
  const times: number[] = [];
  const note = (status: number | string) => {
    report.statuses[String(status)] = (report.statuses[String(status)] ?? 0) + 1;
  };
  const fail = (f: Omit<FuzzFailure, 'service'>) => {
    if (report.failures.filter((x) => x.status === f.status).length < 20)
      report.failures.push({ service: target.name, ...f, body: f.body.slice(0, 300) });
    else report.failures.push({ service: target.name, ...f, body: '' });
  };
  const cases: FuzzCase[] = [];
  for (let i = 0; i < o.requests; i++) cases.push(hostileCase(rand, ops[i % ops.length]!, target.auth));
  let next = 0;
  const worker = async () => {
    while (next < cases.length) {
      const c = cases[next++]!;
      const t0 = performance.now();
      try {
        const res = await request(`${target.url}${c.path}`, {
          method: c.method as 'GET',
          headers: c.headers,
          body: c.body,
          dispatcher,
        });
        const text = await res.body.text();
        times.push(performance.now() - t0);
        report.requests += 1;
        note(res.statusCode);
        const code = (() => {
          try {
            return String(JSON.parse(text).code ?? '');
          } catch {
            return '';
          }
        })();
        if (res.statusCode === 503 && code) report.unavailable[code] = (report.unavailable[code] ?? 0) + 1;
        else if (res.statusCode >= 500)
          fail({ status: res.statusCode, method: c.method, path: c.path, what: c.what, body: text });
        else if (
          res.statusCode >= 400 &&
          c.path.startsWith('/api/') &&
          !inEnvelope(target.name, c.path, res.statusCode, text)
        )
          fail({
            status: `${res.statusCode} outside the envelope`,
            method: c.method,
            path: c.path,
            what: c.what,
            body: text,
          });
      } catch (err) {
        report.requests += 1;
        note('error');
        fail({
          status: 'no answer',
          method: c.method,
          path: c.path,
          what: c.what,
          body: (err as Error).message,
        });
      }
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  for (const r of RAW) {
    const u = new URL(target.url);
    const res = await rawRequest(target, r.text(`${u.hostname}:${u.port}`));
    report.requests += 1;
    note(res.status);
    if (typeof res.status !== 'number' ? res.status === 'timeout' : res.status >= 500)
      fail({ status: res.status, method: 'RAW', path: '/api/v1/health', what: r.what, body: res.body });
    else if (
      typeof res.status === 'number' &&
      res.status >= 400 &&
      !inEnvelope(target.name, '/api/v1/health', res.status, res.body)
    )
      fail({
        status: `${res.status} outside the envelope`,
        method: 'RAW',
        path: '/api/v1/health',
        what: r.what,
        body: res.body,
      });
  }
  await dispatcher.close();
  times.sort((a, b) => a - b);
  report.p50ms = times[Math.floor(times.length * 0.5)] ?? 0;
  report.p99ms = times[Math.floor(times.length * 0.99)] ?? 0;
  return report;
}

function node(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function firstJson(child: ChildProcess, test: (j: Json) => boolean, what: string): Promise<Json> {
  return new Promise((resolve, reject) => {
    let buf = '';
    let err = '';
    const timer = setTimeout(
      () => reject(new Error(`${what}: no start-up line in 60 s\n${buf}\n${err}`)),
      60_000,
    );
    child.stderr!.on('data', (d) => {
      err += d;
    });
    child.stdout!.on('data', (d) => {
      buf += d;
      for (const line of [...buf.split('\n'), buf]) {
        try {
          const j = JSON.parse(line);
          if (test(j)) {
            clearTimeout(timer);
            resolve(j);
          }
        } catch {}
      }
    });
    child.once('exit', (code) => reject(new Error(`${what} exited ${code}\n${buf}\n${err}`)));
  });
}

/** Starts a portal and a panel licensed against it (real processes); `stop()` ends both by PID. */
export async function startServices(): Promise<{
  portal: FuzzTarget;
  panel: FuzzTarget;
  stop: () => Promise<void>;
}> {
  const dir = mkdtempSync(join(tmpdir(), 'wispanel-fuzz-'));
  const portalBin = join(root, 'packages/portal/bin/wispanel-portal.mjs');
  const panelBin = join(root, 'packages/panel/bin/wispanel.mjs');
  const children: ChildProcess[] = [];
  const stop = async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    await Promise.all(
      children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null)),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const init = spawnSync(
      process.execPath,
      [portalBin, 'init', '--data-dir', join(dir, 'portal'), '--json'],
      { encoding: 'utf8' },
    );
    if (init.status !== 0) throw new Error(`portal init failed: ${init.stderr}`);
    const adminKey = JSON.parse(init.stdout).admin_key as string;
    const portal = node(
      [
        portalBin,
        'start',
        '--data-dir',
        join(dir, 'portal'),
        '--port',
        '0',
        '--rate-limit',
        '1000000',
        '--json',
      ],
      {
        WISPANEL_PORTAL_LOG_LEVEL: 'error',
      },
    );
    children.push(portal);
    const portalUrl = (await firstJson(portal, (j) => typeof j.url === 'string', 'portal')).url as string;
    const panel = node([
      panelBin,
      'start',
      '--data-dir',
      join(dir, 'panel'),
      '--port',
      '0',
      '--rate-limit',
      '1000000',
      '--json',
      '--portal-url',
      portalUrl,
      '--portal-dev',
      '--log-level',
      'error',
    ]);
    children.push(panel);
    let facts: Json = {};
    const listening = await firstJson(
      panel,
      (j) => {
        if (j.api_key) facts = j;
        return j.event === 'listening';
      },
      'panel',
    );
    return {
      portal: { name: 'portal', url: portalUrl, auth: { 'x-admin-key': adminKey } },
      panel: {
        name: 'panel',
        url: new URL(listening.url).origin,
        ca: readFileSync(facts.tls_cert, 'utf8'),
        auth: { authorization: `Bearer ${facts.api_key}` },
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

function printReport(r: FuzzReport): void {
  const statuses = Object.entries(r.statuses)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([s, n]) => `${s}×${n}`)
    .join(' ');
  console.log(
    `${r.service}: ${r.requests} requests over ${r.routes} routes (+${RAW.length} raw), p50 ${r.p50ms.toFixed(1)} ms, p99 ${r.p99ms.toFixed(1)} ms`,
  );
  console.log(`  statuses: ${statuses}`);
  const unavailable = Object.entries(r.unavailable);
  if (unavailable.length)
    console.log(`  documented 503s: ${unavailable.map(([c, n]) => `${c}×${n}`).join(' ')}`);
  console.log(`  failures: ${r.failures.length}`);
  for (const f of r.failures.filter((x) => x.body !== '').slice(0, 40))
    console.log(`    ${f.status} ${f.method} ${f.path.slice(0, 100)} (${f.what}) → ${f.body.slice(0, 160)}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      requests: { type: 'string', default: '4000' },
      seed: { type: 'string', default: String(Date.now() % 100_000) },
      concurrency: { type: 'string', default: '16' },
      json: { type: 'boolean', default: false },
    },
  });
  const o = {
    requests: Number(values.requests),
    seed: Number(values.seed),
    concurrency: Number(values.concurrency),
  };
  console.log(`fuzz: seed ${o.seed} (rerun with --seed ${o.seed}), ${o.requests} requests per service`);
  const s = await startServices();
  const reports: FuzzReport[] = [];
  try {
    for (const t of [s.portal, s.panel]) reports.push(await fuzzService(t, o));
  } finally {
    await s.stop();
  }
  if (values.json) console.log(JSON.stringify(reports, null, 2));
  else for (const r of reports) printReport(r);
  const failures = reports.reduce((n, r) => n + r.failures.length, 0);
  console.log(failures === 0 ? 'fuzz: 0 failures' : `fuzz: ${failures} failures`);
  process.exit(failures === 0 ? 0 : 1);
}

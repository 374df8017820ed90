import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/** Test helpers (never imported by production code). */

/** The PostgreSQL server `npm test` started, or undefined when none is available (suites then skip). */
export const testPostgresUrl: string | undefined = process.env.WISPANEL_TEST_PG_URL;

/** Creates a fresh, empty PostgreSQL database on the test server and returns its URL and a drop function. */
export async function createTestPostgresDatabase(
  serverUrl: string | undefined = testPostgresUrl,
): Promise<{ url: string; drop: () => Promise<void> }> {
  if (!serverUrl) throw new Error('WISPANEL_TEST_PG_URL is not set');
  const name = `t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** A temporary directory removed by the returned function. */
export function tempDir(prefix = 'wispanel-test-'): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** A raw HTTP/1.1 answer as read off a socket. */
export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** ms from connecting until the peer closed (or the answer was complete). */
  ms: number;
}

/**
 * Sends `text` as-is over a real TCP connection (from `localAddress`, e.g. 127.0.0.2, when given) and reads
 * until the server closes or the answer is complete. For requests no HTTP client would send.
 */
export function rawHttp(
  port: number,
  text: string | Buffer,
  options: { host?: string; localAddress?: string; timeoutMs?: number } = {},
): Promise<RawAnswer> {
  return new Promise((resolvePromise, reject) => {
    const started = Date.now();
    const socket = connect({
      host: options.host ?? '127.0.0.1',
      port,
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${options.timeoutMs ?? 10_000} ms`));
    }, options.timeoutMs ?? 10_000);
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      const all = Buffer.concat(chunks).toString('utf8');
      const [head = '', ...rest] = all.split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines) {
        const i = l.indexOf(':');
        if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      resolvePromise({
        status: Number(statusLine.split(' ')[1] ?? 0),
        headers,
        body: rest.join('\r\n\r\n'),
        ms: Date.now() - started,
      });
    };
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      const all = Buffer.concat(chunks).toString('utf8');
      const end = all.indexOf('\r\n\r\n');
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(all.slice(0, end))?.[1];
      if (end >= 0 && length !== undefined && Buffer.byteLength(all.slice(end + 4)) >= Number(length)) {
        socket.destroy();
        finish();
      }
    });
    socket.on('error', () => {});
    socket.on('close', finish);
    socket.on('connect', () => socket.write(text));
  });
}

/** A real HTTP request from a chosen source address (with whatever X-Forwarded-For the caller sets). */
export function httpFrom(
  port: number,
  path: string,
  options: { from?: string; headers?: Record<string, string>; method?: string; body?: string } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolvePromise, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        method: options.method ?? 'GET',
        localAddress: options.from ?? '127.0.0.1',
        headers: {
          ...(options.body ? { 'content-type': 'application/json' } : {}),
          ...options.headers,
        },
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => {
          body += d;
        });
        res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Opens a connection that sends a request head, then its body one byte every `everyMs`. */
export function slowBody(
  port: number,
  from: string,
  everyMs: number,
  path = '/api/v1/auth/login',
): { socket: Socket; closed: Promise<{ at: number; data: string }> } {
  const socket = connect({ host: '127.0.0.1', port, localAddress: from });
  let data = '';
  let timer: NodeJS.Timeout | undefined;
  socket.on('connect', () => {
    socket.write(
      `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{`,
    );
    timer = setInterval(() => {
      if (!socket.destroyed) socket.write(' ');
    }, everyMs);
  });
  socket.on('data', (d) => {
    data += d.toString();
  });
  socket.on('error', () => {});
  const closed = new Promise<{ at: number; data: string }>((r) =>
    socket.on('close', () => {
      clearInterval(timer);
      r({ at: Date.now(), data });
    }),
  );
  return { socket, closed };
}

/** A connection that sends its request head one byte every `everyMs` and never finishes it. */
export function slowHeaders(
  port: number,
  from: string,
  everyMs: number,
  path = '/api/v1/health',
): Promise<{ at: number; data: string }> {
  const socket = connect({ host: '127.0.0.1', port, localAddress: from });
  let data = '';
  let timer: NodeJS.Timeout | undefined;
  socket.on('connect', () => {
    socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nX-Slow: `);
    timer = setInterval(() => {
      if (!socket.destroyed) socket.write('a');
    }, everyMs);
  });
  socket.on('data', (d) => {
    data += d.toString();
  });
  socket.on('error', () => {});
  return new Promise((r) =>
    socket.on('close', () => {
      clearInterval(timer);
      r({ at: Date.now(), data });
    }),
  );
}

/** Files this process holds open under `root`, from /proc/self/fd (Linux): an abandoned write must not leak them. */
export function openFilesUnder(root: string): string[] {
  const out: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(root)) out.push(target);
    } catch {
      /* closed meanwhile */
    }
  }
  return out;
}

/** Every JSON `example` an OpenAPI document holds, with where it is and the schema it must satisfy. */
export function documentedExamples(doc: {
  paths?: Record<string, Record<string, unknown>>;
}): Array<{ where: string; operation: string; status: string; example: unknown; schema: unknown }> {
  const out: Array<{ where: string; operation: string; status: string; example: unknown; schema: unknown }> =
    [];
  for (const [path, ops] of Object.entries(doc.paths ?? {}))
    for (const [method, op] of Object.entries(ops)) {
      const responses =
        (
          op as {
            responses?: Record<string, { content?: Record<string, { example?: unknown; schema?: unknown }> }>;
          }
        ).responses ?? {};
      for (const [status, response] of Object.entries(responses)) {
        const media = response.content?.['application/json'];
        if (!media || media.example === undefined) continue;
        const operation = `${method.toUpperCase()} ${path}`;
        out.push({
          where: `${operation} ${status}`,
          operation,
          status,
          example: media.example,
          schema: media.schema,
        });
      }
    }
  return out;
}

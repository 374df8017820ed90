import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Type } from 'typebox';
import { afterAll, describe, expect, it } from 'vitest';
import { createApp } from './app';
import { AppError } from './errors';
import { createLogger } from './logger';
import { tempDir } from './testing';

const app = createApp({ logger: createLogger({ level: 'silent' }), bodyLimit: 1024 });
app.post(
  '/things',
  {
    schema: {
      body: Type.Object(
        { name: Type.String({ minLength: 1 }), size: Type.Optional(Type.Integer()) },
        { additionalProperties: false },
      ),
    },
  },
  async (req) => ({ ok: true, name: req.body.name }),
);
app.get('/things/:id', async (req) => {
  throw new AppError('NOT_FOUND', `Thing ${(req.params as { id: string }).id} not found`);
});
app.get('/boom', async () => {
  throw new Error('secret internals');
});
afterAll(() => app.close());

const post = (payload: string, type = 'application/json') =>
  app.inject({ method: 'POST', url: '/things', payload, headers: { 'content-type': type } });

describe('kit app conventions', () => {
  it('accepts a valid body and sets a request id', async () => {
    const res = await post('{"name":"a"}');
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f]{24}$/);
  });

  it('echoes a well-formed request id', async () => {
    const res = await app.inject({ method: 'GET', url: '/things/1', headers: { 'x-request-id': 'abc-123' } });
    expect(res.headers['x-request-id']).toBe('abc-123');
  });

  it.each([
    ['{"name":', 400, 'VALIDATION_ERROR', 'Malformed JSON in request body'],
    ['{}', 400, 'VALIDATION_ERROR', 'name is required'],
    ['{"name":5}', 400, 'VALIDATION_ERROR', 'name must be of type string'],
    ['{"name":"a","size":"5"}', 400, 'VALIDATION_ERROR', 'size must be of type integer'],
    ['{"name":"a","admin":true}', 400, 'VALIDATION_ERROR', 'admin is not a known field'],
    ['[1,2]', 400, 'VALIDATION_ERROR', 'Request body must be a JSON object'],
    [`{"name":"${'x'.repeat(2000)}"}`, 413, 'PAYLOAD_TOO_LARGE', 'Request body is too large'],
  ])('rejects %s with %i %s', async (payload, status, code, message) => {
    const res = await post(payload);
    expect(res.statusCode).toBe(status);
    expect(res.json()).toMatchObject({ success: false, code, error: message, message, status });
  });

  it('rejects a non-JSON content type with 415', async () => {
    const res = await post('name=a', 'text/plain');
    expect(res.statusCode).toBe(415);
    expect(res.json().code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('answers unknown routes with 404 and wrong methods with 405 in the envelope', async () => {
    const missing = await app.inject({ method: 'GET', url: '/nothing' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ success: false, code: 'NOT_FOUND', status: 404 });
    const wrong = await app.inject({ method: 'DELETE', url: '/things' });
    expect(wrong.statusCode).toBe(405);
    expect(wrong.headers.allow).toContain('POST');
    expect(wrong.json().code).toBe('METHOD_NOT_ALLOWED');
  });

  it('answers a malformed URL encoding in the envelope', async () => {
    const res = await app.inject({ method: 'GET', url: '/things/%E0%A4%A' });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      success: false,
      code: 'VALIDATION_ERROR',
      error: 'Malformed URL',
      status: 400,
    });
    expect(res.headers['x-request-id']).toBeTruthy();
  });

  it('hides internals of unexpected errors', async () => {
    const res = await app.inject({ method: 'GET', url: '/boom' });
    expect(res.statusCode).toBe(500);
    expect(res.body).not.toContain('secret internals');
    expect(res.json()).toMatchObject({ code: 'INTERNAL_ERROR', status: 500 });
  });
});

describe('request log line', () => {
  it('is written at info for every request, and follows a route that sets its own logLevel', async () => {
    const dir = tempDir();
    const file = join(dir.path, 'app.log');
    const logger = createLogger({ level: 'info', name: 'kit', destination: file });
    const quiet = createApp({ logger });
    quiet.get('/loud', async () => ({ ok: true }));
    quiet.get('/health', { logLevel: 'warn' }, async (req) => {
      req.log.info('not written: the route logs at warn');
      return { ok: true };
    });
    try {
      for (const url of ['/loud', '/health', '/missing']) await quiet.inject({ method: 'GET', url });
      logger.flush();
      const written = readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { msg: string; url?: string; status?: number });
      expect(written.map((l) => [l.msg, l.url, l.status])).toEqual([
        ['request', '/loud', 200],
        ['request', '/missing', 404],
      ]);
    } finally {
      await quiet.close();
      dir.remove();
    }
  });
});

describe('a refusal sent while the request body is still arriving', () => {
  it('says Connection: close (the server stops reading it, so the client must not reuse the connection)', async () => {
    const { connect } = await import('node:net');
    const guarded = createApp({ logger: createLogger({ level: 'silent' }), bodyLimit: 1024 * 1024 });
    guarded.post(
      '/guarded',
      {
        onRequest: async () => {
          throw new AppError('UNAUTHORIZED', 'Missing authorization');
        },
      },
      async () => ({ ok: true }),
    );
    guarded.post('/late', async () => {
      throw new AppError('UNAUTHORIZED', 'Missing authorization');
    });
    await guarded.listen({ port: 0, host: '127.0.0.1' });
    const port = (guarded.server.address() as { port: number }).port;
    const ask = (length: number, sent: string, path = '/guarded') =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () =>
          socket.write(
            `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n${sent}`,
          ),
        );
        let text = '';
        socket.on('data', (d) => {
          text += d.toString('latin1');
          if (text.includes('\r\n\r\n')) {
            socket.destroy();
            resolve(text.split('\r\n\r\n')[0]!.toLowerCase());
          }
        });
        socket.on('error', reject);
      });
    try {
      // 10 of 100,000 bytes sent: refused at once, and the connection is not offered for reuse.
      const partial = await ask(100_000, '{"a":"bcd"');
      expect(partial).toMatch(/^http\/1\.1 401/);
      expect(partial).toMatch(/\r\nconnection: close/);
      // Refused after the whole body was read: an ordinary refusal, the connection stays usable.
      const whole = await ask(2, '{}', '/late');
      expect(whole).toMatch(/^http\/1\.1 401/);
      expect(whole).toMatch(/\r\nconnection: keep-alive/);
    } finally {
      await guarded.close();
    }
  });
});

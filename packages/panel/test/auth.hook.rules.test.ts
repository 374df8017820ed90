// The route convention and the per-request auth hook (auth.hook.ts) on a small app of its own: kit's createApp,
// installAuth with the real AuthService over a real SQLite file, and test routes registered inside each test
// (fastify inject, no network). Also the mutation group `auth` (stryker.config.mjs): the hook's registration
// code runs inside the tests, so each of its mutants reruns only the tests that reach it.
import type { Role } from '@wispanel/contract';
import { type App, createApp, createLogger, MemoryRateLimiter, type RateLimiter } from '@wispanel/kit';
import type { InjectOptions } from 'fastify';
import { beforeAll, describe, expect, it } from 'vitest';
import { installAuth, type RouteAuth } from '../src/modules/auth/auth.hook';
import { AuthService } from '../src/modules/auth/auth.service';
import { LastUsedTracker } from '../src/modules/auth/last-used';
import { CSRF_HEADER, csrfTokenFor, SESSION_COOKIE } from '../src/modules/auth/session-cookie';
import { insertKey, insertSession, insertUser, type RulesDb, rulesDatabase } from './rules-fixtures';

const rules = rulesDatabase('wispanel-auth-hook-rules-');
let db: RulesDb;

beforeAll(() => {
  db = rules.db;
});

const addUser = (role: Role) => insertUser(db, { role });

async function keyFor(role: Role, o: { permissions?: string[]; ipWhitelist?: string[] } = {}) {
  const user = await addUser(role);
  const key = await insertKey(db, user.id, o);
  return { secret: key.secret, id: key.id, user };
}

async function sessionFor(role: Role) {
  const user = await addUser(role);
  const s = await insertSession(db, user.id, Date.now(), Date.now() + 3_600_000);
  return { token: s.token, id: s.id, user };
}

const logger = createLogger({ level: 'silent' });

/** An app with the convention installed; `routes` registers the test's routes. */
async function appWith(
  routes: (app: App) => void,
  o: { limiter?: RateLimiter; auth?: AuthService } = {},
): Promise<{ app: App; table: ReturnType<typeof installAuth> }> {
  const lastUsed = new LastUsedTracker(db.db, logger);
  const auth = o.auth ?? new AuthService(db.db, () => new Date(), lastUsed, 12, db.sqlite, 30);
  const app = createApp({ logger });
  const table = installAuth(app, { auth, limiter: o.limiter ?? new MemoryRateLimiter(1000) });
  routes(app);
  await app.ready();
  return { app, table };
}

/** One GET+POST route at /r needing `need`, answering who called. */
function whoAmI(need: RouteAuth) {
  return (app: App) => {
    app.route({
      method: ['GET', 'POST', 'DELETE'],
      url: '/r',
      config: { auth: need },
      handler: async (request) => ({
        userId: request.actor.userId,
        via: request.actor.via,
        profile: request.profile?.username ?? null,
      }),
    });
  };
}

function call(
  app: App,
  o: { method?: string; auth?: string; headers?: Record<string, string>; ip?: string } = {},
) {
  const headers: Record<string, string> = { ...o.headers };
  if (o.auth !== undefined) headers.authorization = o.auth;
  const req: InjectOptions = { method: (o.method ?? 'GET') as InjectOptions['method'], url: '/r', headers };
  if (o.ip) req.remoteAddress = o.ip;
  return app.inject(req);
}

function envelope(res: { statusCode: number; json: () => { code: string; message: string } }) {
  const body = res.json();
  return { status: res.statusCode, code: body.code, message: body.message };
}

describe('route registration (fails closed)', () => {
  it('refuses a route that declares neither auth nor public, naming its methods and URL', async () => {
    const app = createApp({ logger });
    installAuth(app, { auth: {} as AuthService, limiter: new MemoryRateLimiter(10) });
    expect(() => app.route({ method: ['GET', 'post'], url: '/x', handler: async () => ({}) })).toThrow(
      'Route GET,POST /x has no auth declaration: set config.auth { resource, roles } or config.public',
    );
    expect(() => app.get('/y', { config: { public: false } }, async () => ({}))).toThrow(
      'Route GET /y has no auth declaration',
    );
    await app.close();
  });

  it('refuses an auth declaration without roles, with an empty role list or without a resource', async () => {
    const app = createApp({ logger });
    installAuth(app, { auth: {} as AuthService, limiter: new MemoryRateLimiter(10) });
    const bad = [
      { resource: 'domains' },
      { resource: 'domains', roles: 'admin' },
      { resource: 'domains', roles: [] },
      { roles: ['admin'] },
    ];
    for (const [i, auth] of bad.entries())
      expect(() => app.get(`/bad${i}`, { config: { auth: auth as never } }, async () => ({}))).toThrow(
        `Route GET /bad${i} has no auth declaration`,
      );
    await app.close();
  });

  it('refuses a route that declares both public and auth', async () => {
    const app = createApp({ logger });
    installAuth(app, { auth: {} as AuthService, limiter: new MemoryRateLimiter(10) });
    expect(() =>
      app.get(
        '/both',
        { config: { public: true, auth: { resource: null, roles: ['admin'] } } },
        async () => ({}),
      ),
    ).toThrow('Route GET /both declares both public and auth');
    expect(() =>
      app.route({
        method: ['GET', 'POST'],
        url: '/both2',
        config: { public: true, auth: { resource: 'users', roles: ['admin'] } },
        handler: async () => ({}),
      }),
    ).toThrow('Route GET,POST /both2 declares both public and auth');
    await app.close();
  });

  it('lists every route once per method, without the automatic HEAD twin of a GET', async () => {
    const { app, table } = await appWith((a) => {
      a.get('/open', { config: { public: true } }, async () => ({}));
      a.get('/g', { config: { auth: { resource: 'users', roles: ['admin'] } } }, async () => ({}));
      a.route({
        method: ['POST', 'PUT'],
        url: '/thing',
        config: { auth: { resource: 'domains', roles: ['admin', 'user'] } },
        schema: { body: { type: 'object' } },
        handler: async () => ({}),
      });
      a.head('/only-head', { config: { auth: { resource: null, roles: ['user'] } } }, async () => '');
    });
    expect(table).toEqual([
      { method: 'GET', url: '/open', public: true, auth: null, hasBody: false },
      {
        method: 'GET',
        url: '/g',
        public: false,
        auth: { resource: 'users', roles: ['admin'] },
        hasBody: false,
      },
      {
        method: 'POST',
        url: '/thing',
        public: false,
        auth: { resource: 'domains', roles: ['admin', 'user'] },
        hasBody: true,
      },
      {
        method: 'PUT',
        url: '/thing',
        public: false,
        auth: { resource: 'domains', roles: ['admin', 'user'] },
        hasBody: true,
      },
      {
        method: 'HEAD',
        url: '/only-head',
        public: false,
        auth: { resource: null, roles: ['user'] },
        hasBody: false,
      },
    ]);
    // The HEAD twin exists and is authenticated like its GET.
    expect((await app.inject({ method: 'HEAD', url: '/g' })).statusCode).toBe(401);
    expect((await app.inject({ method: 'HEAD', url: '/open' })).statusCode).toBe(200);
    await app.close();
  });

  it('skips only the automatic HEAD twin: other methods on a GET route’s URL and explicit HEAD routes are listed', async () => {
    const need = { auth: { resource: null, roles: ['user'] } } as const;
    const { app, table } = await appWith((a) => {
      a.get('/x', { config: need }, async () => ({}));
      a.post('/x', { config: need }, async () => ({}));
      a.get('/m', { config: need, exposeHeadRoute: false }, async () => ({}));
      a.route({ method: ['HEAD', 'PUT'], url: '/m', config: need, handler: async () => '' });
      a.put('/n', { config: need }, async () => ({}));
      a.head('/n', { config: need }, async () => '');
    });
    expect(table.map((r) => `${r.method} ${r.url}`)).toEqual([
      'GET /x',
      'POST /x',
      'GET /m',
      'HEAD /m',
      'PUT /m',
      'PUT /n',
      'HEAD /n',
    ]);
    await app.close();
  });

  it('documents who may call a route in its schema (once, also for the HEAD twin); public routes need no security', async () => {
    const described = { description: 'Lists things.' } as Record<string, unknown>;
    const bare = {} as Record<string, unknown>;
    const open = {} as Record<string, unknown>;
    const openOwn = { security: [{ bearerAuth: [] }] } as Record<string, unknown>;
    const hidden = { hide: true } as Record<string, unknown>;
    const { app } = await appWith((a) => {
      a.get(
        '/d',
        { schema: described, config: { auth: { resource: 'domains', roles: ['admin', 'user'] } } },
        async () => ({}),
      );
      a.post(
        '/b',
        { schema: bare, config: { auth: { resource: null, roles: ['admin'] } } },
        async () => ({}),
      );
      a.get('/o', { schema: open, config: { public: true } }, async () => ({}));
      a.get('/oo', { schema: openOwn, config: { public: true } }, async () => ({}));
      a.get(
        '/h',
        { schema: hidden, config: { auth: { resource: 'users', roles: ['admin'] } } },
        async () => ({}),
      );
    });
    expect(described.description).toBe('Lists things.\n\nRoles: admin, user. API key scope: domains.');
    expect(bare.description).toBe('Roles: admin. API key scope: any.');
    expect(open.security).toEqual([]);
    expect(open.description).toBeUndefined();
    expect(openOwn.security).toEqual([{ bearerAuth: [] }]);
    expect(Object.keys(hidden)).toEqual(['hide']);
    await app.close();
  });

  it('keeps a route’s own onRequest hooks (one or a list) and authenticates after them; public routes get no auth', async () => {
    const seen: string[] = [];
    const key = await keyFor('admin');
    const { app } = await appWith((a) => {
      a.get(
        '/one',
        {
          config: { auth: { resource: null, roles: ['admin'] } },
          onRequest: (_req, _reply, done) => {
            seen.push('one');
            done();
          },
        },
        async (request) => ({ by: request.actor.userId }),
      );
      a.get(
        '/list',
        {
          config: { auth: { resource: null, roles: ['admin'] } },
          onRequest: [
            (_req, _reply, done) => {
              seen.push('list1');
              done();
            },
            (_req, _reply, done) => {
              seen.push('list2');
              done();
            },
          ],
        },
        async () => ({}),
      );
      a.get('/open', { config: { public: true } }, async (request) => ({
        actor: request.actor,
        profile: request.profile,
        declared: 'actor' in request && 'profile' in request,
      }));
    });
    expect(
      (await app.inject({ url: '/one', headers: { authorization: `Bearer ${key.secret}` } })).json(),
    ).toEqual({
      by: key.user.id,
    });
    expect((await app.inject({ url: '/one' })).statusCode).toBe(401);
    expect((await app.inject({ url: '/list' })).statusCode).toBe(401);
    expect(seen).toEqual(['one', 'one', 'list1', 'list2']);
    const open = await app.inject({ url: '/open' });
    expect(open.statusCode).toBe(200);
    // Declared on every request (null until the hook sets them), also where no hook runs.
    expect(open.json()).toEqual({ actor: null, profile: null, declared: true });
    expect(open.headers['x-ratelimit-limit']).toBeUndefined();
    await app.close();
  });
});

describe('authentication', () => {
  it('admits an API key and a UI session token as Bearer (any case, spaces or tabs) and sets actor and profile', async () => {
    const key = await keyFor('user');
    const session = await sessionFor('user');
    const { app } = await appWith(whoAmI({ resource: null, roles: ['user'] }));
    for (const auth of [
      `Bearer ${key.secret}`,
      `bearer ${key.secret}`,
      `BEARER \t${key.secret} \t`,
      `Bearer\t${key.secret}`,
    ]) {
      const res = await call(app, { auth });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ userId: key.user.id, via: 'api_key', profile: key.user.username });
    }
    const res = await call(app, { auth: `Bearer ${session.token}`, method: 'POST' });
    expect(res.json()).toEqual({ userId: session.user.id, via: 'session', profile: session.user.username });
    await app.close();
  });

  it('refuses a missing or malformed Authorization header: 401 before any lookup', async () => {
    const key = await keyFor('user');
    const { app } = await appWith(whoAmI({ resource: null, roles: ['user'] }));
    expect(envelope(await call(app))).toEqual({
      status: 401,
      code: 'UNAUTHORIZED',
      message: 'Missing authorization',
    });
    for (const auth of [
      'Bearer',
      'Bearer ',
      `Basic ${key.secret}`,
      `Bearer ${key.secret} extra`,
      `Bearer ${key.secret}x`,
      `Bearer x${key.secret}`,
      `Bearer ${key.secret.toUpperCase()}`,
      `Bearer wss_${'0'.repeat(63)}`,
      `Token Bearer ${key.secret}`,
    ]) {
      const res = await call(app, { auth });
      expect(envelope(res)).toEqual({ status: 401, code: 'UNAUTHORIZED', message: 'Invalid credentials' });
      // Refused before the rate limiter: a malformed header has no token to count.
      expect(res.headers['x-ratelimit-limit']).toBeUndefined();
    }
    await app.close();
  });

  it('refuses a well-formed but unknown token with 401, after counting it', async () => {
    const { app } = await appWith(whoAmI({ resource: null, roles: ['user'] }), {
      limiter: new MemoryRateLimiter(5),
    });
    const res = await call(app, { auth: `Bearer wsp_${'0'.repeat(48)}` });
    expect(envelope(res)).toEqual({ status: 401, code: 'UNAUTHORIZED', message: 'Invalid credentials' });
    expect(res.headers['x-ratelimit-limit']).toBe('5');
    expect(res.headers['x-ratelimit-remaining']).toBe('4');
    await app.close();
  });

  it('admits the console’s session cookie when no Authorization header is sent; a state change needs the CSRF token', async () => {
    const session = await sessionFor('user');
    const key = await keyFor('user');
    const { app } = await appWith(whoAmI({ resource: null, roles: ['user'] }));
    const cookie = `${SESSION_COOKIE}=${session.token}`;
    expect((await call(app, { headers: { cookie } })).json()).toEqual({
      userId: session.user.id,
      via: 'session',
      profile: session.user.username,
    });
    const noCsrf = await call(app, { method: 'POST', headers: { cookie } });
    expect(envelope(noCsrf)).toMatchObject({ status: 403, code: 'FORBIDDEN' });
    expect(noCsrf.json().message).toContain('CSRF token missing');
    const ok = await call(app, {
      method: 'POST',
      headers: { cookie, [CSRF_HEADER]: csrfTokenFor(session.token) },
    });
    expect(ok.statusCode).toBe(200);
    // A malformed cookie value is no cookie.
    expect(envelope(await call(app, { headers: { cookie: `${SESSION_COOKIE}=wss_nope` } })).message).toBe(
      'Missing authorization',
    );
    // The Authorization header wins over the cookie, also when it is wrong.
    expect(envelope(await call(app, { auth: 'Bearer nope', headers: { cookie } })).message).toBe(
      'Invalid credentials',
    );
    expect((await call(app, { auth: `Bearer ${key.secret}`, headers: { cookie } })).json().userId).toBe(
      key.user.id,
    );
    await app.close();
  });
});

describe('rate limit', () => {
  it('sends the limit headers on every answer to a token and refuses over the limit with 429 and Retry-After', async () => {
    const key = await keyFor('user');
    const other = await keyFor('user');
    const { app } = await appWith(whoAmI({ resource: null, roles: ['user'] }), {
      limiter: new MemoryRateLimiter(2),
    });
    const first = await call(app, { auth: `Bearer ${key.secret}` });
    expect(first.statusCode).toBe(200);
    expect(first.headers['x-ratelimit-limit']).toBe('2');
    expect(first.headers['x-ratelimit-remaining']).toBe('1');
    const reset = Number(first.headers['x-ratelimit-reset']);
    expect(reset).toBeGreaterThan(Date.now() / 1000 - 1);
    expect(reset).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + 61);
    expect((await call(app, { auth: `Bearer ${key.secret}` })).headers['x-ratelimit-remaining']).toBe('0');
    const over = await call(app, { auth: `Bearer ${key.secret}` });
    expect(envelope(over)).toEqual({
      status: 429,
      code: 'RATE_LIMITED',
      message: 'Rate limit exceeded: 2 requests per minute',
    });
    expect(over.headers['x-ratelimit-limit']).toBe('2');
    expect(over.headers['x-ratelimit-remaining']).toBe('0');
    expect(over.headers['x-ratelimit-reset']).toBe(first.headers['x-ratelimit-reset']);
    expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
    // Per token: another key has its own budget.
    expect((await call(app, { auth: `Bearer ${other.secret}` })).statusCode).toBe(200);
    await app.close();
  });

  it('works the same with a limiter and a lookup that answer with promises (Redis, PostgreSQL)', async () => {
    const key = await keyFor('user', { permissions: ['read'] });
    const memory = new MemoryRateLimiter(1);
    const limiter: RateLimiter = { hit: (k: string) => Promise.resolve(memory.hit(k)) } as RateLimiter;
    const sync = new AuthService(
      db.db,
      () => new Date(),
      new LastUsedTracker(db.db, logger),
      12,
      db.sqlite,
      30,
    );
    const auth = Object.create(sync) as AuthService;
    auth.authenticate = (token: string, hash?: string) =>
      new Promise((resolve, reject) => {
        try {
          resolve(sync.authenticate(token, hash));
        } catch (err) {
          reject(err);
        }
      });
    const { app } = await appWith(whoAmI({ resource: 'domains', roles: ['user'] }), { limiter, auth });
    const ok = await call(app, { auth: `Bearer ${key.secret}` });
    expect(ok.json()).toEqual({ userId: key.user.id, via: 'api_key', profile: key.user.username });
    expect(ok.headers['x-ratelimit-limit']).toBe('1');
    expect(envelope(await call(app, { auth: `Bearer ${key.secret}` })).code).toBe('RATE_LIMITED');
    const unknown = await call(app, { auth: `Bearer wsp_${'5'.repeat(48)}` });
    expect(envelope(unknown)).toEqual({ status: 401, code: 'UNAUTHORIZED', message: 'Invalid credentials' });
    const session = await sessionFor('user');
    // A scope refusal after an asynchronous grant.
    const post = await call(app, { method: 'POST', auth: `Bearer ${session.token}` });
    expect(post.statusCode).toBe(200);
    const readOnly = await keyFor('user', { permissions: ['read'] });
    expect(envelope(await call(app, { method: 'POST', auth: `Bearer ${readOnly.secret}` }))).toEqual({
      status: 403,
      code: 'FORBIDDEN',
      message: "API key is not scoped for 'domains' on this request",
    });
    await app.close();
  });
});

describe('authorisation: IP whitelist, role, scope (in that order)', () => {
  it('admits a key with an IP whitelist only from an address within it', async () => {
    const key = await keyFor('user', { ipWhitelist: ['10.0.0.0/8', '2001:db8::1'] });
    const any = await keyFor('user');
    const { app } = await appWith(whoAmI({ resource: null, roles: ['user'] }));
    for (const ip of ['10.1.2.3', '2001:db8::1'])
      expect((await call(app, { auth: `Bearer ${key.secret}`, ip })).statusCode).toBe(200);
    for (const ip of ['192.0.2.1', '11.0.0.1', '2001:db8::2'])
      expect(envelope(await call(app, { auth: `Bearer ${key.secret}`, ip }))).toEqual({
        status: 403,
        code: 'FORBIDDEN',
        message: `API key is not allowed from IP address ${ip}`,
      });
    expect((await call(app, { auth: `Bearer ${any.secret}`, ip: '192.0.2.1' })).statusCode).toBe(200);
    await app.close();
  });

  it('admits only the route’s roles, naming them', async () => {
    const user = await keyFor('user');
    const reseller = await keyFor('reseller');
    const admin = await keyFor('admin');
    const { app } = await appWith(whoAmI({ resource: null, roles: ['admin', 'reseller'] }));
    expect(envelope(await call(app, { auth: `Bearer ${user.secret}` }))).toEqual({
      status: 403,
      code: 'FORBIDDEN',
      message: 'This action requires role admin or reseller',
    });
    expect((await call(app, { auth: `Bearer ${reseller.secret}` })).statusCode).toBe(200);
    expect((await call(app, { auth: `Bearer ${admin.secret}` })).statusCode).toBe(200);
    await app.close();
  });

  it('admits a key only within its scopes: read = GET/HEAD, a resource scope = every method, null resource = any key', async () => {
    const read = await keyFor('user', { permissions: ['read'] });
    const domains = await keyFor('user', { permissions: ['domains'] });
    const users = await keyFor('user', { permissions: ['users'] });
    const scoped = await appWith(whoAmI({ resource: 'domains', roles: ['user'] }));
    const refusal = {
      status: 403,
      code: 'FORBIDDEN',
      message: "API key is not scoped for 'domains' on this request",
    };
    expect((await call(scoped.app, { auth: `Bearer ${read.secret}` })).statusCode).toBe(200);
    expect(envelope(await call(scoped.app, { method: 'POST', auth: `Bearer ${read.secret}` }))).toEqual(
      refusal,
    );
    expect(envelope(await call(scoped.app, { method: 'DELETE', auth: `Bearer ${read.secret}` }))).toEqual(
      refusal,
    );
    expect((await call(scoped.app, { method: 'POST', auth: `Bearer ${domains.secret}` })).statusCode).toBe(
      200,
    );
    expect(envelope(await call(scoped.app, { auth: `Bearer ${users.secret}` }))).toEqual(refusal);
    await scoped.app.close();
    const any = await appWith(whoAmI({ resource: null, roles: ['user'] }));
    expect((await call(any.app, { method: 'POST', auth: `Bearer ${users.secret}` })).statusCode).toBe(200);
    expect((await call(any.app, { method: 'DELETE', auth: `Bearer ${read.secret}` })).statusCode).toBe(200);
    await any.app.close();
  });

  it('checks the IP whitelist before the role and the role before the scope', async () => {
    const key = await keyFor('user', { permissions: ['read'], ipWhitelist: ['10.0.0.1'] });
    const wrongRole = await appWith(whoAmI({ resource: 'domains', roles: ['admin'] }));
    expect(
      envelope(await call(wrongRole.app, { method: 'POST', auth: `Bearer ${key.secret}`, ip: '10.0.0.2' }))
        .message,
    ).toBe('API key is not allowed from IP address 10.0.0.2');
    expect(
      envelope(await call(wrongRole.app, { method: 'POST', auth: `Bearer ${key.secret}`, ip: '10.0.0.1' }))
        .message,
    ).toBe('This action requires role admin');
    await wrongRole.app.close();
  });

  it('an error of the handler is answered once, as the handler’s error (not passed back through the hook)', async () => {
    const key = await keyFor('user');
    const { app } = await appWith((a) => {
      a.get('/r', { config: { auth: { resource: null, roles: ['user'] } } }, async () => {
        throw new Error('boom');
      });
    });
    const res = await call(app, { auth: `Bearer ${key.secret}` });
    expect(res.statusCode).toBe(500);
    expect(res.json().code).toBe('INTERNAL_ERROR');
    await app.close();
  });
});

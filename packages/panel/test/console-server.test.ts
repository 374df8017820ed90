/**
 * The web console's server side: cookie session (flags, CSRF, same-origin, logout, idle expiry), the static
 * files (cache headers, CSP on every HTML answer, SPA fallback that leaves the API's 404/405 alone) and the
 * Swagger UI reference page. Real SQLite, a real console directory on disk; requests through inject().
 * The browser suite (console-browser.test.ts) drives the same over HTTPS in Chromium.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@wispanel/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csrfTokenFor, SESSION_COOKIE } from '../src/modules/auth/session-cookie';
import { CONSOLE_CSP } from '../src/modules/console/console.routes';
import { createPanelHarness, type PanelHarness } from './harness';

let h: PanelHarness;
let now = Date.parse('2026-06-01T10:00:00Z');
const consoleDir = tempDir('wispanel-console-');
const PASSWORD = 'correct horse battery';
let user: string;

beforeAll(async () => {
  mkdirSync(join(consoleDir.path, 'assets'), { recursive: true });
  mkdirSync(join(consoleDir.path, 'api-docs'), { recursive: true });
  writeFileSync(
    join(consoleDir.path, 'index.html'),
    '<!doctype html><html><head><script type="module" src="/assets/index-abc123.js"></script></head><body><div id="root"></div></body></html>',
  );
  writeFileSync(
    join(consoleDir.path, 'assets/index-abc123.js'),
    `console.log(${JSON.stringify('x'.repeat(4000))});`,
  );
  writeFileSync(
    join(consoleDir.path, 'api-docs/index.html'),
    '<!doctype html><html><head><script src="/api/v1/docs/init.js"></script></head><body></body></html>',
  );
  writeFileSync(join(consoleDir.path, 'api-docs/init.js'), 'window.ui = 1;');
  process.env.WISPANEL_CONSOLE_DIR = consoleDir.path;
  h = await createPanelHarness({
    flags: { rateLimit: 100_000, loginRateLimit: 1000, sessionIdleMinutes: 30 },
    deps: { clock: () => new Date(now) },
  });
  delete process.env.WISPANEL_CONSOLE_DIR;
  const acc = await h.account('user');
  user = acc.username;
});
afterAll(async () => {
  await h.close();
  consoleDir.remove();
});

async function cookieLogin(login = user) {
  const res = await h.call('POST', '/api/v1/auth/login', {
    key: null,
    body: { username: login, password: PASSWORD, cookie: true },
  });
  expect(res.statusCode, res.body).toBe(200);
  const setCookie = String(res.headers['set-cookie']);
  const token = /__Host-wispanel_session=(wss_[0-9a-f]{64})/.exec(setCookie)?.[1] as string;
  return {
    res,
    setCookie,
    token,
    cookie: `${SESSION_COOKIE}=${token}`,
    csrf: res.json().csrf_token as string,
  };
}

describe('console session cookie', () => {
  it('login with cookie:true sets an HttpOnly; Secure; SameSite=Strict __Host- cookie and answers a CSRF token, not the token', async () => {
    const { res, setCookie, token, csrf } = await cookieLogin();
    expect(token).toMatch(/^wss_/);
    expect(setCookie).toMatch(/; HttpOnly/);
    expect(setCookie).toMatch(/; Secure/);
    expect(setCookie).toMatch(/; SameSite=Strict/);
    expect(setCookie).toMatch(/; Path=\//);
    expect(setCookie).not.toMatch(/Domain=/i);
    const body = res.json();
    expect(body.token).toBeUndefined();
    expect(csrf).toBe(csrfTokenFor(token));
    expect(res.body).not.toContain(token);
  });

  it('the cookie authenticates reads, and /auth/me tells the page its CSRF token', async () => {
    const { cookie, csrf } = await cookieLogin();
    const me = await h.call('GET', '/api/v1/auth/me', { key: null, headers: { cookie } });
    expect(me.statusCode).toBe(200);
    expect(me.json().username).toBe(user);
    expect(me.json().auth.csrf_token).toBe(csrf);
    // Bearer callers get no CSRF token (they need none).
    const bearer = await h.call('GET', '/api/v1/auth/me');
    expect(bearer.json().auth.csrf_token).toBeUndefined();
  });

  it('a state-changing cookie request without the CSRF token, or with another session’s, is refused 403 before the handler', async () => {
    const a = await cookieLogin();
    const b = await cookieLogin();
    const none = await h.call('POST', '/api/v1/domains', {
      key: null,
      headers: { cookie: a.cookie },
      body: { domain: 'csrf-none.example' },
    });
    expect(none.statusCode).toBe(403);
    expect(none.json().message).toMatch(/CSRF token missing/);
    const other = await h.call('POST', '/api/v1/domains', {
      key: null,
      headers: { cookie: a.cookie, 'x-csrf-token': b.csrf },
      body: { domain: 'csrf-other.example' },
    });
    expect(other.statusCode).toBe(403);
    expect(other.json().message).toMatch(/does not match/);
    const list = await h.call('GET', '/api/v1/domains', { key: null, headers: { cookie: a.cookie } });
    expect(list.json().domains.map((d: { domain: string }) => d.domain)).not.toContain('csrf-none.example');
    const ok = await h.call('POST', '/api/v1/domains', {
      key: null,
      headers: { cookie: a.cookie, 'x-csrf-token': a.csrf },
      body: { domain: 'csrf-ok.example' },
    });
    expect(ok.statusCode, ok.body).toBe(201);
    for (const method of ['DELETE', 'PATCH']) {
      const r = await h.call(method, '/api/v1/domains/csrf-ok.example', {
        key: null,
        headers: { cookie: a.cookie },
      });
      expect(r.statusCode, method).toBe(403);
    }
  });

  it('a cookie request from another Origin is refused, and so is a cookie login from another Origin', async () => {
    const a = await cookieLogin();
    const cross = await h.call('GET', '/api/v1/auth/me', {
      key: null,
      headers: { cookie: a.cookie, origin: 'https://evil.example', host: 'panel.example:2083' },
    });
    expect(cross.statusCode).toBe(403);
    const same = await h.call('GET', '/api/v1/auth/me', {
      key: null,
      headers: { cookie: a.cookie, origin: 'https://panel.example:2083', host: 'panel.example:2083' },
    });
    expect(same.statusCode).toBe(200);
    const login = await h.call('POST', '/api/v1/auth/login', {
      key: null,
      headers: { origin: 'https://evil.example', host: 'panel.example:2083' },
      body: { username: user, password: PASSWORD, cookie: true },
    });
    expect(login.statusCode).toBe(403);
    expect(login.headers['set-cookie']).toBeUndefined();
  });

  it('a Bearer header wins over the cookie (API clients are unaffected, and need no CSRF token)', async () => {
    const a = await cookieLogin();
    const res = await h.call('GET', '/api/v1/auth/me', { headers: { cookie: a.cookie } });
    expect(res.json().auth.method).toBe('api_key');
    const post = await h.call('POST', '/api/v1/domains', {
      headers: { cookie: a.cookie },
      body: { domain: 'bearer-no-csrf.example' },
    });
    expect(post.statusCode).toBe(201);
    const garbage = await h.call('GET', '/api/v1/auth/me', {
      key: null,
      headers: { cookie: `${SESSION_COOKIE}=wss_nothex` },
    });
    expect(garbage.statusCode).toBe(401);
  });

  it('logout (with the CSRF token) ends the session and clears the cookie; without the token it is refused', async () => {
    const a = await cookieLogin();
    const refused = await h.call('POST', '/api/v1/auth/logout', { key: null, headers: { cookie: a.cookie } });
    expect(refused.statusCode).toBe(403);
    const out = await h.call('POST', '/api/v1/auth/logout', {
      key: null,
      headers: { cookie: a.cookie, 'x-csrf-token': a.csrf },
    });
    expect(out.statusCode).toBe(200);
    expect(String(out.headers['set-cookie'])).toMatch(
      /__Host-wispanel_session=; Path=\/; Max-Age=0; HttpOnly; Secure; SameSite=Strict/,
    );
    const after = await h.call('GET', '/api/v1/auth/me', { key: null, headers: { cookie: a.cookie } });
    expect(after.statusCode).toBe(401);
  });

  it('idle expiry: unused for 30 minutes the session ends; used, its deadline moves (never past the lifetime)', async () => {
    const idle = await cookieLogin();
    const active = await cookieLogin();
    const start = now;
    const me = (c: string) => h.call('GET', '/api/v1/auth/me', { key: null, headers: { cookie: c } });
    now = start + 20 * 60_000;
    expect((await me(active.cookie)).statusCode).toBe(200);
    // The deadline is written in the background: wait until the database shows it moved.
    const hash = (await import('../src/modules/auth/tokens')).sha256Hex(active.token);
    for (let i = 0; i < 100; i++) {
      const row = await h.deps.db
        .selectFrom('sessions')
        .select('expires_at')
        .where('token_hash', '=', hash)
        .executeTakeFirstOrThrow();
      if (Date.parse(row.expires_at) > start + 30 * 60_000) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    now = start + 31 * 60_000;
    const idleRes = await me(idle.cookie);
    expect(idleRes.statusCode).toBe(401);
    expect(idleRes.json().message).toBe('Session has expired');
    expect((await me(active.cookie)).statusCode).toBe(200);
    // Past the 12 h lifetime nothing keeps it alive.
    for (let t = 31; t < 12 * 60; t += 25) {
      now = start + t * 60_000;
      await me(active.cookie);
      await new Promise((r) => setTimeout(r, 5));
    }
    now = start + 12 * 3_600_000 + 1000;
    expect((await me(active.cookie)).statusCode).toBe(401);
    now = start;
  });
});

describe('console static files', () => {
  it('/ answers index.html, no-cache, with the strict CSP (no inline script, nothing from another origin)', async () => {
    const res = await h.call('GET', '/', { key: null });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/html');
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.headers['content-security-policy']).toBe(CONSOLE_CSP);
    expect(CONSOLE_CSP).toContain("script-src 'self'");
    expect(CONSOLE_CSP).not.toMatch(/unsafe-eval|script-src[^;]*unsafe-inline|https?:/);
    expect(res.headers['x-frame-options']).toBe('DENY');
  });

  it('hashed assets are cached for a year (immutable) and gzipped when asked', async () => {
    const res = await h.call('GET', '/assets/index-abc123.js', {
      key: null,
      headers: { 'accept-encoding': 'gzip' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(res.headers['content-encoding']).toBe('gzip');
    expect(res.headers['content-type']).toContain('text/javascript');
    const plain = await h.call('GET', '/assets/index-abc123.js', { key: null });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body).toContain('console.log');
    for (const bad of [
      '/assets/missing.js',
      '/assets/..%2findex.html',
      '/assets/.hidden',
      '/assets/a/b.js',
    ]) {
      const r = await h.call('GET', bad, { key: null });
      expect(r.statusCode, bad).toBe(404);
      expect(r.json().code).toBe('NOT_FOUND');
    }
  });

  it('client routes get index.html (SPA fallback); the API keeps its JSON 404 and 405', async () => {
    for (const path of ['/license', '/updates', '/accounts/alice', '/login?next=%2Flicense']) {
      const res = await h.call('GET', path, { key: null, headers: { accept: 'text/html,*/*' } });
      expect(res.statusCode, path).toBe(200);
      expect(res.headers['content-security-policy'], path).toBe(CONSOLE_CSP);
      expect(res.body).toContain('<div id="root">');
    }
    const api = await h.call('GET', '/api/v1/nothing', { key: null, headers: { accept: 'text/html' } });
    expect(api.statusCode).toBe(404);
    expect(api.json().code).toBe('NOT_FOUND');
    const json = await h.call('GET', '/license', { key: null, headers: { accept: 'application/json' } });
    expect(json.statusCode).toBe(404);
    const post = await h.call('POST', '/api/v1/nothing', { key: null });
    expect(post.statusCode).toBe(404);
    const wrong = await h.call('DELETE', '/api/v1/health', { key: null });
    expect(wrong.statusCode).toBe(405);
    const postRoot = await h.call('POST', '/license', { key: null, headers: { accept: 'text/html' } });
    expect(postRoot.statusCode).toBe(404);
  });

  it('the API reference page (Swagger UI) is served with the same CSP and its script as a file', async () => {
    const res = await h.call('GET', '/api/v1/docs', { key: null });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-security-policy']).toBe(CONSOLE_CSP);
    const init = await h.call('GET', '/api/v1/docs/init.js', { key: null });
    expect(init.statusCode).toBe(200);
    expect(init.headers['content-type']).toContain('javascript');
    expect((await h.call('GET', '/api/v1/docs/nope.js', { key: null })).statusCode).toBe(404);
  });
});

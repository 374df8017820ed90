/**
 * License end to end with real processes: a real portal (`wispanel-portal`, SQLite) and a real panel
 * (`wispanel start`, HTTPS) talk over loopback. The portal is driven with its own CLI, the panel through its
 * API. panel and portal never import each other; this test only runs their commands.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { generateSigningKeyPair } from '@wispanel/contract';
import { tempDir } from '@wispanel/kit/testing';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPanelHarness } from './harness';

/** A valid key set the portal never signed with. */
function foreignKeySet() {
  const k = generateSigningKeyPair();
  return {
    keys: [{ kid: k.kid, alg: 'ed25519', public_key: k.publicKeyPem, status: 'current', created_at: '' }],
  };
}

const root = new URL('../../../', import.meta.url).pathname;
const PORTAL_BIN = join(root, 'packages/portal/bin/wispanel-portal.mjs');
const PANEL_BIN = join(root, 'packages/panel/bin/wispanel.mjs');
const run = promisify(execFile);
const insecure = new Agent({ connect: { rejectUnauthorized: false } });

const dir = tempDir('wispanel-license-e2e-');
const portalDir = join(dir.path, 'portal');
const panelDir = join(dir.path, 'panel');
const children: ChildProcess[] = [];

async function portalCli(...args: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await run(process.execPath, [PORTAL_BIN, ...args, '--data-dir', portalDir, '--json'], {
    cwd: root,
  });
  return JSON.parse(stdout);
}

/** Starts a command and resolves with the first JSON object on stdout that has a `url`. */
function startProcess(
  bin: string,
  args: string[],
): Promise<{ child: ChildProcess; url: string; lines: string[] }> {
  const child = spawn(process.execPath, [bin, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const lines: string[] = [];
  return new Promise((resolve, reject) => {
    let buf = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`timeout starting ${bin}: ${buf}${err}`)), 30_000);
    child.stderr?.on('data', (d) => {
      err += d;
    });
    child.stdout?.on('data', (d) => {
      buf += d;
      // Either one JSON object per line (panel) or one pretty-printed object (portal).
      for (const candidate of [buf, ...buf.split('\n')]) {
        try {
          const j = JSON.parse(candidate);
          lines.push(candidate);
          if (typeof j.url === 'string') {
            clearTimeout(timer);
            resolve({ child, url: j.url, lines: [buf] });
            return;
          }
        } catch {
          /* not complete yet */
        }
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${bin} exited with ${code}: ${buf}${err}`));
    });
  });
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

let portalUrl = '';
let portal: ChildProcess;
let panelApi = '';
let adminKey = '';
const keys: Record<string, string> = {};

async function api(method: string, path: string, body?: unknown, key = adminKey) {
  const res = await request(`${panelApi}${path}`, {
    method: method as 'GET',
    dispatcher: insecure,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, json: text ? JSON.parse(text) : null };
}

/**
 * The panel process reaches the portal through this pass-through proxy, which can make the portal unreachable
 * for deactivation calls only (the portal going away between an activation and the deactivation after it).
 */
let blockDeactivate = false;
const proxy = createServer((req, res) => {
  if (blockDeactivate && req.url?.startsWith('/api/v1/license/deactivate')) {
    req.socket.destroy();
    return;
  }
  const target = new URL(portalUrl);
  const upstream = httpRequest(
    { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  upstream.on('error', () => req.socket.destroy());
  req.pipe(upstream);
});
let panelArgs: string[] = [];
let panelChild: ChildProcess;

let portalAdminKey = '';
async function adminGet(path: string) {
  const res = await request(`${portalUrl}/api/v1/admin${path}`, {
    headers: { 'x-admin-key': portalAdminKey },
  });
  const json = JSON.parse(await res.body.text());
  expect(res.statusCode, JSON.stringify(json)).toBe(200);
  return json;
}
/** Hardware ids bound to a license on the portal (admin API license detail). */
async function boundTo(name: string): Promise<string[]> {
  const detail = await adminGet(`/licenses/${licenseIds[name]}`);
  return detail.license.activations.map((a: { hardware_id: string }) => a.hardware_id);
}
async function deactivateEvents(): Promise<number> {
  return (await adminGet('/events?action=license.deactivate&limit=500')).events.length;
}

async function admin(method: string, path: string, body: unknown = {}) {
  const res = await request(`${portalUrl}/api/v1/admin${path}`, {
    method: method as 'POST',
    headers: { 'content-type': 'application/json', 'x-admin-key': portalAdminKey },
    body: JSON.stringify(body),
  });
  const json = JSON.parse(await res.body.text());
  expect(res.statusCode, JSON.stringify(json)).toBeLessThan(300);
  return json;
}

const licenseIds: Record<string, string> = {};
async function issue(name: string, tier: string): Promise<void> {
  const r = await admin('POST', '/licenses', { tier });
  keys[name] = r.license_key;
  licenseIds[name] = r.license.id;
}

beforeAll(async () => {
  const portalInit = await portalCli('init');
  portalAdminKey = portalInit.admin_key as string;
  const p = await startProcess(PORTAL_BIN, [
    'start',
    '--data-dir',
    portalDir,
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--json',
  ]);
  portal = p.child;
  portalUrl = p.url;
  await admin('PATCH', '/tiers/pro', { max_users: 6, max_domains: 5, max_databases: 5 });
  await admin('POST', '/tiers', {
    name: 'mini',
    max_users: 3,
    max_domains: 2,
    max_databases: 2,
    lease_days: 14,
    grace_days: 7,
  });
  for (const name of ['pro', 'suspended', 'revoked', 'bound', 'dev', 'foreign']) await issue(name, 'pro');
  await admin('POST', `/licenses/${licenseIds.suspended}/suspend`);
  await admin('POST', `/licenses/${licenseIds.revoked}/revoke`);
  // Someone else's server takes the `bound` key first.
  const other = await request(`${portalUrl}/api/v1/license/activate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ key: keys.bound, hardware_id: 'b'.repeat(64) }),
  });
  expect(other.statusCode).toBe(200);
  await other.body.text();

  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;

  panelArgs = [
    'start',
    '--data-dir',
    panelDir,
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--portal-url',
    proxyUrl,
    '--portal-keys',
    join(portalDir, 'public-keys.json'),
    '--license-tick',
    '0',
    '--rate-limit',
    '100000',
    '--log-level',
    'warn',
    '--json',
  ];
  const panel = await startProcess(PANEL_BIN, panelArgs);
  panelChild = panel.child;
  panelApi = panel.url;
  const init = panel.lines
    .join('\n')
    .split('\n')
    .map((l) => {
      try {
        return JSON.parse(l);
      } catch {
        return null;
      }
    });
  adminKey = init.find((j) => j?.api_key)?.api_key;
  expect(adminKey).toMatch(/^wsp_/);
}, 180_000);

afterAll(async () => {
  await Promise.all(children.map(stop));
  proxy.closeAllConnections();
  await new Promise((resolve) => proxy.close(resolve));
  dir.remove();
});

describe('license end to end (real portal and panel processes)', () => {
  it('starts unlicensed with the documented shape', async () => {
    const r = await api('GET', '/license');
    expect(r.status).toBe(200);
    expect(Object.keys(r.json)).toEqual(['license', 'usage']);
    expect(Object.keys(r.json.license)).toEqual([
      'key',
      'tier',
      'is_valid',
      'has_license_file',
      'needs_refresh',
      'max_users',
      'max_domains',
      'max_databases',
      'expires_at',
      'valid_until',
      'last_checked',
    ]);
    expect(r.json.license).toMatchObject({
      key: null,
      tier: 'unlicensed',
      is_valid: false,
      has_license_file: false,
    });
    expect(r.json.usage).toEqual({ accounts: 1, databases: 0, domains: 0 });
  });

  it('refuses bad activations with distinct codes', async () => {
    const empty = await api('POST', '/license/activate');
    expect(empty.status).toBe(400);
    expect(empty.json).toEqual({
      success: false,
      code: 'VALIDATION_ERROR',
      error: 'License key is required',
      message: 'License key is required',
      status: 400,
    });
    expect((await api('POST', '/license/activate', {})).json.error).toBe('License key is required');
    const cases: Array<[string, number, string]> = [
      ['WISP-1234', 400, 'LICENSE_KEY_MALFORMED'],
      ['WISP-AAAA-BBBB-CCCC', 404, 'LICENSE_NOT_FOUND'],
      [keys.suspended as string, 403, 'LICENSE_SUSPENDED'],
      [keys.revoked as string, 403, 'LICENSE_REVOKED'],
    ];
    for (const [key, status, code] of cases) {
      const r = await api('POST', '/license/activate', { key });
      expect([r.status, r.json.code], key).toEqual([status, code]);
    }
    const bound = await api('POST', '/license/activate', { key: keys.bound });
    expect(bound.status).toBe(409);
    expect(['LICENSE_HARDWARE_MISMATCH', 'LICENSE_ACTIVATION_LIMIT']).toContain(bound.json.code);
    expect((await api('GET', '/license')).json.license.is_valid).toBe(false);
  });

  const created = { users: [] as string[], domains: [] as string[], databases: [] as string[] };

  it('activates pro and counts live usage', async () => {
    const r = await api('POST', '/license/activate', { key: keys.pro });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(r.json.license).toMatchObject({
      key: `WISP-****${(keys.pro as string).slice(-4)}`,
      tier: 'pro',
      is_valid: true,
      has_license_file: true,
      needs_refresh: false,
      max_users: 6,
      max_domains: 5,
      max_databases: 5,
    });
    expect(r.json.license.valid_until).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/);
    expect(r.json.license.last_checked).not.toBeNull();
    for (let i = 1; i <= 4; i++) {
      const u = await api('POST', '/users', {
        username: `cust${i}`,
        email: `cust${i}@example.com`,
        password: 'correct horse battery',
      });
      expect(u.status, JSON.stringify(u.json)).toBe(201);
      created.users.push(`cust${i}`);
      const d = await api('POST', '/domains', { domain: `site${i}.example.com` });
      expect(d.status, JSON.stringify(d.json)).toBe(201);
      created.domains.push(d.json.domain.domain);
      const b = await api('POST', '/databases', { name: `db${i}` });
      expect(b.status, JSON.stringify(b.json)).toBe(201);
      created.databases.push(b.json.database.name);
    }
    expect((await api('GET', '/license')).json.usage).toEqual({ accounts: 5, databases: 4, domains: 4 });
  });

  let custKey = '';
  it('a lower tier from the portal freezes growth after refresh; deletes still work', async () => {
    const k = await api('POST', '/users/cust4/api-keys', { name: 'e2e', permissions: ['all'] });
    expect(k.status).toBe(201);
    custKey = k.json.secret_key;
    await admin('PATCH', `/licenses/${licenseIds.pro}`, { tier: 'mini' });
    const r = await api('POST', '/license/refresh');
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(r.json.changes.tier).toEqual(['pro', 'mini']);
    const s = await api('GET', '/license/summary');
    expect(s.json).toMatchObject({
      tier: 'mini',
      status: 'active',
      over_limit: { accounts: true, domains: true, databases: true },
    });
    const refused = await api('POST', '/users', {
      username: 'cust5',
      email: 'c5@example.com',
      password: 'correct horse battery',
    });
    expect([refused.status, refused.json.code]).toEqual([403, 'LICENSE_LIMIT_REACHED']);
    expect((await api('POST', '/domains', { domain: 'more.example.com' })).json.code).toBe(
      'LICENSE_LIMIT_REACHED',
    );
    const del = await api('DELETE', `/domains/${created.domains[0]}`);
    expect(del.status, JSON.stringify(del.json)).toBe(200);
    const limits = await api('GET', '/license/limits');
    expect(limits.json.limits.domains).toMatchObject({ limit: 2, usage: 3, remaining: 0, over_limit: true });
  });

  it('enforce disables exactly the excess, newest first, never an admin suspension; idempotent', async () => {
    // An admin suspends the newest database: enforcement must leave it alone.
    const newestDb = created.databases[3] as string;
    expect((await api('POST', `/databases/${newestDb}/suspend`)).status).toBe(200);
    const r = await api('POST', '/license/enforce');
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(r.json.disabled.accounts.resources.map((x: { name: string }) => x.name)).toEqual([
      'cust4',
      'cust3',
    ]);
    expect(r.json.disabled.domains.resources.map((x: { name: string }) => x.name)).toEqual([
      created.domains[3],
    ]);
    expect(r.json.disabled.databases.resources.map((x: { name: string }) => x.name)).toEqual([
      created.databases[2],
    ]);
    expect(r.json.disabled_total).toBe(4);
    const again = await api('POST', '/license/enforce');
    expect(again.json.disabled_total).toBe(0);
    const list = await api('GET', '/license/disabled-resources');
    expect(list.json.total).toBe(4);
    expect(list.json.resources[0]).toEqual(
      expect.objectContaining({
        type: expect.any(String),
        id: expect.any(Number),
        name: expect.any(String),
        disabled_at: expect.any(String),
        reason: expect.stringContaining('mini'),
      }),
    );
    expect(list.json.resources.map((x: { name: string }) => x.name)).not.toContain(newestDb);
    // The disabled account's API key no longer works, with a license code.
    const denied = await api('GET', '/auth/me', undefined, custKey);
    expect(denied.status).toBe(403);
    expect(denied.json.code).toBe('LICENSE_RESOURCE_DISABLED');
    const db = await api('GET', `/databases/${newestDb}`);
    expect(db.json.database).toMatchObject({ status: 'suspended', disabled_by_license: false });
    const dom = await api('GET', `/domains/${created.domains[3]}`);
    expect(dom.json.domain).toMatchObject({ status: 'active', disabled_by_license: true });
  });

  it('an upgrade back lets re-enable restore exactly what enforcement disabled', async () => {
    await admin('PATCH', `/licenses/${licenseIds.pro}`, { tier: 'pro' });
    expect((await api('POST', '/license/refresh')).json.changes.tier).toEqual(['mini', 'pro']);
    const r = await api('POST', '/license/re-enable');
    expect(r.status).toBe(200);
    expect(r.json.reenabled_total).toBe(4);
    expect((await api('POST', '/license/re-enable')).json.reenabled_total).toBe(0);
    expect((await api('GET', '/license/disabled-resources')).json.total).toBe(0);
    expect((await api('GET', '/auth/me', undefined, custKey)).status).toBe(200);
    const db = await api('GET', `/databases/${created.databases[3]}`);
    expect(db.json.database.status).toBe('suspended');
    const audit = await api('GET', '/license/audit?limit=50');
    const actions = audit.json.entries.map((e: { action: string }) => e.action);
    expect(actions).toEqual(
      expect.arrayContaining(['activate', 'refresh', 'enforce', 're-enable', 'create_refused']),
    );
  });

  it('an explicit development portal is trusted by the keys it serves; without it a foreign key is refused', async () => {
    // In-process panels against the same real portal process.
    const dev = await createPanelHarness({ flags: { portalUrl, portalDev: true, licenseTick: 0 } });
    try {
      const r = await dev.call('POST', '/api/v1/license/activate', { body: { key: keys.dev } });
      expect(r.statusCode, r.body).toBe(200);
      expect((await dev.call('GET', '/api/v1/license/summary')).json().portal.development).toBe(true);
    } finally {
      await dev.close();
    }
    const other = tempDir('wispanel-keys-');
    writeFileSync(join(other.path, 'keys.json'), JSON.stringify(await foreignKeySet()));
    const strict = await createPanelHarness({
      flags: { portalUrl, portalKeys: join(other.path, 'keys.json'), licenseTick: 0 },
    });
    try {
      const r = await strict.call('POST', '/api/v1/license/activate', { body: { key: keys.foreign } });
      expect([r.statusCode, r.json().code]).toEqual([502, 'LICENSE_FILE_INVALID']);
      expect(r.json().error).toContain('UNKNOWN_KEY');
      expect((await strict.call('GET', '/api/v1/license')).json().license.has_license_file).toBe(false);
    } finally {
      await strict.close();
      other.remove();
    }
  });

  it('a suspension signed by the portal takes effect on refresh; reinstating restores it', async () => {
    await admin('POST', `/licenses/${licenseIds.pro}/suspend`);
    const r = await api('POST', '/license/refresh');
    expect([r.status, r.json.code]).toEqual([403, 'LICENSE_SUSPENDED']);
    const s = await api('GET', '/license/summary');
    expect(s.json).toMatchObject({ status: 'invalid', is_valid: false, reason: 'LICENSE_SUSPENDED' });
    await admin('POST', `/licenses/${licenseIds.pro}/reinstate`);
    expect((await api('POST', '/license/refresh')).status).toBe(200);
    expect((await api('GET', '/license')).json.license).toMatchObject({ is_valid: true, tier: 'pro' });
  });

  it('activating another key frees the old key on the portal: another server can then take its only slot', async () => {
    const hardwareId = readFileSync(join(panelDir, 'hardware-id'), 'utf8').trim();
    expect(await boundTo('pro')).toEqual([hardwareId]);
    await issue('swap1', 'pro');
    const r = await api('POST', '/license/activate', { key: keys.swap1 });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(r.json.license).toMatchObject({ key: `WISP-****${keys.swap1?.slice(-4)}`, is_valid: true });
    expect(r.json.previous_license).toEqual({
      key: `WISP-****${keys.pro?.slice(-4)}`,
      deactivated: true,
      pending: false,
      code: 'DEACTIVATED',
      reason: 'Activation removed; the slot is free',
      next_attempt_at: null,
    });
    expect(await boundTo('pro')).toEqual([]);
    expect(await boundTo('swap1')).toEqual([hardwareId]);
    // `pro` allows one activation: a second server gets it now.
    const other = await request(`${portalUrl}/api/v1/license/activate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ key: keys.pro, hardware_id: 'c'.repeat(64) }),
    });
    expect(other.statusCode, await other.body.text()).toBe(200);
    expect(await boundTo('pro')).toEqual(['c'.repeat(64)]);
    expect((await api('GET', '/license/summary')).json.pending_deactivations).toEqual([]);
  });

  it('activating the same key again deactivates nothing', async () => {
    const before = await deactivateEvents();
    const r = await api('POST', '/license/activate', { key: keys.swap1 });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(r.json.previous_license).toBeNull();
    expect(await deactivateEvents()).toBe(before);
    expect(await boundTo('swap1')).toHaveLength(1);
  });

  it('a failed activation of another key leaves the license in hand and its binding untouched', async () => {
    const before = await deactivateEvents();
    const unknown = await api('POST', '/license/activate', { key: 'WISP-AAAA-BBBB-CCCC' });
    expect([unknown.status, unknown.json.code]).toEqual([404, 'LICENSE_NOT_FOUND']);
    const bound = await api('POST', '/license/activate', { key: keys.bound });
    expect(bound.status).toBe(409);
    expect((await api('GET', '/license')).json.license).toMatchObject({
      key: `WISP-****${keys.swap1?.slice(-4)}`,
      is_valid: true,
    });
    expect(await deactivateEvents()).toBe(before);
    expect(await boundTo('swap1')).toHaveLength(1);
  });

  it('portal unreachable for the deactivation: new license active, old key pending across a restart, freed once the portal is back', async () => {
    await issue('swap2', 'pro');
    blockDeactivate = true;
    const r = await api('POST', '/license/activate', { key: keys.swap2 });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(r.json.license).toMatchObject({ key: `WISP-****${keys.swap2?.slice(-4)}`, is_valid: true });
    expect(r.json.previous_license).toMatchObject({
      key: `WISP-****${keys.swap1?.slice(-4)}`,
      deactivated: false,
      pending: true,
      code: 'PORTAL_UNREACHABLE',
    });
    expect(await boundTo('swap1')).toHaveLength(1);
    const audit = await api('GET', '/license/audit?limit=1');
    expect(audit.json.entries[0]).toMatchObject({ action: 'deactivate', outcome: 'failed' });
    expect(JSON.stringify(audit.json)).not.toContain(keys.swap1);

    // A restart of the panel does not forget the pending deactivation.
    await stop(panelChild);
    const restarted = await startProcess(PANEL_BIN, panelArgs);
    panelChild = restarted.child;
    panelApi = restarted.url;
    const pending = (await api('GET', '/license/summary')).json.pending_deactivations;
    expect(pending).toMatchObject([
      { key: `WISP-****${keys.swap1?.slice(-4)}`, attempts: 1, last_error: { code: 'PORTAL_UNREACHABLE' } },
    ]);

    // The portal is back: the next successful portal check frees it (the job also retries on its own).
    blockDeactivate = false;
    expect((await api('POST', '/license/refresh')).status).toBe(200);
    expect((await api('GET', '/license/summary')).json.pending_deactivations).toEqual([]);
    expect(await boundTo('swap1')).toEqual([]);
    expect(await boundTo('swap2')).toHaveLength(1);
    expect((await api('GET', '/license/audit?limit=5')).json.entries).toEqual(
      expect.arrayContaining([expect.objectContaining({ action: 'deactivate', outcome: 'success' })]),
    );
  });

  it('with the portal stopped nothing is disabled while the lease lasts', async () => {
    await stop(portal);
    const r = await api('POST', '/license/refresh');
    expect([r.status, r.json.code]).toEqual([503, 'PORTAL_UNREACHABLE']);
    const l = await api('GET', '/license');
    expect(l.json.license).toMatchObject({ tier: 'pro', is_valid: true, max_users: 6 });
    const s = await api('GET', '/license/summary');
    expect(s.json.status).toBe('active');
    expect(s.json.portal.last_error.code).toBe('PORTAL_UNREACHABLE');
    expect((await api('POST', '/license/enforce')).json.disabled_total).toBe(0);
    expect((await api('GET', '/license/disabled-resources')).json.total).toBe(0);
  });

  it('a tampered license file is invalid with a reason', async () => {
    const file = join(panelDir, 'license.lic');
    const text = readFileSync(file, 'utf8');
    const lines = text.split('\n');
    const i = 3;
    const line = lines[i] as string;
    lines[i] = (line[0] === 'A' ? 'B' : 'A') + line.slice(1);
    writeFileSync(file, lines.join('\n'));
    const l = await api('GET', '/license');
    expect(l.json.license).toMatchObject({ is_valid: false, has_license_file: true });
    const s = await api('GET', '/license/summary');
    expect(s.json.status).toBe('invalid');
    expect(['BAD_SIGNATURE', 'MALFORMED']).toContain(s.json.reason);
  });
});

import type { App } from '@wispanel/kit';
import { createLogger } from '@wispanel/kit';
import { tempDir } from '@wispanel/kit/testing';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { buildPanelApp } from '../src/app';
import { loadPanelConfig, type PanelConfig } from '../src/config';
import type { PanelDeps } from '../src/context';
import { allowAllLicenseGate } from '../src/modules/resources/license-gate';
import { initializeDataDir, openPanelDatabase } from '../src/setup';

/**
 * An in-process panel over a real SQLite file in a temp dir, with an initialised admin and its API key.
 * Shared by the panel's tests (and usable by the license/update modules' tests). The license gate is
 * allow-all unless `deps.licenseGate` is given (pass the real one to test licensing).
 */
export interface PanelHarness {
  app: App;
  config: PanelConfig;
  deps: PanelDeps;
  adminKey: string;
  call(
    method: string,
    url: string,
    options?: { key?: string | null; body?: unknown; headers?: Record<string, string>; ip?: string },
  ): Promise<LightMyRequestResponse>;
  /** Creates an account (as `asKey`, default the admin) and returns it with an `all`-scoped API key. */
  account(
    role: 'admin' | 'reseller' | 'user',
    options?: { asKey?: string; username?: string },
  ): Promise<{ username: string; key: string }>;
  /** Issues a key for `username` as `asKey` (default admin). */
  key(
    username: string,
    body?: Record<string, unknown>,
    asKey?: string,
  ): Promise<{ secret: string; id: string }>;
  close(): Promise<void>;
}

let counter = 0;

export async function createPanelHarness(
  options: { flags?: Record<string, unknown>; deps?: Partial<PanelDeps> } = {},
): Promise<PanelHarness> {
  const dir = tempDir('wispanel-panel-');
  const config = loadPanelConfig(
    { dataDir: dir.path, noTls: true, logLevel: 'silent', ...options.flags },
    {},
  );
  const { database } = await openPanelDatabase(config);
  const init = await initializeDataDir(config, {}, database);
  const deps: PanelDeps = {
    config,
    db: database.db,
    dialect: database.dialect,
    sqlite: database.sqlite,
    logger: createLogger({ level: 'silent' }),
    hardwareId: init.hardware_id,
    // Core tests are not about licensing: everything may be created unless a test passes its own gate.
    licenseGate: allowAllLicenseGate,
    ...options.deps,
  };
  const app = await buildPanelApp(deps);
  const adminKey = init.api_key as string;

  const call: PanelHarness['call'] = (method, url, o = {}) => {
    const headers: Record<string, string> = { ...o.headers };
    const key = o.key === undefined ? adminKey : o.key;
    if (key) headers.authorization = `Bearer ${key}`;
    const req: InjectOptions = { method: method as InjectOptions['method'], url, headers };
    if (o.ip) req.remoteAddress = o.ip;
    if (o.body !== undefined) {
      req.payload = typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
      headers['content-type'] ??= 'application/json';
    }
    return app.inject(req);
  };

  const key: PanelHarness['key'] = async (username, body = {}, asKey = adminKey) => {
    const res = await call('POST', `/api/v1/users/${username}/api-keys`, {
      key: asKey,
      body: { name: 'test', permissions: ['all'], ...body },
    });
    if (res.statusCode !== 201) throw new Error(`issuing key failed: ${res.statusCode} ${res.body}`);
    const json = res.json();
    return { secret: json.secret_key, id: json.key.id };
  };

  const account: PanelHarness['account'] = async (role, o = {}) => {
    counter += 1;
    const username = o.username ?? `${role}${counter}x${Math.floor(Math.random() * 1e6)}`;
    const res = await call('POST', '/api/v1/users', {
      key: o.asKey ?? adminKey,
      body: { username, email: `${username}@example.com`, password: 'correct horse battery', role },
    });
    if (res.statusCode !== 201) throw new Error(`creating account failed: ${res.statusCode} ${res.body}`);
    const k = await key(username);
    return { username, key: k.secret };
  };

  return {
    app,
    config,
    deps,
    adminKey,
    call,
    account,
    key,
    close: async () => {
      await app.close();
      await database.close();
      dir.remove();
    },
  };
}

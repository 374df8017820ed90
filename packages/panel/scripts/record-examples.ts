// Records real answers of a running panel (in-process, over a throwaway data dir and SQLite file) into
// packages/panel/openapi-examples.json; the OpenAPI generator puts each one into its operation as the `example`
// of that status. Run: `npx tsx packages/panel/scripts/record-examples.ts`, then
// `npx tsx packages/panel/scripts/write-openapi.ts`. test/openapi.test.ts checks every example against its schema.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '@wispanel/kit';
import { buildPanelApp } from '../src/app';
import { loadPanelConfig } from '../src/config';
import { initializeDataDir, openPanelDatabase } from '../src/setup';

const target = fileURLToPath(new URL('../openapi-examples.json', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'wispanel-examples-'));
const examples: Record<string, Record<string, unknown>> = {};

try {
  const config = loadPanelConfig({ dataDir: dir, noTls: true, logLevel: 'silent' }, {});
  const { database } = await openPanelDatabase(config);
  const init = await initializeDataDir(config, {}, database);
  const app = await buildPanelApp({
    config,
    db: database.db,
    dialect: database.dialect,
    sqlite: database.sqlite,
    logger: createLogger({ level: 'silent' }),
    hardwareId: init.hardware_id,
  });
  const admin = init.api_key as string;

  /** One real call; its answer becomes the example of `<METHOD> <path template>` for the answered status. */
  const call = async (
    method: string,
    template: string,
    values: Record<string, string> = {},
    body?: unknown,
  ) => {
    const url = template.replace(/\{(\w+)\}/g, (_, k: string) => encodeURIComponent(values[k] as string));
    const res = await app.inject({
      method: method as 'GET',
      url,
      headers: {
        authorization: `Bearer ${admin}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
    });
    if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`);
    const key = `${method} ${template}`;
    examples[key] = { ...examples[key], [String(res.statusCode)]: res.json() };
    return res.json();
  };

  await call('GET', '/api/v1/health');
  await call('GET', '/api/v1/auth/me');
  await call(
    'POST',
    '/api/v1/users',
    {},
    {
      username: 'alice',
      email: 'alice@example.com',
      password: 'correct horse battery',
      role: 'reseller',
    },
  );
  await call('GET', '/api/v1/users');
  await call('GET', '/api/v1/users/{username}', { username: 'alice' });
  await call('PATCH', '/api/v1/users/{username}', { username: 'alice' }, { package: 'gold' });
  const issued = await call(
    'POST',
    '/api/v1/users/{username}/api-keys',
    { username: 'alice' },
    {
      name: 'deploy',
      permissions: ['domains', 'databases'],
      expires_in: 90,
    },
  );
  const id = issued.key.id as string;
  await call('GET', '/api/v1/users/{username}/api-keys', { username: 'alice' });
  await call('GET', '/api/v1/users/{username}/api-keys/{id}', { username: 'alice', id });
  await call('POST', '/api/v1/users/{username}/api-keys/{id}/disable', { username: 'alice', id });
  await call('POST', '/api/v1/domains', {}, { domain: 'example.com', owner: 'alice' });
  await call('GET', '/api/v1/domains');
  await call('GET', '/api/v1/domains/{domain}', { domain: 'example.com' });
  await call(
    'POST',
    '/api/v1/databases',
    {},
    { name: 'shop', domain: 'example.com', password: 'Tr0ub4dor&3x' },
  );
  await call('GET', '/api/v1/databases');
  await call('GET', '/api/v1/databases/{name}', { name: 'alice_shop' });
  await call('GET', '/api/v1/license');
  await call('GET', '/api/v1/license/summary');
  await call('GET', '/api/v1/license/limits');
  await call('GET', '/api/v1/version/info');
  await call('GET', '/api/v1/version/update/status');
  await call('GET', '/api/v1/version/settings');
  await call('DELETE', '/api/v1/databases/{name}', { name: 'alice_shop' });

  await app.close();
  await database.close();
  // The recorded secret of the issued key is real (of a panel that no longer exists) but looks live to a
  // secret scanner and to a reader: the examples carry an obvious placeholder of the same shape instead.
  const secret = issued.secret_key as string;
  const placeholder = `wsp_${'0123456789abcdef'.repeat(3)}`;
  const text = JSON.stringify(examples, null, 2)
    .replaceAll(secret, placeholder)
    .replaceAll(secret.slice(0, 12), placeholder.slice(0, 12));
  writeFileSync(target, `${text}\n`);
  console.log(`wrote ${Object.keys(examples).length} operations' examples to ${target}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

// Records real answers of a running portal (in-process, over a throwaway data dir and SQLite file) into
// packages/portal/openapi-examples.json; the OpenAPI document puts each one into its operation as the `example`
// of that status. Run: `npx tsx packages/portal/scripts/record-examples.ts`, then
// `npx wispanel-portal openapi --write packages/portal/openapi.json`. src/openapi.test.ts checks every example
// against its schema.
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Kysely } from 'kysely';
import { WebhookOutbox, type WebhookOutboxTables } from '../src/modules/rollouts/webhook-outbox';
import { createTestPortal } from '../src/testing';

const target = new URL('../openapi-examples.json', import.meta.url).pathname;
const examples: Record<string, Record<string, unknown>> = {};
const t = await createTestPortal('sqlite');
try {
  /** One real call; its answer becomes the example of `<METHOD> <path template>` for the answered status. */
  const call = async (
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    template: string,
    values: Record<string, string> = {},
    body?: unknown,
    options: { admin?: boolean; raw?: Buffer } = {},
  ) => {
    const url = template.replace(/\{(\w+)\}/g, (_, k: string) => encodeURIComponent(values[k] as string));
    const res = await t.app.inject({
      method,
      url,
      headers: {
        ...(options.admin === false ? {} : { 'x-admin-key': t.adminKey }),
        ...(options.raw ? { 'content-type': 'application/octet-stream' } : {}),
      },
      ...(options.raw ? { payload: options.raw } : body !== undefined ? { payload: body as object } : {}),
    });
    if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`);
    const key = `${method} ${template}`;
    examples[key] = { ...examples[key], [String(res.statusCode)]: res.json() };
    return res.json();
  };
  const hw = 'a1b2c3d4'.repeat(8);

  await call('GET', '/api/v1/health', {}, undefined, { admin: false });
  await call('GET', '/api/v1/admin/tiers');
  await call('GET', '/api/v1/admin/tiers/{name}', { name: 'pro' });
  const issued = await call(
    'POST',
    '/api/v1/admin/licenses',
    {},
    {
      tier: 'pro',
      term_days: 365,
      max_activations: 2,
      customer_name: 'Acme Hosting',
      customer_email: 'ops@acme.example',
    },
  );
  const key = issued.license_key as string;
  const id = issued.license.id as string;
  await call(
    'POST',
    '/api/v1/license/activate',
    {},
    {
      key,
      hardware_id: hw,
      nonce: 'example-nonce-0001',
      panel_version: '1.4.2',
      hostname: 'web1.acme.example',
      usage: { accounts: 12, domains: 30, databases: 8 },
    },
    { admin: false },
  );
  await call(
    'POST',
    '/api/v1/license/verify',
    {},
    { key, hardware_id: hw, nonce: 'example-nonce-0002' },
    { admin: false },
  );
  await call('GET', '/api/v1/admin/licenses');
  await call('GET', '/api/v1/admin/licenses/{id}', { id });
  await call('PUT', '/api/v1/admin/licenses/{id}/canary', { id }, { canary: true });
  await call('GET', '/api/v1/admin/canaries');
  await call(
    'POST',
    '/api/v1/admin/versions',
    {},
    {
      version: '1.5.0',
      channel: 'stable',
      changelog: '## 1.5.0\n\n- Faster license checks\n- Staged rollouts',
    },
  );
  await call('PUT', '/api/v1/admin/versions/{version}/artifact', { version: '1.5.0' }, undefined, {
    raw: Buffer.from('an example artifact, not a real tarball'),
  });
  await call(
    'PUT',
    '/api/v1/admin/versions/{version}/rollout',
    { version: '1.5.0' },
    {
      stages: [
        { percent: 1, after_hours: 0 },
        { percent: 10, after_hours: 24 },
        { percent: 100, after_hours: 24 },
      ],
      halt_policy: { min_failures: 3, failure_rate: 0.05 },
    },
  );
  await call('POST', '/api/v1/admin/versions/{version}/publish', { version: '1.5.0' }, {});
  await call('GET', '/api/v1/admin/versions');
  await call('GET', '/api/v1/admin/versions/{version}', { version: '1.5.0' });
  await call(
    'POST',
    '/api/v1/download/check-update',
    {},
    {
      key,
      hardware_id: hw,
      current_version: '1.4.2',
      channel: 'stable',
      nonce: 'example-nonce-0003',
    },
    { admin: false },
  );
  await call(
    'POST',
    '/api/v1/download/report',
    {},
    {
      key,
      hardware_id: hw,
      nonce: 'example-nonce-0004',
      attempt_id: 'attempt-0001',
      from_version: '1.4.2',
      to_version: '1.5.0',
      outcome: 'succeeded',
      step: 'completed',
      error_code: null,
      duration_ms: 11300,
    },
    { admin: false },
  );
  await call('GET', '/api/v1/admin/versions/{version}/rollout', { version: '1.5.0' });
  await call('POST', '/api/v1/admin/versions/{version}/rollout/promote', { version: '1.5.0' }, {});
  await call(
    'POST',
    '/api/v1/admin/versions/{version}/rollout/halt',
    { version: '1.5.0' },
    { reason: 'example: logins fail after the update' },
  );
  await call('GET', '/api/v1/admin/versions/{version}/health', { version: '1.5.0' });
  await call('GET', '/api/v1/admin/versions/{version}/timeline', { version: '1.5.0' });
  await call('GET', '/api/v1/admin/rollouts');
  await call('GET', '/api/v1/admin/fleet');
  await call('GET', '/api/v1/admin/events');
  await call('GET', '/api/v1/admin/admin-keys');
  // The halt's release.halted webhook, given up by a receiver that refuses it (410), then sent again.
  const refusing = createServer((_req, res) => res.writeHead(410).end());
  await new Promise<void>((r) => refusing.listen(0, '127.0.0.1', r));
  try {
    await new WebhookOutbox({
      db: t.services.db as unknown as Kysely<WebhookOutboxTables>,
      dialect: t.services.database.dialect,
      now: () => new Date(),
      target: {
        url: `http://127.0.0.1:${(refusing.address() as AddressInfo).port}/hooks/wispanel`,
        secret: 'example',
      },
      version: 'example',
    }).pass();
  } finally {
    refusing.close();
  }
  const listed = await call('GET', '/api/v1/admin/webhooks/deliveries');
  const delivery = listed.deliveries[0].id as string;
  await call('GET', '/api/v1/admin/webhooks/deliveries/{id}', { id: delivery });
  await call('POST', '/api/v1/admin/webhooks/deliveries/{id}/redeliver', { id: delivery }, {});
} finally {
  await t.close();
}
writeFileSync(target, `${JSON.stringify(examples, null, 2)}\n`);
console.log(`wrote ${Object.keys(examples).length} operations' examples to ${target}`);

/**
 * `POST /api/v1/download/check-update` throughput and latency on one portal (SQLite) holding 60 published
 * releases across the three channels, beside `POST /api/v1/license/verify` on the same portal, same licenses,
 * same load generator, same run (verify is the other request every panel sends on a schedule).
 *
 *   npx tsx bench/portal-check-update.ts [--seconds 5] [--connections 32]
 *
 * A check-update does what production does: look the key + binding up, read the eligible releases, decide,
 * build the changelog, sign the answer (Ed25519), append an event.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PortalAdminClient } from '@wispanel/client';
import { initPortal, loadPortalConfig, startPortal } from '@wispanel/portal';
import { postLoad } from './lib/post-load';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '5' }, connections: { type: 'string', default: '32' } },
});
const SECONDS = Number(values.seconds);
const CONNECTIONS = Number(values.connections);
const LICENSES = 100;

const load = (name: string, url: string, path: string, bodies: string[], ok: string) =>
  postLoad({ name, url, path, bodies, ok, seconds: SECONDS, connections: CONNECTIONS });

const dir = mkdtempSync(join(tmpdir(), 'wispanel-bench-check-'));
try {
  const config = loadPortalConfig({ dataDir: dir, port: 0, rateLimit: 1_000_000, logLevel: 'silent' }, {});
  const init = await initPortal(config);
  const running = await startPortal(config, { logLevel: 'silent' });
  try {
    const headers = { 'x-admin-key': init.admin_key!, 'content-type': 'application/json' };
    for (let minor = 0; minor < 60; minor++) {
      const channel = minor % 3 === 0 ? 'stable' : minor % 3 === 1 ? 'beta' : 'alpha';
      const version = `1.${minor}.0${channel === 'stable' ? '' : `-${channel}.1`}`;
      const v = `${running.url}/api/v1/admin/versions`;
      await fetch(v, {
        method: 'POST',
        headers,
        body: JSON.stringify({
          version,
          channel,
          changelog: `### Changes\n${'- an improvement\n'.repeat(20)}`,
        }),
      });
      await fetch(`${v}/${version}/artifact`, {
        method: 'PUT',
        headers: { 'x-admin-key': init.admin_key!, 'content-type': 'application/octet-stream' },
        body: Buffer.alloc(1024, minor),
      });
      await fetch(`${v}/${version}/publish`, { method: 'POST', headers, body: '{}' });
    }
    const admin = new PortalAdminClient({ baseUrl: running.url, adminKey: init.admin_key! });
    const checks: string[] = [];
    const verifies: string[] = [];
    for (let i = 0; i < LICENSES; i++) {
      const { license_key: key } = await admin.issueLicense({ tier: 'pro', term_days: 365 });
      const hardware_id = i.toString(16).padStart(64, 'a');
      await fetch(`${running.url}/api/v1/license/activate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ key, hardware_id }),
      });
      const channel = ['stable', 'beta', 'alpha'][i % 3];
      checks.push(
        JSON.stringify({ key, hardware_id, current_version: '1.30.0', channel, nonce: `bench-${i}-nonce` }),
      );
      verifies.push(JSON.stringify({ key, hardware_id, nonce: `bench-${i}-nonce`, panel_version: '1.30.0' }));
    }
    const rows = [
      await load('license/verify (baseline)', running.url, '/api/v1/license/verify', verifies, '"VALID"'),
      await load(
        'download/check-update',
        running.url,
        '/api/v1/download/check-update',
        checks,
        '"update_available":true',
      ),
    ];
    const base = rows[0]!.rps;
    process.stdout.write(
      `portal on SQLite, ${CONNECTIONS} connections, ${SECONDS} s each, 60 releases, ${LICENSES} licenses, log level silent\n`,
    );
    for (const r of rows) {
      process.stdout.write(
        `${r.name.padEnd(28)} ${r.rps.toFixed(0).padStart(6)} req/s  p50 ${r.p50.toFixed(1)} ms  p99 ${r.p99.toFixed(1)} ms  errors ${r.errors}  (${(r.rps / base).toFixed(2)}x baseline)\n`,
      );
    }
  } finally {
    await running.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

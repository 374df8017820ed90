import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PortalDownloadClient } from '@wispanel/client';
import {
  parsePublicKeySet,
  type ReleasePayload,
  type UpdateCheckPayload,
  verifyDocument,
} from '@wispanel/contract';
import { tempDir } from '@wispanel/kit/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { bin, root, startPortal } from './portal-process';

/** End to end with real processes: `npx wispanel-portal release publish` on the data dir, then a running portal. */
const run = promisify(execFile);
const HW = 'f'.repeat(64);

/** Runs the command as an operator would (`npx wispanel-portal …`), or the bin directly (same code, faster). */
// biome-ignore lint/suspicious/noExplicitAny: JSON printed by the CLI, checked by the assertions
async function cli(args: string[], viaNpx = false): Promise<Record<string, any>> {
  const { stdout } = viaNpx
    ? await run('npx', ['wispanel-portal', ...args, '--json'], { cwd: root })
    : await run(process.execPath, [bin, ...args, '--json'], { cwd: root });
  return JSON.parse(stdout);
}

const cleanups: Array<() => unknown> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe('releases end to end', () => {
  it('release publish via the CLI, then check-update, token and a resumed download over HTTP', {
    timeout: 90_000,
  }, async () => {
    const dir = tempDir('wispanel-releases-e2e-');
    cleanups.push(() => dir.remove());
    const data = join(dir.path, 'portal');
    const init = await cli(['init', '--data-dir', data]);
    const artifact = join(dir.path, 'wispanel-1.5.0.tar.gz');
    const bytes = randomBytes(4 * 1024 * 1024);
    writeFileSync(artifact, bytes);
    writeFileSync(join(dir.path, 'CHANGELOG.md'), '### Fixed\n- the thing\n');
    // The portal starts while the CLI publishes into the same data dir: a running portal sees the release at once.
    const [published, issued, portal] = await Promise.all([
      cli(
        [
          'release',
          'publish',
          artifact,
          '--version',
          '1.5.0',
          '--channel',
          'stable',
          '--changelog',
          join(dir.path, 'CHANGELOG.md'),
          '--critical',
          '--data-dir',
          data,
        ],
        true,
      ),
      cli(['license', 'issue', '--data-dir', data, '--tier', 'pro', '--term-days', '30']),
      startPortal(['--data-dir', data]),
    ]);
    cleanups.push(portal.stop);
    const sha = createHash('sha256').update(bytes).digest('hex');
    expect(published.release).toMatchObject({
      version: '1.5.0',
      status: 'published',
      critical: true,
      artifact: { filename: 'wispanel-1.5.0.tar.gz', size: bytes.length, sha256: sha },
    });

    const activated = await fetch(`${portal.url}/api/v1/license/activate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ key: issued.license_key, hardware_id: HW }),
    });
    expect(((await activated.json()) as { valid: boolean }).valid).toBe(true);

    const keys = parsePublicKeySet(readFileSync(init.public_keys_file, 'utf8'));
    const client = new PortalDownloadClient({ baseUrl: `${portal.url}/api/v1` });
    const check = await client.checkUpdate({
      key: issued.license_key,
      hardware_id: HW,
      current_version: '1.4.2',
      channel: 'beta',
      nonce: 'e2e-nonce-42',
    });
    expect(check).toMatchObject({ update_available: true, latest_version: '1.5.0', critical: true });
    expect(check.changelog).toContain('- the thing');
    const answer = verifyDocument<UpdateCheckPayload>('update-check', check.signed, keys);
    expect(answer.nonce).toBe('e2e-nonce-42');
    const release = verifyDocument<ReleasePayload>('release', answer.release, keys);
    expect(release).toMatchObject({ version: '1.5.0', size: bytes.length, sha256: sha });

    const token = await client.requestToken({ key: issued.license_key, hardware_id: HW, version: '1.5.0' });
    const dest = join(dir.path, 'download.part');
    const abort = new AbortController();
    const broken = await client
      .downloadArtifact(token, dest, {
        signal: abort.signal,
        onProgress: (p) => {
          if (p.received >= 1.5 * 1024 * 1024) abort.abort();
        },
      })
      .catch((e) => e);
    expect(broken).toBeInstanceOf(Error);
    const partial = statSync(dest).size;
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(bytes.length);
    const done = await client.downloadArtifact(token, dest);
    expect(done).toMatchObject({
      httpStatus: 206,
      resumedFrom: partial,
      size: release.size,
      sha256: release.sha256,
    });
    expect(readFileSync(dest).equals(bytes)).toBe(true);

    // Yanked while the portal runs (same database): never offered again.
    const yanked = await fetch(`${portal.url}/api/v1/admin/versions/1.5.0/yank`, {
      method: 'POST',
      headers: { 'x-admin-key': init.admin_key, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(yanked.status).toBe(200);
    const after = await client.checkUpdate({
      key: issued.license_key,
      hardware_id: HW,
      current_version: '1.4.2',
      channel: 'stable',
      nonce: 'e2e-nonce-43',
    });
    expect(after).toMatchObject({ update_available: false, latest_version: '1.4.2' });
    await client.close();
  });
});

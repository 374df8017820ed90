/**
 * Artifact upload and download through a real portal process, beside plain file copies of the same file
 * measured in the same run.
 *   npx tsx bench/portal-artifact-transfer.ts [megabytes=256]
 * Upload: HTTP PUT (streamed, SHA-256, fsync, rename, sign) vs `cp`. Download: the client's GET (streamed,
 * SHA-256 on the fly) vs `cp` + `sha256sum`. Also prints the portal process's peak RSS (VmHWM) before and after,
 * which shows the artifact is never held in memory.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PortalDownloadClient } from '@wispanel/client';
import { tempDir } from '@wispanel/kit/testing';
import { request } from 'undici';

const MB = Number(process.argv[2] ?? 256);
const root = new URL('..', import.meta.url).pathname;
const bin = join(root, 'packages/portal/bin/wispanel-portal.mjs');
const HW = 'a'.repeat(64);

function cli(args: string[]): Record<string, string> {
  return JSON.parse(
    execFileSync(process.execPath, [bin, ...args, '--json'], { cwd: root, encoding: 'utf8' }),
  );
}

function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

async function start(dataDir: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [bin, 'start', '--port', '0', '--json', '--data-dir', dataDir], {
    cwd: root,
    env: { ...process.env, WISPANEL_PORTAL_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  return new Promise((resolve) => {
    child.stdout!.on('data', (d) => {
      out += d;
      try {
        resolve({ url: JSON.parse(out.slice(out.indexOf('{'), out.lastIndexOf('}') + 1)).url, child });
      } catch {
        // not complete yet
      }
    });
  });
}

function time<T>(fn: () => T): [T, number] {
  const t = performance.now();
  const r = fn();
  return [r, (performance.now() - t) / 1000];
}

async function timeAsync<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const r = await fn();
  return [r, (performance.now() - t) / 1000];
}

const dir = tempDir('wispanel-bench-artifact-');
try {
  const data = join(dir.path, 'portal');
  const init = cli(['init', '--data-dir', data]);
  const issued = cli(['license', 'issue', '--data-dir', data, '--tier', 'pro']);
  const file = join(dir.path, 'artifact.bin');
  execFileSync('sh', ['-c', `head -c ${MB * 1024 * 1024} /dev/urandom > ${file}`]);
  const size = statSync(file).size;
  const portal = await start(data);
  const pid = portal.child.pid!;
  const rssBefore = peakRssMb(pid);
  const admin = { 'x-admin-key': init.admin_key!, 'content-type': 'application/json' };
  await request(`${portal.url}/api/v1/admin/versions`, {
    method: 'POST',
    headers: admin,
    body: JSON.stringify({ version: '9.0.0' }),
  }).then((r) => r.body.dump());

  const [, cpUp] = time(() =>
    execFileSync('sh', ['-c', `cp ${file} ${dir.path}/copy.bin && sync ${dir.path}/copy.bin`]),
  );
  const [up, httpUp] = await timeAsync(async () => {
    const res = await request(`${portal.url}/api/v1/admin/versions/9.0.0/artifact`, {
      method: 'PUT',
      headers: {
        'x-admin-key': init.admin_key!,
        'content-type': 'application/octet-stream',
        'content-length': String(size),
      },
      body: createReadStream(file),
    });
    return (await res.body.json()) as { release: { artifact: { sha256: string } } };
  });
  await request(`${portal.url}/api/v1/admin/versions/9.0.0/publish`, {
    method: 'POST',
    headers: admin,
    body: '{}',
  }).then((r) => r.body.dump());
  await request(`${portal.url}/api/v1/license/activate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ key: issued.license_key, hardware_id: HW }),
  }).then((r) => r.body.dump());
  const client = new PortalDownloadClient({ baseUrl: portal.url });
  const token = await client.requestToken({ key: issued.license_key!, hardware_id: HW, version: '9.0.0' });
  const [, cpDown] = time(() =>
    execFileSync('sh', [
      '-c',
      `cp ${file} ${dir.path}/copy2.bin && sha256sum ${dir.path}/copy2.bin > /dev/null`,
    ]),
  );
  const [down, httpDown] = await timeAsync(() => client.downloadArtifact(token, join(dir.path, 'down.bin')));
  const rssAfter = peakRssMb(pid);
  await client.close();
  portal.child.kill('SIGTERM');
  if (down.sha256 !== up.release.artifact.sha256) throw new Error('downloaded bytes differ');
  const mbps = (s: number) => (MB / s).toFixed(0);
  const lines = [
    `artifact ${MB} MiB, portal on 127.0.0.1 (SQLite), same machine`,
    `upload   HTTP PUT (stream+sha256+fsync+sign) ${httpUp.toFixed(2)} s (${mbps(httpUp)} MiB/s)   baseline cp+sync ${cpUp.toFixed(2)} s (${mbps(cpUp)} MiB/s)   ratio ${(httpUp / cpUp).toFixed(2)}x`,
    `download client GET (stream+sha256)         ${httpDown.toFixed(2)} s (${mbps(httpDown)} MiB/s)   baseline cp+sha256sum ${cpDown.toFixed(2)} s (${mbps(cpDown)} MiB/s)   ratio ${(httpDown / cpDown).toFixed(2)}x`,
    `portal process peak RSS: ${rssBefore.toFixed(0)} MiB after start, ${rssAfter.toFixed(0)} MiB after upload + download of ${MB} MiB`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  dir.remove();
}

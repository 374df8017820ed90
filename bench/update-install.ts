/**
 * Download + verify + unpack of a ~100 MB release artifact by the panel's update pipeline pieces, beside
 * `curl` + `sha256sum` + `tar -x` on the same file from the same HTTPS server, measured in the same run.
 *   npx tsx bench/update-install.ts [megabytes=100] [rounds=3]
 * streamed (what the update pipeline runs since issue 14): Ed25519 check of the signed release metadata →
 *   ClientPortalDownloads.download with StreamedUnpack as its sink (bytes hashed, written to the .part file and
 *   unpacked into a private dir under staging/ as they arrive, entry-by-entry safety checks) → size/SHA-256
 *   check → install (link check by the kernel, manifest, rename to releases/<version>).
 * serial (before): PortalDownloadClient (to disk, SHA-256 on the fly) → signature → size/SHA-256 check →
 *   unpackRelease of the verified file.
 * Baseline: `curl -sk -o F URL && sha256sum F && tar -xzf F -C DIR`. Medians of `rounds` interleaved runs
 * (baseline, serial, streamed, in turn). The HTTPS server runs in a child process for all three.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PortalDownloadClient } from '@wispanel/client';
import {
  generateSigningKeyPair,
  loadSigningKey,
  parsePublicKeySet,
  type ReleasePayload,
  signDocument,
} from '@wispanel/contract';
import { ensureSelfSignedCertificate } from '@wispanel/kit';
import { tempDir } from '@wispanel/kit/testing';
import * as tar from 'tar';
import { InstallLayout } from '../packages/panel/src/modules/updates/install-layout';
import { ClientPortalDownloads } from '../packages/panel/src/modules/updates/portal-downloads';
import { unpackRelease } from '../packages/panel/src/modules/updates/release-archive';
import { StreamedUnpack } from '../packages/panel/src/modules/updates/release-stream';
import { checkArtifact, verifyRelease } from '../packages/panel/src/modules/updates/verify';

const MB = Number(process.argv[2] ?? 100);
const ROUNDS = Number(process.argv[3] ?? 3);
const VERSION = '9.9.9';

const work = tempDir('wispanel-bench-update-');
process.on('exit', () => work.remove());

// A release-shaped artifact: manifest, launcher, and ~MB of incompressible files (so the .tar.gz is ~MB too).
const src = join(work.path, 'src', `wispanel-${VERSION}`);
mkdirSync(join(src, 'bin'), { recursive: true });
mkdirSync(join(src, 'node_modules/blob'), { recursive: true });
writeFileSync(
  join(src, 'release-manifest.json'),
  JSON.stringify({ name: 'wispanel', version: VERSION, node_engine: '>=20', entry: 'bin/wispanel.mjs' }),
);
writeFileSync(join(src, 'bin/wispanel.mjs'), 'console.log("bench")\n');
for (let i = 0; i < MB; i++)
  writeFileSync(join(src, `node_modules/blob/part-${i}.bin`), randomBytes(1024 * 1024));
const artifact = join(work.path, `wispanel-${VERSION}.tar.gz`);
await tar.c({ gzip: { level: 1 }, file: artifact, cwd: join(work.path, 'src'), portable: true }, [
  `wispanel-${VERSION}`,
]);
rmSync(join(work.path, 'src'), { recursive: true, force: true });
const size = statSync(artifact).size;
const sha256 = createHash('sha256').update(readFileSync(artifact)).digest('hex');

const keyPair = generateSigningKeyPair();
const keys = parsePublicKeySet({
  keys: [
    { kid: keyPair.kid, alg: 'ed25519', public_key: keyPair.publicKeyPem, status: 'current', created_at: '' },
  ],
});
const release: ReleasePayload = {
  v: 1,
  version: VERSION,
  channel: 'stable',
  filename: `wispanel-${VERSION}.tar.gz`,
  size,
  sha256,
  critical: false,
  min_version: null,
  created_at: new Date().toISOString(),
};
const releaseDoc = signDocument('release', release, loadSigningKey(keyPair.privateKeyPem));

// One HTTPS server for all three, in its own process (the portal is another machine: it must not compete with
// the panel's event loop, nor ride on it for free while curl runs).
mkdirSync(join(work.path, 'tls'), { recursive: true });
const tls = await ensureSelfSignedCertificate(join(work.path, 'tls'));
const SERVER = `
const { createServer } = require('node:https');
const { createReadStream, readFileSync } = require('node:fs');
const [file, key, cert, size] = process.argv.slice(1);
const server = createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (_req, res) => {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
  createReadStream(file, { highWaterMark: 1 << 20 }).pipe(res);
});
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));
process.stdin.on('end', () => process.exit(0)).resume();
`;
const server = spawn(process.execPath, ['-e', SERVER, artifact, tls.keyPath, tls.certPath, String(size)], {
  stdio: ['pipe', 'pipe', 'inherit'],
});
const port = await new Promise<number>((resolve, reject) => {
  server.stdout.once('data', (d: Buffer) => resolve(Number(String(d).trim())));
  server.once('exit', (code) => reject(new Error(`bench server exited ${code}`)));
});
const url = `https://127.0.0.1:${port}/api/v1/download/artifact/${VERSION}?token=bench`;
const client = new PortalDownloadClient({ baseUrl: `https://127.0.0.1:${port}`, ca: tls.cert });

const phases = { download: [] as number[], verify: [] as number[], unpack: [] as number[] };
const portal = new ClientPortalDownloads(client);
const streamPhases = { download: [] as number[], install: [] as number[] };

/** What the update pipeline runs now: unpack while downloading, then size/SHA-256 check, then install. */
async function streamed(round: number): Promise<number> {
  const dir = join(work.path, `stream-${round}`);
  mkdirSync(dir, { recursive: true });
  const layout = new InstallLayout(join(dir, 'install'));
  layout.ensure();
  const t = performance.now();
  const meta = verifyRelease(releaseDoc, keys, VERSION); // the pipeline checks the signature before downloading
  const unpack = new StreamedUnpack(layout, VERSION, 20 * size);
  const got = await portal.download(
    { url: `/api/v1/download/artifact/${VERSION}?token=bench`, size, sha256, expires_at: '', token: 'bench' },
    join(layout.stagingDir, 'a.tar.gz'),
    { sink: () => unpack.begin() },
  );
  const t1 = performance.now();
  checkArtifact({ size: got.size, sha256: got.sha256 }, meta);
  const installed = await unpack.install();
  if (!installed) throw new Error(`streamed unpack fell back (${unpack.outcome})`);
  const t2 = performance.now();
  if (round >= 0) {
    streamPhases.download.push(t1 - t);
    streamPhases.install.push(t2 - t1);
  }
  rmSync(dir, { recursive: true, force: true });
  return t2 - t;
}

async function ours(round: number): Promise<number> {
  const dir = join(work.path, `ours-${round}`);
  mkdirSync(dir, { recursive: true });
  const t = performance.now();
  const got = await client.downloadArtifact(
    { url: `/api/v1/download/artifact/${VERSION}?token=bench`, size, sha256 },
    join(dir, 'a.tar.gz.part'),
    { resume: false },
  );
  const t1 = performance.now();
  const meta = verifyRelease(releaseDoc, keys, VERSION);
  checkArtifact({ size: got.size, sha256: got.sha256 }, meta);
  const t2 = performance.now();
  await unpackRelease(join(dir, 'a.tar.gz.part'), new InstallLayout(join(dir, 'install')), VERSION);
  const t3 = performance.now();
  if (round >= 0) {
    phases.download.push(t1 - t);
    phases.verify.push(t2 - t1);
    phases.unpack.push(t3 - t2);
  }
  rmSync(dir, { recursive: true, force: true });
  return t3 - t;
}

async function baselineAsync(round: number): Promise<number> {
  const dir = join(work.path, `base-${round}`);
  mkdirSync(join(dir, 'out'), { recursive: true });
  const file = join(dir, 'a.tar.gz');
  const t = performance.now();
  // `times` (POSIX sh builtin): its second line is the user and system CPU of the shell's children.
  const out = await new Promise<string>((resolve, reject) =>
    execFile(
      'sh',
      [
        '-c',
        `curl -sk -o "${file}" "${url}" && sha256sum "${file}" >/dev/null && tar -xzf "${file}" -C "${dir}/out" && times`,
      ],
      (err, stdout) => (err ? reject(err) : resolve(stdout)),
    ),
  );
  const ms = performance.now() - t;
  const cpu = [...(out.trim().split('\n')[1] ?? '').matchAll(/(\d+)m([\d.]+)s/g)].reduce(
    (sum, m) => sum + (Number(m[1]) * 60 + Number(m[2])) * 1000,
    0,
  );
  cpuMs.baseline.push(cpu);
  rmSync(dir, { recursive: true, force: true });
  return ms;
}

/** CPU (user + system, all threads) of this process while `fn` runs; the server is another process. */
async function withCpu(into: number[], fn: () => Promise<number>): Promise<number> {
  const c0 = process.cpuUsage();
  const ms = await fn();
  const c = process.cpuUsage(c0);
  into.push((c.user + c.system) / 1000);
  return ms;
}

const cpuMs = { baseline: [] as number[], serial: [] as number[], streamed: [] as number[] };
const oursMs: number[] = [];
const baseMs: number[] = [];
const streamMs: number[] = [];
await ours(-1); // warm-up (JIT, page cache)
await streamed(-1);
for (let i = 0; i < ROUNDS; i++) {
  baseMs.push(await baselineAsync(i));
  oursMs.push(await withCpu(cpuMs.serial, () => ours(i)));
  streamMs.push(await withCpu(cpuMs.streamed, () => streamed(i)));
}
server.stdin.end();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const o = median(oursMs);
const b = median(baseMs);
const st = median(streamMs);
const mbps = (ms: number) => (size / 1e6 / (ms / 1000)).toFixed(0);
const runs = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(', ');
console.log(
  `artifact: ${(size / 1e6).toFixed(1)} MB (${MB} x 1 MiB random files), ${ROUNDS} interleaved rounds, medians`,
);
console.log(
  `baseline curl+sha256sum+tar -x:            ${b.toFixed(0)} ms (${mbps(b)} MB/s)  runs ${runs(baseMs)}`,
);
console.log(
  `streamed (now) download+unpack, then check: ${st.toFixed(0)} ms (${mbps(st)} MB/s)  runs ${runs(streamMs)}`,
);
console.log(
  `serial (before) download, check, unpack:    ${o.toFixed(0)} ms (${mbps(o)} MB/s)  runs ${runs(oursMs)}`,
);
console.log(
  `streamed by phase: download+sha256+unpack ${median(streamPhases.download).toFixed(0)} ms, size/sha256 check+install ${median(streamPhases.install).toFixed(0)} ms`,
);
console.log(
  `serial by phase: download+sha256 ${median(phases.download).toFixed(0)} ms, signature+checks ${median(phases.verify).toFixed(1)} ms, unpack ${median(phases.unpack).toFixed(0)} ms`,
);
console.log(`ratio streamed/baseline: ${(st / b).toFixed(2)}x  (goal <= 1.00; lower is better)`);
console.log(`ratio serial/baseline:   ${(o / b).toFixed(2)}x`);
const cb = median(cpuMs.baseline);
console.log(
  `CPU (user+sys) medians: baseline ${cb.toFixed(0)} ms (curl+sha256sum+tar+gzip), streamed ${median(cpuMs.streamed).toFixed(0)} ms (${(median(cpuMs.streamed) / cb).toFixed(2)}x), serial ${median(cpuMs.serial).toFixed(0)} ms (${(median(cpuMs.serial) / cb).toFixed(2)}x); the server's CPU is in neither`,
);

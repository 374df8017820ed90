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
 * (baseline, serial, streamed, in turn). The HTTPS server runs in this process for all three (so it competes
 * with ours for the event loop, not with curl).
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
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

// One HTTPS server for both sides: streams the file (Range-capable is not needed for full downloads).
mkdirSync(join(work.path, 'tls'), { recursive: true });
const tls = await ensureSelfSignedCertificate(join(work.path, 'tls'));
const server = createServer({ key: tls.key, cert: tls.cert }, (_req, res) => {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(size) });
  createReadStream(artifact, { highWaterMark: 1 << 20 }).pipe(res);
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
const addr = server.address();
const port = typeof addr === 'object' && addr ? addr.port : 0;
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

// The baseline's curl talks to this process's server, so it runs in a child while our event loop serves.
async function baselineAsync(round: number): Promise<number> {
  const dir = join(work.path, `base-${round}`);
  mkdirSync(join(dir, 'out'), { recursive: true });
  const file = join(dir, 'a.tar.gz');
  const t = performance.now();
  await new Promise<void>((resolve, reject) =>
    execFile(
      'sh',
      [
        '-c',
        `curl -sk -o "${file}" "${url}" && sha256sum "${file}" >/dev/null && tar -xzf "${file}" -C "${dir}/out"`,
      ],
      (err) => (err ? reject(err) : resolve()),
    ),
  );
  const ms = performance.now() - t;
  rmSync(dir, { recursive: true, force: true });
  return ms;
}

const oursMs: number[] = [];
const baseMs: number[] = [];
const streamMs: number[] = [];
await ours(-1); // warm-up (JIT, page cache)
await streamed(-1);
for (let i = 0; i < ROUNDS; i++) {
  baseMs.push(await baselineAsync(i));
  oursMs.push(await ours(i));
  streamMs.push(await streamed(i));
}
server.close();
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

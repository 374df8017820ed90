// Unpacking while downloading (issue 14): the update pipeline with the real download client over real HTTPS
// (self-signed portal stand-in serving real gzipped tarballs, with Range), real Ed25519 signatures and real files.
// Only the portal's check-update/token answers are built here (signed like the portal signs them); the
// end-to-end run against the real portal is update-e2e.test.ts.
// What must hold: nothing unverified ever appears under releases/; the private unpack dir under staging/ goes
// with any failure (tampered, truncated, cancelled, too slow); a resumed download restarts the unpack from
// the bytes on disk; the stream is only an optimisation (a refused entry or a budget overrun falls back to
// unpacking the verified file, with the usual refusal).
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { join } from 'node:path';
import { constants, crc32, gunzipSync } from 'node:zlib';
import {
  type CheckUpdateRequest,
  type CheckUpdateResponse,
  type DownloadTokenResponse,
  generateSigningKeyPair,
  loadSigningKey,
  parsePublicKeySet,
  type ReleasePayload,
  signDocument,
  type UpdateCheckPayload,
} from '@wispanel/contract';
import { ensureSelfSignedCertificate } from '@wispanel/kit';
import { openFilesUnder, tempDir } from '@wispanel/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InstallLayout } from '../src/modules/updates/install-layout';
import {
  ClientPortalDownloads,
  type DownloadOptions,
  type PortalDownloads,
} from '../src/modules/updates/portal-downloads';
import { StreamedUnpack } from '../src/modules/updates/release-stream';
import { type DownloadPolicy, UpdatePipeline } from '../src/modules/updates/update-pipeline';
import { UpdateStateStore } from '../src/modules/updates/update-state';
import { goodEntries, type RawEntry, rawTarball } from './raw-tarball';

const V = '1.1.0';
const TOP = `wispanel-${V}`;
const HW = 'b'.repeat(64);
const MiB = 1024 * 1024;
const dir = tempDir('wispanel-stream-');
afterAll(() => dir.remove());

const keyPair = generateSigningKeyPair();
const signer = loadSigningKey(keyPair.privateKeyPem);
const keys = parsePublicKeySet({
  keys: [
    { kid: keyPair.kid, alg: 'ed25519', public_key: keyPair.publicKeyPem, status: 'current', created_at: '' },
  ],
});

/** A release with `files` incompressible 1 MiB files after the manifest and launcher (so it streams in chunks). */
function release(files: number, seed: Buffer[], corruptHeaderOf = -1): Buffer {
  const entries: RawEntry[] = [...goodEntries(V), { name: `${TOP}/lib/`, type: '5' }];
  for (let i = 0; i < files; i++) {
    entries.push({
      name: `${TOP}/lib/part-${i}.bin`,
      body: seed[i] as Buffer,
      badChecksum: i === corruptHeaderOf,
    });
  }
  return rawTarball(entries);
}

const FILES = 8;
const genuineBodies = Array.from({ length: FILES }, () => randomBytes(MiB));
const genuine = release(FILES, genuineBodies);
/**
 * What an attacker who can change the bytes on the way would send: the genuine archive with one byte of a
 * file changed and the gzip CRC fixed, so the gzip and the tar are valid and the size is the signed one.
 */
function forge(gz: Buffer): Buffer {
  const body = genuineBodies[FILES - 1] as Buffer;
  const needle = body.subarray(500_000, 500_064);
  const at = gz.indexOf(needle); // incompressible data is stored as is: found in the gzip stream
  if (at < 0) throw new Error('test setup: stored block not found');
  const out = Buffer.from(gz);
  out[at + 10] = (out[at + 10] as number) ^ 0xff;
  const tarBytes = gunzipSync(out.subarray(0, out.length - 8), { finishFlush: constants.Z_SYNC_FLUSH });
  out.writeUInt32LE(crc32(tarBytes), out.length - 8);
  return out;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** How the stand-in serves the next download(s). */
interface Serving {
  bytes: Buffer;
  /** Send up to here, then wait for `gate` before the rest. */
  holdAt?: number;
  gate?: Promise<void>;
  /** Drop the connection once, after this byte of the file (the resumed request is then served). */
  dropAt?: number;
  /** Drop every response after this many bytes of its body. */
  dropEvery?: number;
}

let serving: Serving = { bytes: genuine };
const ranges: string[] = [];
let server: Server;
let baseUrl = '';
let ca = '';

function serve(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) {
  const s = serving;
  const range = /^bytes=(\d+)-$/.exec(String(req.headers.range ?? ''));
  const from = range ? Number(range[1]) : 0;
  if (range) ranges.push(String(req.headers.range));
  const body = s.bytes.subarray(from);
  res.writeHead(range ? 206 : 200, {
    'content-type': 'application/octet-stream',
    'content-length': String(body.length),
    ...(range ? { 'content-range': `bytes ${from}-${s.bytes.length - 1}/${s.bytes.length}` } : {}),
  });
  const drop = s.dropEvery ?? (s.dropAt !== undefined ? s.dropAt - from : null);
  if (drop !== null && drop > 0) {
    s.dropAt = undefined;
    res.write(body.subarray(0, drop), () => setTimeout(() => req.socket.destroy(), 50));
    return;
  }
  const hold = s.holdAt !== undefined && s.gate ? s.holdAt - from : null;
  if (hold !== null && hold > 0) {
    res.write(body.subarray(0, hold));
    void s.gate?.then(() => res.end(body.subarray(hold)));
    return;
  }
  res.end(body);
}

beforeAll(async () => {
  mkdirSync(join(dir.path, 'tls'));
  const tls = await ensureSelfSignedCertificate(join(dir.path, 'tls'));
  ca = tls.cert;
  server = createServer({ key: tls.key, cert: tls.cert }, serve);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  baseUrl = `https://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

/** The portal's signed answers for the genuine artifact; the artifact itself over HTTPS by the real client. */
class Portal implements PortalDownloads {
  readonly http = ClientPortalDownloads.create({ baseUrl, ca });
  /** `signed`: the artifact the metadata describes (the genuine one unless a test signs another). */
  constructor(private readonly signed: Buffer = genuine) {}
  private releaseDoc() {
    const payload: ReleasePayload = {
      v: 1,
      version: V,
      channel: 'stable',
      filename: `${TOP}.tar.gz`,
      size: this.signed.length,
      sha256: sha(this.signed),
      critical: false,
      min_version: null,
      created_at: new Date().toISOString(),
    };
    return signDocument('release', payload, signer);
  }
  async checkUpdate(req: CheckUpdateRequest): Promise<CheckUpdateResponse> {
    const now = Date.now();
    const payload: UpdateCheckPayload = {
      v: 1,
      nonce: req.nonce,
      hardware_id: req.hardware_id,
      server_time: new Date(now).toISOString(),
      expires_at: new Date(now + 300_000).toISOString(),
      current_version: req.current_version,
      channel: req.channel,
      update_available: true,
      latest_version: V,
      release: this.releaseDoc(),
      changelog: '',
      releases: [],
      critical: false,
    };
    return {
      update_available: true,
      current_version: req.current_version,
      latest_version: V,
      changelog: '',
      critical: false,
      signed: signDocument('update-check', payload, signer),
    };
  }
  async token(): Promise<DownloadTokenResponse> {
    return {
      token: 't',
      url: `/api/v1/download/artifact/${V}?token=t`,
      expires_at: '',
      size: this.signed.length,
      sha256: sha(this.signed),
      release: this.releaseDoc(),
    };
  }
  download(token: DownloadTokenResponse, dest: string, options: DownloadOptions) {
    return this.http.download(token, dest, options);
  }
}

let n = 0;
function pipeline(policy: Partial<DownloadPolicy> = {}, signed = genuine) {
  const layout = new InstallLayout(join(dir.path, `install-${n++}`));
  layout.ensure();
  const store = new UpdateStateStore(layout.stateFile);
  const p = new UpdatePipeline({
    layout,
    store,
    portal: new Portal(signed),
    trustedKeys: () => keys,
    credentials: async () => ({ key: 'WISP-AAAA-BBBB-CCCC', hardwareId: HW }),
    currentVersion: '1.0.0',
    channel: 'stable',
    requestSwitch: () => {},
    reserveBytes: MiB,
    downloadPolicy: policy,
  });
  return { p, layout, store };
}

const unpackDirs = (layout: InstallLayout) =>
  readdirSync(layout.stagingDir).filter((x) => x.startsWith('.unpack-'));

async function until(what: string, cond: () => boolean, ms = 20_000, detail = () => ''): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what} ${detail()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The held download has unpacked its first files into the private dir under staging/ (and nothing elsewhere). */
async function unpackingWhileDownloading(layout: InstallLayout): Promise<string> {
  let seen = '';
  await until('files are unpacked under staging/ while the download is held', () => {
    const d = unpackDirs(layout)[0];
    if (d && existsSync(join(layout.stagingDir, d, 'lib/part-0.bin'))) seen = join(layout.stagingDir, d);
    return seen !== '';
  });
  return seen;
}

function gate() {
  let open = () => {};
  const promise = new Promise<void>((r) => {
    open = r;
  });
  return { promise, open };
}

describe('update download unpacks while the bytes arrive', () => {
  it('the genuine release: unpacked into a private dir under staging/ during the download, installed only after the hash check', async () => {
    const g = gate();
    serving = { bytes: genuine, holdAt: genuine.length - 4096, gate: g.promise };
    const { p, layout, store } = pipeline();
    const { done } = await p.start({ source: 'test' });
    const unpacking = await unpackingWhileDownloading(layout);
    expect((await import('node:fs')).statSync(unpacking).mode & 0o777).toBe(0o700);
    expect(readdirSync(layout.releasesDir)).toEqual([]); // nothing is visible before the hash is checked
    expect(store.read().state).toBe('downloading');
    g.open();
    await done;
    const s = store.read();
    expect(s).toMatchObject({ state: 'restarting', ready_to_switch: true, error: null });
    expect(s.progress).toMatchObject({ bytes: genuine.length, percent: 100 });
    expect(
      s.log.some((l) => l.endsWith('unpacked while downloading (verified: size, SHA-256, signature)')),
    ).toBe(true);
    expect(readdirSync(layout.releasesDir)).toEqual([V]);
    expect(
      readFileSync(join(layout.releaseDir(V), 'lib/part-7.bin')).equals(genuineBodies[7] as Buffer),
    ).toBe(true);
    expect(readdirSync(layout.stagingDir)).toEqual([]); // neither the unpack dir nor the download stays
  });

  it('a well-formed tarball of the signed size with other bytes: fully unpacked into staging/, then refused; nothing under releases/, unpack dir gone', async () => {
    const forged = forge(genuine);
    expect([forged.length, sha(forged) === sha(genuine)]).toEqual([genuine.length, false]);
    const g = gate();
    serving = { bytes: forged, holdAt: forged.length - 1024, gate: g.promise };
    const { p, layout, store } = pipeline();
    const { done } = await p.start({ source: 'test' });
    const unpacking = await unpackingWhileDownloading(layout);
    // Let it unpack everything but the archive's end: the forged release is complete in the private dir.
    await until('the last file is unpacked', () => existsSync(join(unpacking, `lib/part-${FILES - 1}.bin`)));
    expect(readdirSync(layout.releasesDir)).toEqual([]);
    g.open();
    await done;
    expect(store.read().error?.code).toBe('UPDATE_CHECKSUM_MISMATCH');
    expect(readdirSync(layout.releasesDir)).toEqual([]);
    expect(readdirSync(layout.stagingDir)).toEqual([]);
  });

  it('a corrupt entry in the middle stops the unpack at once (its dir removed while the download runs); then the hash refuses it', async () => {
    const corrupt = release(FILES, genuineBodies, 3);
    const g = gate();
    serving = { bytes: corrupt, holdAt: corrupt.length - 1024, gate: g.promise };
    const { p, layout, store } = pipeline();
    const { done } = await p.start({ source: 'test' });
    await unpackingWhileDownloading(layout);
    await until(
      'the unpack dir is removed while the download is still held',
      () => unpackDirs(layout).length === 0,
    );
    expect(store.read().state).toBe('downloading');
    expect(readdirSync(layout.releasesDir)).toEqual([]);
    g.open();
    await done;
    expect(store.read().error?.code).toMatch(/^UPDATE_(CHECKSUM|SIZE)_MISMATCH$/);
    await until(
      'no file under the install dir is held open',
      () => openFilesUnder(layout.root).length === 0,
      5000,
      () => openFilesUnder(layout.root).join(', '),
    );
    expect(readdirSync(layout.releasesDir)).toEqual([]);
    expect(readdirSync(layout.stagingDir)).toEqual([]);
  });

  it('more bytes than signed: stopped mid-stream (UPDATE_SIZE_MISMATCH) with the unpack; nothing left anywhere', async () => {
    serving = { bytes: Buffer.concat([genuine, randomBytes(MiB)]) };
    const { p, layout, store } = pipeline();
    const { done } = await p.start({ source: 'test' });
    await done;
    expect(store.read().error?.code).toBe('UPDATE_SIZE_MISMATCH');
    expect(readdirSync(layout.releasesDir)).toEqual([]);
    expect(readdirSync(layout.stagingDir)).toEqual([]);
  });

  it('a dropped connection resumes with Range; the unpack restarts from the bytes on disk and the release installs', async () => {
    ranges.length = 0;
    serving = { bytes: genuine, dropAt: Math.floor(genuine.length * 0.4) };
    const { p, layout, store } = pipeline();
    const { done } = await p.start({ source: 'test' });
    await done;
    expect(store.read()).toMatchObject({ state: 'restarting', ready_to_switch: true, error: null });
    expect(ranges).toHaveLength(1); // resumed, not downloaded again from the start
    await until(
      'no file under the install dir is held open',
      () => openFilesUnder(layout.root).length === 0,
      5000,
      () => openFilesUnder(layout.root).join(', '),
    );
    expect(store.read().log.some((l) => l.includes('unpacked while downloading'))).toBe(true);
    expect(
      readFileSync(join(layout.releaseDir(V), 'lib/part-7.bin')).equals(genuineBodies[7] as Buffer),
    ).toBe(true);
    expect(readdirSync(layout.stagingDir)).toEqual([]);
  });

  it('a download that keeps breaking fails; only the resumable partial file stays, no unpack dir, nothing under releases/', {
    timeout: 30_000,
  }, async () => {
    serving = { bytes: genuine, dropEvery: MiB };
    const { p, layout, store } = pipeline();
    const { done } = await p.start({ source: 'test' });
    await done;
    expect(store.read().error, JSON.stringify(store.read().log)).toMatchObject({
      code: 'UPDATE_DOWNLOAD_FAILED',
    });
    await until(
      'no file under the install dir is held open',
      () => openFilesUnder(layout.root).length === 0,
      5000,
      () => openFilesUnder(layout.root).join(', '),
    );
    expect(readdirSync(layout.stagingDir)).toEqual([`${TOP}.tar.gz.part`]);
    expect(readdirSync(layout.releasesDir)).toEqual([]);
  });

  it('an admin cancel during the streamed unpack: UPDATE_CANCELLED, no unpack dir, nothing under releases/', async () => {
    const g = gate();
    serving = { bytes: genuine, holdAt: genuine.length - 4096, gate: g.promise };
    const { p, layout, store } = pipeline();
    const { done } = await p.start({ source: 'test' });
    await unpackingWhileDownloading(layout);
    p.cancel();
    await done;
    g.open();
    expect(store.read().error?.code).toBe('UPDATE_CANCELLED');
    expect(unpackDirs(layout)).toEqual([]);
    await until(
      'no file under the install dir is held open',
      () => openFilesUnder(layout.root).length === 0,
      5000,
      () => openFilesUnder(layout.root).join(', '),
    );
    expect(readdirSync(layout.releasesDir)).toEqual([]);
  });

  it('a stalled download is given up (UPDATE_DOWNLOAD_TOO_SLOW): the unpack dir goes, the partial file stays to resume', async () => {
    const g = gate();
    serving = { bytes: genuine, holdAt: genuine.length - 4096, gate: g.promise };
    const { p, layout, store } = pipeline({ windowMs: 1000, minBytesPerWindow: 64 * MiB });
    const { done } = await p.start({ source: 'test' });
    await done;
    g.open();
    expect(store.read().error?.code).toBe('UPDATE_DOWNLOAD_TOO_SLOW');
    await until(
      'no file under the install dir is held open',
      () => openFilesUnder(layout.root).length === 0,
      5000,
      () => openFilesUnder(layout.root).join(', '),
    );
    expect(readdirSync(layout.stagingDir)).toEqual([`${TOP}.tar.gz.part`]);
    expect(readdirSync(layout.releasesDir)).toEqual([]);
  });

  it('a signed archive with a refused entry: the stream gives up at that entry, the verified file is refused as usual', async () => {
    const bad = rawTarball([...goodEntries(V), { name: `${TOP}/../evil.txt`, body: 'x' }]);
    serving = { bytes: bad };
    // Signed (a compromised build, not a tampered download): only the entry rules stop it.
    const { p, layout, store } = pipeline({}, bad);
    const { done } = await p.start({ source: 'test' });
    await done;
    expect(store.read().error).toMatchObject({
      code: 'UPDATE_UNSAFE_ARCHIVE',
      message: `release archive rejected: path with .. ${TOP}/../evil.txt`,
    });
    expect(store.read().log.some((l) => l.includes('streamed unpack given up: entry'))).toBe(true);
    expect(readdirSync(layout.releasesDir)).toEqual([]);
    expect(readdirSync(layout.stagingDir)).toEqual([]);
    expect(existsSync(join(layout.root, 'evil.txt')) || existsSync(join(layout.stagingDir, 'evil.txt'))).toBe(
      false,
    );
  });
});

describe('StreamedUnpack: what unverified bytes may take on disk', () => {
  it('stops at the budget (a gzip bomb in a tampered download): dir removed at once, install() falls back', async () => {
    const layout = new InstallLayout(join(dir.path, `budget-${n++}`));
    layout.ensure();
    const bomb = rawTarball([...goodEntries(V), { name: `${TOP}/zeros.bin`, body: Buffer.alloc(16 * MiB) }]);
    expect(bomb.length).toBeLessThan(MiB); // 16 MiB of zeros compress to a few KiB
    const s = new StreamedUnpack(layout, V, 4 * MiB);
    const sink = s.begin();
    for (let i = 0; i < bomb.length; i += 4096) await sink(bomb.subarray(i, i + 4096));
    expect(unpackDirs(layout)).toEqual([]); // given up before writing the big entry
    expect(await s.install()).toBeNull();
    expect(s.outcome).toBe('budget');
    expect(readdirSync(layout.releasesDir)).toEqual([]);
    expect(readdirSync(layout.stagingDir)).toEqual([]);
  });

  it('a tampered archive cannot write through its own links while unverified (link chain out of the dir, then files "inside" it)', async () => {
    const layout = new InstallLayout(join(dir.path, `links-${n++}`));
    layout.ensure();
    // Each link passes the lexical entry rule; together they lead to staging/ and to the install dir, and
    // the files after them name paths through them (the last would be releases/<v>/bin/wispanel.mjs).
    const evil = rawTarball([
      ...goodEntries(V),
      { name: `${TOP}/dot`, type: '2', link: '.' },
      { name: `${TOP}/up`, type: '2', link: 'dot/..' },
      { name: `${TOP}/up/escaped.txt`, body: 'x' },
      { name: `${TOP}/up2`, type: '2', link: 'up/..' },
      { name: `${TOP}/up2/releases/${V}/bin/wispanel.mjs`, body: 'evil' },
    ]);
    const s = new StreamedUnpack(layout, V, 64 * MiB);
    const sink = s.begin();
    for (let i = 0; i < evil.length; i += 512) await sink(evil.subarray(i, i + 512));
    expect(await s.install()).toBeNull(); // node-tar refuses to write through a link: the stream gives up
    expect(s.outcome).toBe('archive');
    expect(readdirSync(layout.stagingDir)).toEqual([]);
    expect(readdirSync(layout.releasesDir)).toEqual([]);
    expect(existsSync(join(layout.root, 'escaped.txt'))).toBe(false);
  });
});

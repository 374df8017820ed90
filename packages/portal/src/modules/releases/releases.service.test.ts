import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  generateSigningKeyPair,
  loadSigningKey,
  parsePublicKeySet,
  type ReleasePayload,
  type UpdateCheckPayload,
  verifyDocument,
} from '@wispanel/contract';
import { type Database, migrate, openDatabase } from '@wispanel/kit';
import { createTestPostgresDatabase, tempDir, testPostgresUrl } from '@wispanel/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DownloadLicense, DownloadsService } from '../downloads/downloads.service';
import { ArtifactStore } from './artifact-store';
import { releaseMigrations } from './releases.migrations';
import { ReleasesRepository, type ReleaseTables } from './releases.repository';
import { ReleasesService } from './releases.service';

const pair = generateSigningKeyPair();
const key = loadSigningKey(pair.privateKeyPem);
const trusted = parsePublicKeySet({
  keys: [{ kid: pair.kid, alg: 'ed25519', public_key: pair.publicKeyPem, status: 'current', created_at: '' }],
});
const HW = 'b'.repeat(64);
const actor = { kind: 'cli' as const, id: 'test', ip: null };

const dialects = [
  { name: 'SQLite', open: async (dir: string) => ({ url: join(dir, 'portal.db'), drop: async () => {} }) },
  ...(testPostgresUrl ? [{ name: 'PostgreSQL', open: async () => createTestPostgresDatabase() }] : []),
];

describe.each(dialects)('releases and downloads services on $name', ({ open }) => {
  const dir = tempDir();
  let database: Database<ReleaseTables>;
  let drop: () => Promise<void>;
  let releases: ReleasesService;
  let downloads: DownloadsService;
  let clock = new Date('2026-01-01T00:00:00Z');
  const licenses = new Map<string, DownloadLicense>();
  const events: string[] = [];

  beforeAll(async () => {
    const db = await open(dir.path);
    drop = db.drop;
    database = openDatabase<ReleaseTables>(db.url);
    await migrate(database, releaseMigrations);
    const repository = new ReleasesRepository(database.db);
    const store = new ArtifactStore(join(dir.path, 'artifacts'), 1024 * 1024);
    releases = new ReleasesService({ repository, store, signingKey: () => key, now: () => clock });
    downloads = new DownloadsService({
      releases: repository,
      store,
      signingKey: () => key,
      now: () => clock,
      authorize: async (k, hw) => (hw === HW ? (licenses.get(k) ?? null) : null),
      recordEvent: (e) => {
        events.push(`${e.action}:${e.resultCode}`);
      },
    });
    licenses.set('WISP-AAAA-BBBB-CCCC', { licenseId: 'l1', expiresAt: null });
  });

  afterAll(async () => {
    await database.close();
    await drop();
    dir.remove();
  });

  async function publish(
    version: string,
    body: Buffer,
    over: Parameters<ReleasesService['create']>[1] = { version },
  ) {
    await releases.create(actor, { ...over, version });
    await releases.uploadArtifact(actor, version, Readable.from([body]));
    clock = new Date(clock.getTime() + 60_000);
    return releases.publish(actor, version);
  }

  it('upload streams to disk, records size and SHA-256, and signs the release', async () => {
    const body = randomBytes(300_000);
    await releases.create(actor, { version: '1.5.0', changelog: '- faster', min_version: '1.0.0' });
    const view = await releases.uploadArtifact(
      actor,
      '1.5.0',
      Readable.from([body.subarray(0, 1000), body.subarray(1000)]),
    );
    expect(view.artifact?.size).toBe(body.length);
    expect(view.artifact?.sha256).toBe(createHash('sha256').update(body).digest('hex'));
    const payload = verifyDocument<ReleasePayload>('release', view.signed, trusted);
    expect(payload).toMatchObject({
      version: '1.5.0',
      channel: 'stable',
      size: body.length,
      min_version: '1.0.0',
    });
    expect(readFileSync(join(dir.path, 'artifacts', '1.5.0', 'wispanel-1.5.0.tar.gz')).equals(body)).toBe(
      true,
    );
    expect(readdirSync(join(dir.path, 'artifacts', '.incoming'))).toEqual([]);
    await releases.publish(actor, '1.5.0');
  });

  it('over the size cap → 413 and no file left behind', async () => {
    const stale = join(dir.path, 'artifacts', '.incoming', 'crashed.part');
    writeFileSync(stale, 'left by a killed process');
    utimesSync(stale, new Date(Date.now() - 2 * 86_400_000), new Date(Date.now() - 2 * 86_400_000));
    await releases.create(actor, { version: '1.5.1' });
    const err = await releases
      .uploadArtifact(actor, '1.5.1', Readable.from([randomBytes(1024 * 1024 + 1)]))
      .catch((e) => e);
    expect(err.code).toBe('PAYLOAD_TOO_LARGE');
    expect(readdirSync(join(dir.path, 'artifacts', '.incoming'))).toEqual([]);
    expect((await releases.get('1.5.1')).artifact).toBeNull();
    expect((await releases.publish(actor, '1.5.1').catch((e) => e)).code).toBe('CONFLICT');
  });

  it('a refused re-upload (wrong SHA-256, empty) leaves the earlier artifact in place', async () => {
    const good = randomBytes(5000);
    await releases.create(actor, { version: '1.5.2' });
    await releases.uploadArtifact(actor, '1.5.2', Readable.from([good]));
    const file = join(dir.path, 'artifacts', '1.5.2', 'wispanel-1.5.2.tar.gz');
    const wrong = await releases
      .uploadArtifact(actor, '1.5.2', Readable.from([randomBytes(5000)]), { expectedSha256: '0'.repeat(64) })
      .catch((e) => e);
    expect([wrong.code, Object.keys(wrong.details)]).toEqual(['VALIDATION_ERROR', ['sha256']]);
    const empty = await releases
      .uploadArtifact(actor, '1.5.2', Readable.from([Buffer.alloc(0)]))
      .catch((e) => e);
    expect([empty.code, empty.details]).toEqual([
      'VALIDATION_ERROR',
      { artifact: ['The artifact is empty.'] },
    ]);
    expect(readFileSync(file).equals(good)).toBe(true);
    expect(readdirSync(join(dir.path, 'artifacts', '.incoming'))).toEqual([]);
    expect((await releases.get('1.5.2')).artifact?.sha256).toBe(
      createHash('sha256').update(good).digest('hex'),
    );
  });

  it('check-update answers signed, bound to nonce and hardware id', async () => {
    const res = await downloads.checkUpdate({
      key: 'WISP-AAAA-BBBB-CCCC',
      hardware_id: HW,
      current_version: '1.4.2',
      channel: 'stable',
      nonce: 'n-123456',
    });
    expect(res).toMatchObject({ update_available: true, latest_version: '1.5.0', critical: false });
    const p = verifyDocument<UpdateCheckPayload>('update-check', res.signed, trusted);
    expect(p.nonce).toBe('n-123456');
    expect(p.hardware_id).toBe(HW);
    expect(Date.parse(p.expires_at) - Date.parse(p.server_time)).toBe(600_000);
    expect(verifyDocument<ReleasePayload>('release', p.release, trusted).version).toBe('1.5.0');
    const bad = await downloads
      .checkUpdate({
        key: 'WISP-ZZZZ-ZZZZ-ZZZZ',
        hardware_id: HW,
        current_version: '1.4.2',
        channel: 'stable',
        nonce: 'n',
      })
      .catch((e) => e);
    expect([bad.status, bad.message]).toEqual([401, 'Invalid license']);
  });

  it('tokens expire; yanked and lapsed-later releases get none', async () => {
    const body = randomBytes(5000);
    await publish('1.6.0', body);
    const t = await downloads.issueToken({ key: 'WISP-AAAA-BBBB-CCCC', hardware_id: HW, version: '1.6.0' });
    const opened = await downloads.openArtifact('1.6.0', t.token, { header: 'bytes=4000-' });
    expect(opened.status).toBe(206);
    expect(opened.headers['content-range']).toBe('bytes 4000-4999/5000');
    const chunks: Buffer[] = [];
    for await (const c of opened.body) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).equals(body.subarray(4000))).toBe(true);
    const saved = clock;
    clock = new Date(clock.getTime() + 901_000);
    expect((await downloads.openArtifact('1.6.0', t.token, {}).catch((e) => e)).code).toBe(
      'DOWNLOAD_TOKEN_EXPIRED',
    );
    clock = saved;
    // Lapsed license: term ended between 1.5.0 and 1.6.0.
    const v150 = await releases.get('1.5.0');
    const v160 = await releases.get('1.6.0');
    const mid = new Date((Date.parse(v150.published_at!) + Date.parse(v160.published_at!)) / 2).toISOString();
    licenses.set('WISP-LAPS-EDLI-CENS', { licenseId: 'l2', expiresAt: mid });
    const lapsed = { key: 'WISP-LAPS-EDLI-CENS', hardware_id: HW };
    expect((await downloads.issueToken({ ...lapsed, version: '1.6.0' }).catch((e) => e)).code).toBe(
      'LICENSE_EXPIRED',
    );
    expect((await downloads.issueToken({ ...lapsed, version: '1.5.0' })).sha256).toBe(v150.artifact?.sha256);
    const check = await downloads.checkUpdate({
      ...lapsed,
      current_version: '1.4.2',
      channel: 'stable',
      nonce: 'xyzxyzxy',
    });
    expect(check.latest_version).toBe('1.5.0');
    await releases.yank(actor, '1.6.0', 'broken');
    expect(
      (
        await downloads
          .issueToken({ key: 'WISP-AAAA-BBBB-CCCC', hardware_id: HW, version: '1.6.0' })
          .catch((e) => e)
      ).code,
    ).toBe('NOT_FOUND');
    expect((await downloads.openArtifact('1.6.0', t.token, {}).catch((e) => e)).code).toBe('NOT_FOUND');
    expect(events).toContain('download.token:LICENSE_EXPIRED');
  });
});

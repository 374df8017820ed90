import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PortalDownloadClient } from '@wispanel/client';
import {
  type CheckUpdateResponse,
  type DownloadTokenResponse,
  parsePublicKeySet,
  type ReleasePayload,
  type UpdateCheckPayload,
  verifyDocument,
} from '@wispanel/contract';
import { testPostgresUrl } from '@wispanel/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPortal, type TestDialect, type TestPortal } from '../../testing';

const dialects: TestDialect[] = testPostgresUrl ? ['sqlite', 'postgres'] : ['sqlite'];
const HW = 'c'.repeat(64);
const HW2 = 'd'.repeat(64);
const DAY = 86_400_000;

describe.each(dialects)('releases admin API and download API on %s', (dialect) => {
  let portal: TestPortal;
  let now = Date.parse('2026-03-01T00:00:00Z');
  const artifacts = new Map<string, Buffer>();
  let key = '';
  let trusted: ReturnType<typeof parsePublicKeySet>;

  const admin = (method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', url: string, body?: unknown) =>
    portal.app.inject({
      method,
      url,
      headers: { 'x-admin-key': portal.adminKey },
      ...(body === undefined ? {} : { payload: body as object }),
    });
  const post = (url: string, body: unknown) =>
    portal.app.inject({ method: 'POST', url, payload: body as object });
  const upload = (version: string, bytes: Buffer, headers: Record<string, string> = {}) =>
    portal.app.inject({
      method: 'PUT',
      url: `/api/v1/admin/versions/${version}/artifact`,
      headers: { 'x-admin-key': portal.adminKey, 'content-type': 'application/octet-stream', ...headers },
      payload: bytes,
    });

  async function release(version: string, fields: Record<string, unknown> = {}, size = 20_000) {
    expect(
      (await admin('POST', '/api/v1/admin/versions', { version, changelog: `- ${version}`, ...fields }))
        .statusCode,
    ).toBe(201);
    const bytes = randomBytes(size);
    artifacts.set(version, bytes);
    expect((await upload(version, bytes)).statusCode).toBe(200);
    now += 60_000;
    const res = await admin('POST', `/api/v1/admin/versions/${version}/publish`);
    expect(res.statusCode).toBe(200);
    return res.json().release;
  }

  async function issue(body: Record<string, unknown> = {}): Promise<{ key: string; id: string }> {
    const res = await admin('POST', '/api/v1/admin/licenses', { tier: 'pro', max_activations: 2, ...body });
    expect(res.statusCode).toBe(201);
    return { key: res.json().license_key, id: res.json().license.id };
  }
  async function activate(k: string, hw: string) {
    const res = await post('/api/v1/license/activate', { key: k, hardware_id: hw });
    expect(res.json().valid).toBe(true);
  }
  const check = (over: Record<string, unknown> = {}) =>
    post('/api/v1/download/check-update', {
      key,
      hardware_id: HW,
      current_version: '1.4.2',
      channel: 'stable',
      nonce: 'nonce-0001',
      ...over,
    });
  const token = async (version: string, k = key, hw = HW) =>
    post('/api/v1/download/token', { key: k, hardware_id: hw, version });

  beforeAll(async () => {
    portal = await createTestPortal(dialect, { clock: () => new Date(now) });
    trusted = parsePublicKeySet((await portal.app.inject({ method: 'GET', url: '/api/v1/keys' })).json());
    const lic = await issue();
    key = lic.key;
    await activate(key, HW);
  });
  afterAll(async () => {
    await portal?.close();
  });

  it('admin routes need X-Admin-Key', async () => {
    for (const [method, url] of [
      ['GET', '/api/v1/admin/versions'],
      ['POST', '/api/v1/admin/versions'],
      ['GET', '/api/v1/admin/versions/1.0.0'],
      ['PATCH', '/api/v1/admin/versions/1.0.0'],
      ['DELETE', '/api/v1/admin/versions/1.0.0'],
      ['PUT', '/api/v1/admin/versions/1.0.0/artifact'],
      ['POST', '/api/v1/admin/versions/1.0.0/publish'],
      ['POST', '/api/v1/admin/versions/1.0.0/yank'],
    ] as const) {
      const res = await portal.app.inject({ method, url, headers: { 'x-admin-key': 'nope' } });
      expect([url, res.statusCode, res.json()]).toEqual([
        url,
        401,
        { success: false, error: 'Invalid or missing API key', code: 'UNAUTHORIZED' },
      ]);
    }
  });

  it('create validates in the documented envelope; duplicates 409; unknown 404', async () => {
    const missing = await admin('POST', '/api/v1/admin/versions', {});
    expect(missing.statusCode).toBe(422);
    expect(missing.json()).toEqual({
      success: false,
      error: 'Validation failed',
      code: 'VALIDATION_ERROR',
      details: { version: ['The version field is required.'] },
    });
    const bad = await admin('POST', '/api/v1/admin/versions', {
      version: 'v1',
      channel: 'nightly',
      critical: 'yes',
      min_version: '1.x',
      bogus: 1,
    });
    expect(bad.statusCode).toBe(422);
    expect(Object.keys(bad.json().details).sort()).toEqual([
      'bogus',
      'channel',
      'critical',
      'min_version',
      'version',
    ]);
    expect(bad.json().details.version).toEqual([
      'The version field must be a semantic version such as 1.4.2 or 1.5.0-beta.1.',
    ]);
    const newerMin = await admin('POST', '/api/v1/admin/versions', {
      version: '1.0.0',
      min_version: '2.0.0',
    });
    expect([newerMin.statusCode, Object.keys(newerMin.json().details)]).toEqual([422, ['min_version']]);
    expect((await admin('POST', '/api/v1/admin/versions', { version: '0.9.0' })).statusCode).toBe(201);
    const dup = await admin('POST', '/api/v1/admin/versions', { version: '0.9.0' });
    expect([dup.statusCode, dup.json().code]).toEqual([409, 'CONFLICT']);
    for (const v of ['9.9.9', 'not-a-version']) {
      const nf = await admin('GET', `/api/v1/admin/versions/${v}`);
      expect([nf.statusCode, nf.json()]).toEqual([
        404,
        { success: false, error: 'Version not found', code: 'NOT_FOUND' },
      ]);
    }
    const noArtifact = await admin('POST', '/api/v1/admin/versions/0.9.0/publish');
    expect([noArtifact.statusCode, noArtifact.json().code]).toEqual([409, 'CONFLICT']);
    expect((await admin('DELETE', '/api/v1/admin/versions/0.9.0')).statusCode).toBe(200);
    expect((await admin('GET', '/api/v1/admin/versions/0.9.0')).statusCode).toBe(404);
  });

  it('upload streams the artifact, records size + SHA-256 and signs the release metadata', async () => {
    await admin('POST', '/api/v1/admin/versions', {
      version: '1.5.0',
      changelog: '## Faster\n- all of it',
      min_version: '1.0.0',
    });
    const json = await portal.app.inject({
      method: 'PUT',
      url: '/api/v1/admin/versions/1.5.0/artifact',
      headers: { 'x-admin-key': portal.adminKey, 'content-type': 'application/json' },
      payload: '{}',
    });
    expect([json.statusCode, json.json().code]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
    const bytes = randomBytes(200_000);
    const wrongSha = await upload('1.5.0', bytes, { 'x-artifact-sha256': '0'.repeat(64) });
    expect([wrongSha.statusCode, Object.keys(wrongSha.json().details)]).toEqual([422, ['sha256']]);
    const sha = createHash('sha256').update(bytes).digest('hex');
    const res = await upload('1.5.0', bytes, { 'x-artifact-sha256': sha });
    expect(res.statusCode).toBe(200);
    const rel = res.json().release;
    expect(rel.artifact).toMatchObject({
      filename: 'wispanel-1.5.0.tar.gz',
      size: bytes.length,
      sha256: sha,
    });
    const payload = verifyDocument<ReleasePayload>('release', rel.signed, trusted);
    expect(payload).toMatchObject({
      v: 1,
      version: '1.5.0',
      channel: 'stable',
      size: bytes.length,
      sha256: sha,
      critical: false,
      min_version: '1.0.0',
    });
    expect(
      readFileSync(join(portal.config.artifactDir, '1.5.0', 'wispanel-1.5.0.tar.gz')).equals(bytes),
    ).toBe(true);
    artifacts.set('1.5.0', bytes);
    now += 60_000;
    const pub = await admin('POST', '/api/v1/admin/versions/1.5.0/publish');
    expect(pub.json().release.status).toBe('published');
    const frozen = await admin('PATCH', '/api/v1/admin/versions/1.5.0', { critical: true });
    expect(frozen.statusCode).toBe(409);
    const edited = await admin('PATCH', '/api/v1/admin/versions/1.5.0', {
      changelog: '## Faster\n- all of it, really',
    });
    expect(edited.json().release.changelog).toContain('really');
    const reupload = await upload('1.5.0', randomBytes(10));
    expect(reupload.statusCode).toBe(409);
  });

  it('check-update: signed, bound to nonce and hardware id, short-lived', async () => {
    const res = await check({ nonce: 'nonce-abcdef' });
    expect(res.statusCode).toBe(200);
    const body = res.json() as CheckUpdateResponse;
    expect(body).toMatchObject({
      update_available: true,
      current_version: '1.4.2',
      latest_version: '1.5.0',
      critical: false,
    });
    expect(body.changelog).toContain('## WisPanel 1.5.0');
    expect(body.changelog).toContain('really');
    const p = verifyDocument<UpdateCheckPayload>('update-check', body.signed, trusted);
    expect(p).toMatchObject({
      nonce: 'nonce-abcdef',
      hardware_id: HW,
      latest_version: '1.5.0',
      server_time: new Date(now).toISOString(),
    });
    expect(Date.parse(p.expires_at) - now).toBe(600_000);
    expect(verifyDocument<ReleasePayload>('release', p.release, trusted).sha256).toBe(
      createHash('sha256').update(artifacts.get('1.5.0')!).digest('hex'),
    );
    const upToDate = (await check({ current_version: '1.5.0' })).json();
    expect(upToDate).toMatchObject({ update_available: false, latest_version: '1.5.0' });
    expect(verifyDocument<UpdateCheckPayload>('update-check', upToDate.signed, trusted).release).toBeNull();
  });

  it('channels are cumulative, min_version gates, yanked releases are never offered', async () => {
    await release('1.6.0-beta.1', { channel: 'beta' });
    await release('1.7.0-alpha.1', { channel: 'alpha' });
    expect((await check()).json().latest_version).toBe('1.5.0');
    expect((await check({ channel: 'beta' })).json().latest_version).toBe('1.6.0-beta.1');
    expect((await check({ channel: 'alpha' })).json().latest_version).toBe('1.7.0-alpha.1');
    await release('2.0.0', { min_version: '1.5.0', critical: true });
    expect((await check()).json()).toMatchObject({ latest_version: '1.5.0', critical: false });
    expect((await check({ current_version: '1.5.0' })).json()).toMatchObject({
      latest_version: '2.0.0',
      critical: true,
    });
    const list = (await admin('GET', '/api/v1/admin/versions?channel=beta')).json().releases;
    expect(list.map((r: { version: string }) => r.version)).toEqual(['1.6.0-beta.1']);
    const yank = await admin('POST', '/api/v1/admin/versions/2.0.0/yank', { reason: 'breaks mail' });
    expect(yank.json().release).toMatchObject({ status: 'yanked', yank_reason: 'breaks mail' });
    expect((await check({ current_version: '1.5.0' })).json()).toMatchObject({
      update_available: false,
      latest_version: '1.5.0',
    });
    expect((await token('2.0.0')).statusCode).toBe(404);
    const yanked = (await admin('GET', '/api/v1/admin/versions?status=yanked')).json().releases;
    expect(yanked.map((r: { version: string }) => r.version)).toEqual(['2.0.0']);
  });

  it('token → artifact: full, Range 206, resume is byte-identical, 416, token errors 401', async () => {
    const t = await token('1.5.0');
    expect(t.statusCode).toBe(200);
    const tok = t.json() as DownloadTokenResponse;
    const bytes = artifacts.get('1.5.0')!;
    expect(tok).toMatchObject({
      size: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
    });
    expect(Date.parse(tok.expires_at) - now).toBe(900_000);
    expect(verifyDocument<ReleasePayload>('release', tok.release, trusted).version).toBe('1.5.0');
    const full = await portal.app.inject({ method: 'GET', url: tok.url });
    expect(full.statusCode).toBe(200);
    expect(full.headers['content-length']).toBe(String(bytes.length));
    expect(full.headers['accept-ranges']).toBe('bytes');
    expect(full.rawPayload.equals(bytes)).toBe(true);
    const first = await portal.app.inject({
      method: 'GET',
      url: tok.url,
      headers: { range: 'bytes=0-65535' },
    });
    const rest = await portal.app.inject({ method: 'GET', url: tok.url, headers: { range: 'bytes=65536-' } });
    expect([first.statusCode, rest.statusCode]).toEqual([206, 206]);
    expect(rest.headers['content-range']).toBe(`bytes 65536-${bytes.length - 1}/${bytes.length}`);
    expect(Buffer.concat([first.rawPayload, rest.rawPayload]).equals(bytes)).toBe(true);
    const head = await portal.app.inject({ method: 'HEAD', url: tok.url });
    expect([head.statusCode, head.headers['content-length'], head.rawPayload.length]).toEqual([
      200,
      String(bytes.length),
      0,
    ]);
    // Another portal instance on the same database and keys accepts the token (nothing stored per token).
    const second = await portal.secondInstance();
    const elsewhere = await second.inject({ method: 'GET', url: tok.url, headers: { range: 'bytes=-100' } });
    expect([elsewhere.statusCode, elsewhere.rawPayload.equals(bytes.subarray(-100))]).toEqual([206, true]);
    const stale = await portal.app.inject({
      method: 'GET',
      url: tok.url,
      headers: { range: 'bytes=10-', 'if-range': '"other"' },
    });
    expect(stale.statusCode).toBe(200);
    const bad = await portal.app.inject({
      method: 'GET',
      url: tok.url,
      headers: { range: `bytes=${bytes.length}-` },
    });
    expect([bad.statusCode, bad.headers['content-range'], bad.json().code]).toEqual([
      416,
      `bytes */${bytes.length}`,
      'RANGE_NOT_SATISFIABLE',
    ]);
    // A junk Range header is not echoed back (nor into the event log) at full length.
    const junk = await portal.app.inject({
      method: 'GET',
      url: tok.url,
      headers: { range: 'x'.repeat(4000) },
    });
    expect([junk.statusCode, junk.json().error.length < 200]).toEqual([416, true]);
    const other = await portal.app.inject({
      method: 'GET',
      url: tok.url.replace('/1.5.0?', '/1.6.0-beta.1?'),
    });
    expect([other.statusCode, other.json()]).toEqual([401, { error: 'Invalid download token' }]);
    const forged = await portal.app.inject({ method: 'GET', url: `${tok.url.slice(0, -4)}AAAA` });
    expect(forged.statusCode).toBe(401);
    const missing = await portal.app.inject({ method: 'GET', url: '/api/v1/download/artifact/1.5.0' });
    expect([missing.statusCode, missing.json().details]).toEqual([
      422,
      { token: ['The token field is required.'] },
    ]);
    now += 15 * 60_000 + 1000;
    const expired = await portal.app.inject({ method: 'GET', url: tok.url });
    expect([expired.statusCode, expired.json()]).toEqual([
      401,
      { error: 'Download token expired: request a new one' },
    ]);
  });

  it('a token stops working as soon as its license is revoked, suspended or the server deactivated', async () => {
    for (const action of ['revoke', 'suspend', 'deactivate'] as const) {
      const lic = await issue();
      await activate(lic.key, HW);
      const t = await token('1.5.0', lic.key);
      expect(t.statusCode).toBe(200);
      const url = (t.json() as DownloadTokenResponse).url;
      expect((await portal.app.inject({ method: 'GET', url })).statusCode).toBe(200);
      if (action === 'deactivate')
        expect((await post('/api/v1/license/deactivate', { key: lic.key, hardware_id: HW })).statusCode).toBe(
          200,
        );
      else
        expect((await admin('POST', `/api/v1/admin/licenses/${lic.id}/${action}`, {})).statusCode).toBe(200);
      // the token has not expired (15 min), but its license no longer allows downloads
      const after = await portal.app.inject({ method: 'GET', url });
      expect([action, after.statusCode, after.json()]).toEqual([action, 401, { error: 'Invalid license' }]);
    }
  });

  it('bad, unknown, not-activated, suspended and revoked licenses get exactly 401 Invalid license', async () => {
    const inactive = await issue();
    const suspended = await issue();
    await activate(suspended.key, HW);
    await admin('POST', `/api/v1/admin/licenses/${suspended.id}/suspend`, {});
    const revoked = await issue();
    await activate(revoked.key, HW);
    await admin('POST', `/api/v1/admin/licenses/${revoked.id}/revoke`, {});
    for (const [k, hw] of [
      ['WISP-2222-3333-4444', HW],
      ['not a key', HW],
      [key, HW2],
      [inactive.key, HW],
      [suspended.key, HW],
      [revoked.key, HW],
    ] as const) {
      for (const res of [await check({ key: k, hardware_id: hw }), await token('1.5.0', k, hw)]) {
        expect([res.statusCode, res.json()]).toEqual([401, { error: 'Invalid license' }]);
      }
    }
  });

  it('bad input is a 422 naming the field, never a 500', async () => {
    const cases: Array<[string, unknown, string]> = [
      [
        '/api/v1/download/check-update',
        { key, current_version: '1.4.2', channel: 'stable', nonce: 'nonce-0001' },
        'hardware_id',
      ],
      [
        '/api/v1/download/check-update',
        { key, hardware_id: 'abc', current_version: '1.4.2', channel: 'stable', nonce: 'nonce-0001' },
        'hardware_id',
      ],
      [
        '/api/v1/download/check-update',
        { key, hardware_id: HW, current_version: 'latest', channel: 'stable', nonce: 'nonce-0001' },
        'current_version',
      ],
      [
        '/api/v1/download/check-update',
        { key, hardware_id: HW, current_version: '1.4.2', channel: 'nightly', nonce: 'nonce-0001' },
        'channel',
      ],
      [
        '/api/v1/download/check-update',
        { key, hardware_id: HW, current_version: '1.4.2', channel: 'stable' },
        'nonce',
      ],
      [
        '/api/v1/download/check-update',
        { key, hardware_id: HW, current_version: '1.4.2', channel: 'stable', nonce: 'x' },
        'nonce',
      ],
      [
        '/api/v1/download/check-update',
        { key: 5, hardware_id: HW, current_version: '1.4.2', channel: 'stable', nonce: 'nonce-0001' },
        'key',
      ],
      ['/api/v1/download/token', { key, hardware_id: HW }, 'version'],
      ['/api/v1/download/token', { key, hardware_id: HW, version: '1.5' }, 'version'],
      ['/api/v1/download/token', { key, hardware_id: HW, version: '1.5.0', extra: true }, 'extra'],
    ];
    for (const [url, body, field] of cases) {
      const res = await post(url, body);
      expect([url, field, res.statusCode]).toEqual([url, field, 422]);
      expect(Object.keys(res.json().details)).toContain(field);
    }
    for (const payload of ['{not json', '[]', '"x"']) {
      const res = await portal.app.inject({
        method: 'POST',
        url: '/api/v1/download/check-update',
        headers: { 'content-type': 'application/json' },
        payload,
      });
      expect(res.statusCode).toBeGreaterThanOrEqual(400);
      expect(res.statusCode).toBeLessThan(500);
    }
    const empty = await portal.app.inject({ method: 'POST', url: '/api/v1/download/token' });
    expect([empty.statusCode, Object.keys(empty.json().details).sort()]).toEqual([
      422,
      ['hardware_id', 'key', 'version'],
    ]);
  });

  it('a lapsed license keeps releases published during its term, not later ones', async () => {
    const lapsing = await issue({ term_days: 30 });
    await activate(lapsing.key, HW);
    now += 20 * DAY;
    await release('1.8.0');
    now += 20 * DAY; // the term ended 10 days ago
    await release('1.9.0');
    const answer = (await check({ key: lapsing.key, current_version: '1.5.0' })).json();
    expect(answer).toMatchObject({ update_available: true, latest_version: '1.8.0' });
    expect((await token('1.9.0', lapsing.key)).json()).toEqual({
      error: expect.stringContaining('1.9.0'),
      code: 'LICENSE_EXPIRED',
    });
    expect((await token('1.8.0', lapsing.key)).statusCode).toBe(200);
    expect((await check({ current_version: '1.5.0' })).json().latest_version).toBe('1.9.0');
  });

  it('every check-update, token and download lands in the event log', async () => {
    const events = await portal.services.events.list({ limit: 500 });
    const actions = new Set(events.map((e) => `${e.action}:${e.result_code}`));
    for (const a of [
      'download.check_update:OK',
      'download.check_update:INVALID_LICENSE',
      'download.token:OK',
      'download.token:LICENSE_EXPIRED',
      'download.artifact:OK',
      'download.artifact:RANGE_NOT_SATISFIABLE',
      'download.artifact:TOKEN_EXPIRED',
      'release.published',
    ]) {
      expect([...actions].some((x) => x.startsWith(a))).toBe(true);
    }
  });

  it.runIf(dialect === 'sqlite')(
    'the download client resumes an interrupted download over real HTTP',
    async () => {
      await portal.app.listen({ host: '127.0.0.1', port: 0 });
      const address = portal.app.server.address() as { port: number };
      const client = new PortalDownloadClient({ baseUrl: `http://127.0.0.1:${address.port}/api/v1` });
      const big = randomBytes(3 * 1024 * 1024);
      await admin('POST', '/api/v1/admin/versions', { version: '3.0.0' });
      await upload('3.0.0', big);
      await admin('POST', '/api/v1/admin/versions/3.0.0/publish');
      const check = await client.checkUpdate({
        key,
        hardware_id: HW,
        current_version: '1.9.0',
        channel: 'stable',
        nonce: 'nonce-client',
      });
      expect(check.latest_version).toBe('3.0.0');
      const tok = await client.requestToken({ key, hardware_id: HW, version: '3.0.0' });
      const dest = join(portal.config.dataDir, 'download.part');
      const abort = new AbortController();
      const first = await client
        .downloadArtifact(tok, dest, {
          signal: abort.signal,
          onProgress: (p) => {
            if (p.received > 1024 * 1024) abort.abort();
          },
        })
        .catch((e) => e);
      expect(first).toBeInstanceOf(Error);
      const partial = statSync(dest).size;
      expect(partial).toBeGreaterThan(0);
      expect(partial).toBeLessThan(big.length);
      const done = await client.downloadArtifact(tok, dest);
      expect(done).toMatchObject({ httpStatus: 206, resumedFrom: partial, size: big.length });
      expect(done.sha256).toBe(tok.sha256);
      expect(readFileSync(dest).equals(big)).toBe(true);
      const again = await client.downloadArtifact(tok, dest);
      expect(again.httpStatus).toBe(416);
      expect(again.sha256).toBe(tok.sha256);
      now += 15 * 60_000 + 1000;
      writeFileSync(dest, randomBytes(10));
      const expired = await client.downloadArtifact(tok, dest).catch((e) => e);
      expect([expired.status, expired.code]).toEqual([401, 'DOWNLOAD_TOKEN_EXPIRED']);
      // With renewToken the client asks for a new token once and resumes from the bytes on disk.
      writeFileSync(dest, big.subarray(0, 1000));
      const renewed = await client.downloadArtifact(tok, dest, {
        renewToken: () => client.requestToken({ key, hardware_id: HW, version: '3.0.0' }),
      });
      expect(renewed).toMatchObject({ httpStatus: 206, resumedFrom: 1000, sha256: tok.sha256 });
      const bad = await client
        .requestToken({ key: 'WISP-2222-3333-4444', hardware_id: HW, version: '3.0.0' })
        .catch((e) => e);
      expect([bad.status, bad.code, bad.message]).toEqual([401, 'INVALID_LICENSE', 'Invalid license']);
      await client.close();
    },
  );
});

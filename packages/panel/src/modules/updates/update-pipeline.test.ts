import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type CheckUpdateRequest,
  type CheckUpdateResponse,
  type DownloadTokenResponse,
  generateSigningKeyPair,
  loadSigningKey,
  parsePublicKeySet,
  type ReleasePayload,
  type SigningKey,
  signDocument,
  type UpdateCheckPayload,
} from '@wispanel/contract';
import { tempDir } from '@wispanel/kit/testing';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InstallLayout } from './install-layout';
import type { PortalDownloads } from './portal-downloads';
import { UpdatePipeline } from './update-pipeline';
import { UpdateStateStore } from './update-state';

/**
 * The panel half of the pipeline against a portal stand-in that signs with real Ed25519 keys and serves a real
 * release tarball; each way the metadata or the artifact can be wrong is refused with its own code.
 */
const HW = 'a'.repeat(64);
const dir = tempDir('wispanel-pipeline-');
afterAll(() => dir.remove());

function keySet(...keys: Array<ReturnType<typeof generateSigningKeyPair>>) {
  return parsePublicKeySet({
    keys: keys.map((k) => ({
      kid: k.kid,
      alg: 'ed25519',
      public_key: k.publicKeyPem,
      status: 'current',
      created_at: '',
    })),
  });
}

const trusted = generateSigningKeyPair();
const rogue = generateSigningKeyPair();
const signer: SigningKey = loadSigningKey(trusted.privateKeyPem);
const rogueSigner: SigningKey = loadSigningKey(rogue.privateKeyPem);

async function makeTarball(version: string): Promise<{ file: string; size: number; sha256: string }> {
  const src = join(dir.path, `src-${version}`);
  const top = join(src, `wispanel-${version}`);
  mkdirSync(join(top, 'bin'), { recursive: true });
  writeFileSync(
    join(top, 'release-manifest.json'),
    JSON.stringify({ name: 'wispanel', version, node_engine: '>=20', entry: 'bin/wispanel.mjs' }),
  );
  writeFileSync(
    join(top, 'bin/wispanel.mjs'),
    `console.log(${JSON.stringify(version)})\n${randomBytes(2048).toString('hex')}`,
  );
  const file = join(dir.path, `wispanel-${version}.tar.gz`);
  await tar.c({ gzip: true, file, cwd: src, portable: true }, [`wispanel-${version}`]);
  const bytes = readFileSync(file);
  return { file, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
}

interface Tweaks {
  releaseSigner?: SigningKey;
  answerSigner?: SigningKey;
  nonce?: string;
  hardwareId?: string;
  expiresInMs?: number;
  tamperArtifact?: boolean;
  latest?: string;
}

class StandInPortal implements PortalDownloads {
  tweaks: Tweaks = {};
  artifacts = new Map<string, { file: string; size: number; sha256: string }>();

  releaseDoc(version: string) {
    const a = this.artifacts.get(version)!;
    const payload: ReleasePayload = {
      v: 1,
      version,
      channel: 'stable',
      filename: `wispanel-${version}.tar.gz`,
      size: a.size,
      sha256: a.sha256,
      critical: false,
      min_version: null,
      created_at: new Date().toISOString(),
    };
    return signDocument('release', payload, this.tweaks.releaseSigner ?? signer);
  }

  async checkUpdate(req: CheckUpdateRequest): Promise<CheckUpdateResponse> {
    const latest = this.tweaks.latest ?? [...this.artifacts.keys()].sort().pop()!;
    const now = Date.now();
    const payload: UpdateCheckPayload = {
      v: 1,
      nonce: this.tweaks.nonce ?? req.nonce,
      hardware_id: this.tweaks.hardwareId ?? req.hardware_id,
      server_time: new Date(now).toISOString(),
      expires_at: new Date(now + (this.tweaks.expiresInMs ?? 300_000)).toISOString(),
      current_version: req.current_version,
      channel: req.channel,
      update_available: true,
      latest_version: latest,
      release: this.releaseDoc(latest),
      changelog: `## WisPanel ${latest}`,
      releases: [],
      critical: false,
    };
    return {
      update_available: true,
      current_version: req.current_version,
      latest_version: latest,
      changelog: payload.changelog,
      critical: false,
      signed: signDocument('update-check', payload, this.tweaks.answerSigner ?? signer),
    };
  }

  async token(req: { version: string }): Promise<DownloadTokenResponse> {
    const a = this.artifacts.get(req.version)!;
    return {
      token: 't',
      url: `/a/${req.version}`,
      expires_at: '',
      size: a.size,
      sha256: a.sha256,
      release: this.releaseDoc(req.version),
    };
  }

  async download(token: DownloadTokenResponse, dest: string) {
    const version = token.url.split('/').pop()!;
    const a = this.artifacts.get(version)!;
    copyFileSync(a.file, dest);
    if (this.tweaks.tamperArtifact) {
      const bytes = readFileSync(dest);
      bytes.writeUInt8(bytes.readUInt8(bytes.length - 10) ^ 0xff, bytes.length - 10);
      writeFileSync(dest, bytes);
    }
    const bytes = readFileSync(dest);
    return { size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
  }
}

const portal = new StandInPortal();
beforeAll(async () => {
  for (const v of ['1.0.0', '1.1.0', '0.9.0']) portal.artifacts.set(v, await makeTarball(v));
});

function pipeline(name: string, options: { now?: () => Date } = {}) {
  const layout = new InstallLayout(join(dir.path, name));
  layout.ensure();
  const store = new UpdateStateStore(layout.stateFile);
  let switched = 0;
  const p = new UpdatePipeline({
    layout,
    store,
    portal,
    trustedKeys: () => keySet(trusted),
    credentials: async () => ({ key: 'WISP-AAAA-BBBB-CCCC', hardwareId: HW }),
    currentVersion: '1.0.0',
    channel: 'stable',
    clock: options.now,
    requestSwitch: () => {
      switched++;
    },
  });
  return { p, layout, store, switches: () => switched };
}

async function outcome(name: string, tweaks: Tweaks, version?: string, allowDowngrade = false) {
  portal.tweaks = tweaks;
  const { p, store } = pipeline(name);
  try {
    const { done } = await p.start({ source: 'test', version, allowDowngrade });
    await done;
    return store.read().error?.code ?? store.read().state;
  } catch (err) {
    return (err as { code: string }).code;
  } finally {
    portal.tweaks = {};
  }
}

describe('UpdatePipeline', () => {
  it('prepares a verified release and hands it to the supervisor', async () => {
    const { p, layout, store, switches } = pipeline('happy');
    const { job, done } = await p.start({ source: 'test' });
    expect(job).toMatchObject({ state: 'checking', from_version: '1.0.0', to_version: '1.1.0' });
    await done;
    const s = store.read();
    expect(s).toMatchObject({ state: 'restarting', ready_to_switch: true, to_version: '1.1.0', error: null });
    expect(s.progress).toMatchObject({ percent: 100 });
    expect(layout.hasRelease('1.1.0')).toBe(true);
    expect(switches()).toBe(1);
    // One update at a time.
    await expect(p.start({ source: 'test' })).rejects.toMatchObject({ code: 'UPDATE_IN_PROGRESS' });
  });

  it('refuses each bad answer or artifact with its own code', async () => {
    const codes = {
      tampered: await outcome('tampered', { tamperArtifact: true }),
      badReleaseSignature: await outcome('bad-release', {
        releaseSigner: { ...rogueSigner, kid: signer.kid },
      }),
      badAnswerSignature: await outcome('bad-answer', { answerSigner: { ...rogueSigner, kid: signer.kid } }),
      unknownKey: await outcome('unknown', { answerSigner: rogueSigner }),
      replayed: await outcome('replayed', { nonce: 'f'.repeat(32) }),
      otherServer: await outcome('other-hw', { hardwareId: 'b'.repeat(64) }),
      expired: await outcome('expired', { expiresInMs: -1000 }),
      older: await outcome('older', {}, '0.9.0'),
      same: await outcome('same', {}, '1.0.0'),
    };
    expect(codes).toEqual({
      tampered: 'UPDATE_CHECKSUM_MISMATCH',
      badReleaseSignature: 'UPDATE_BAD_SIGNATURE',
      badAnswerSignature: 'UPDATE_BAD_SIGNATURE',
      unknownKey: 'UPDATE_UNKNOWN_KEY',
      replayed: 'UPDATE_REPLAYED_ANSWER',
      otherServer: 'UPDATE_HARDWARE_MISMATCH',
      expired: 'UPDATE_STALE_METADATA',
      older: 'UPDATE_DOWNGRADE_REFUSED',
      same: 'UPDATE_DOWNGRADE_REFUSED',
    });
  });

  it('takes a named version in any form semver accepts (v1.1.0 is 1.1.0)', async () => {
    expect(await outcome('v-prefixed', {}, 'v1.1.0')).toBe('restarting');
    expect(await outcome('v-older', {}, 'v0.9.0')).toBe('UPDATE_DOWNGRADE_REFUSED');
  });

  it('installs an older version only when the downgrade is explicit, from its own signed metadata', async () => {
    expect(await outcome('downgrade', {}, '0.9.0', true)).toBe('restarting');
  });

  it('records a failure in the status and frees the slot', async () => {
    portal.tweaks = { tamperArtifact: true };
    const { p, store, layout } = pipeline('fail-then-retry');
    const { done } = await p.start({ source: 'test' });
    await done;
    expect(store.read()).toMatchObject({ state: 'failed', error: { code: 'UPDATE_CHECKSUM_MISMATCH' } });
    expect(layout.hasRelease('1.1.0')).toBe(false);
    portal.tweaks = {};
    await (await p.start({ source: 'test' })).done;
    expect(store.read()).toMatchObject({ state: 'restarting', ready_to_switch: true });
  });

  it('reports a preparation step whose process died as interrupted', () => {
    const { p, store } = pipeline('interrupted');
    store.update((s) => ({
      ...s,
      job_id: 'j1',
      state: 'downloading',
      owner_pid: 2 ** 22 + 12345,
      from_version: '1.0.0',
    }));
    expect(p.status()).toMatchObject({ state: 'failed', error: { code: 'UPDATE_INTERRUPTED' } });
    expect(existsSync(store.file)).toBe(true);
  });
});

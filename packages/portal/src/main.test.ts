import { ensureSelfSignedCertificate } from '@wispanel/kit';
import { tempDir } from '@wispanel/kit/testing';
import { Agent, request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { loadPortalConfig } from './config';
import { initPortal } from './init';
import { startPortal } from './main';

const dir = tempDir('wispanel-portal-main-');
afterAll(() => dir.remove());

describe('startPortal', () => {
  it('serves plain HTTP by default and HTTPS when a certificate is configured', async () => {
    const plainConfig = loadPortalConfig({ dataDir: dir.path, port: 0 }, {});
    await initPortal(plainConfig);
    const plain = await startPortal(plainConfig, { logLevel: 'silent' });
    try {
      expect(plain.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect((await request(`${plain.url}/api/v1/health`)).statusCode).toBe(200);
    } finally {
      await plain.close();
    }

    const tls = await ensureSelfSignedCertificate(dir.path);
    const config = loadPortalConfig(
      { dataDir: dir.path, port: 0, tlsCert: tls.certPath, tlsKey: tls.keyPath },
      {},
    );
    const secure = await startPortal(config, { logLevel: 'silent' });
    try {
      expect(secure.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const res = await request(`${secure.url}/api/v1/keys`, {
        dispatcher: new Agent({ connect: { ca: tls.cert } }),
      });
      expect(res.statusCode).toBe(200);
      expect(((await res.body.json()) as { keys: unknown[] }).keys).toHaveLength(1);
      await expect(request(`${secure.url}/api/v1/keys`)).rejects.toThrow(); // untrusted certificate
    } finally {
      await secure.close();
    }
  });

  it('refuses to start without keys and names the fix', async () => {
    const empty = tempDir('wispanel-portal-nokeys-');
    try {
      await expect(
        startPortal(loadPortalConfig({ dataDir: empty.path, port: 0 }, {}), { logLevel: 'silent' }),
      ).rejects.toThrow(/wispanel-portal init/);
    } finally {
      empty.remove();
    }
  });
});

// The panel's one portal-trust source (src/modules/license/portal-trust.ts), shared by the license and the update
// service: which keys it trusts from each configuration, and a development portal that is down at start and
// answers later. A real HTTP server stands in for the portal's GET /api/v1/keys; real Ed25519 keys.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSigningKeyPair } from '@wispanel/contract';
import { createLogger } from '@wispanel/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PanelConfig } from '../src/config';
import { PortalKeysUnavailable, PortalTrustSource } from '../src/modules/license/portal-trust';

const current = generateSigningKeyPair();
const retired = generateSigningKeyPair();
const entry = (p: typeof current, status: 'current' | 'retired') => ({
  kid: p.kid,
  alg: 'ed25519' as const,
  public_key: p.publicKeyPem,
  status,
  created_at: '2026-01-01T00:00:00Z',
});
const keySet = { keys: [entry(current, 'current'), entry(retired, 'retired')] };
const logger = createLogger({ level: 'silent' });

let up = false;
let server: Server;
let url: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    if (!up || req.url !== '/api/v1/keys') {
      res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"down"}');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(keySet));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const config = (over: Partial<PanelConfig>) => ({ portalDev: false, ...over }) as PanelConfig;

describe('PortalTrustSource', () => {
  it('--portal-keys: every listed key verifies stored files, only current keys sign new answers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wispanel-trust-'));
    try {
      const file = join(dir, 'portal-keys.json');
      writeFileSync(file, JSON.stringify(keySet));
      const trust = await PortalTrustSource.resolve(config({ portalKeysPath: file }), logger);
      expect([...trust.keys.keys()].sort()).toEqual([current.kid, retired.kid].sort());
      expect([...trust.answerKeys.keys()]).toEqual([current.kid]);
      expect(await trust.ensure()).not.toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('no keys configured and no development portal: trusts nothing (ensure answers null, never fetches)', async () => {
    up = true;
    const trust = await PortalTrustSource.resolve(config({ portalUrl: url }), logger);
    expect(trust.keys.size).toBe(0);
    expect(await trust.ensure()).toBeNull();
    expect(trust.keys.size).toBe(0);
  });

  it('a development portal down at start is asked again by ensure(), naming its URL, until it answers', async () => {
    up = false;
    const trust = await PortalTrustSource.resolve(config({ portalUrl: url, portalDev: true }), logger);
    expect(trust.keys.size).toBe(0);
    const err = await trust.ensure().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PortalKeysUnavailable);
    expect((err as Error).message).toContain(`${url}/api/v1/keys`);

    up = true;
    await trust.ensure();
    // The same object the license service reads: it sees the fetched keys too.
    expect([...trust.answerKeys.keys()]).toEqual([current.kid]);
    expect(trust.keys.size).toBe(2);
  });
});

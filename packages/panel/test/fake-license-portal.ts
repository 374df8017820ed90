/**
 * A stand-in for the license portal for in-process tests: signs real Ed25519 license files and answers like the
 * portal (bindings, unknown keys, signed or unsigned refusals, outages, deactivation). The real portal is
 * exercised in license-e2e.test.ts.
 */
import {
  generateSigningKeyPair,
  type LicenseAnswer,
  type LicensePayload,
  type LicenseRequest,
  loadSigningKey,
  parsePublicKeySet,
  signDocument,
  signLicenseFile,
} from '@wispanel/contract';
import type { LicensePortal } from '../src/modules/license/license-portal';
import { PortalCallError } from '../src/modules/license/license-portal';

export const DAY = 86_400_000;
/** `issued_at` of every license the stand-in signs. */
export const T0 = Date.parse('2026-03-01T00:00:00Z');

export class FakePortal implements LicensePortal {
  readonly url = 'https://portal.test';
  up = true;
  tier = 'pro';
  limits = { max_users: 10, max_domains: 3, max_databases: 3 };
  calls: string[] = [];
  refuse: 'SUSPENDED' | 'REVOKED' | null = null;
  signRefusals = true;
  /** Keys activated on this (single) server, as the portal's activation table would hold them. */
  readonly bound = new Set<string>();
  /** Keys the portal does not know. */
  readonly unknown = new Set<string>();
  /** Keys deactivate was called with, in order. */
  readonly deactivated: string[] = [];
  /** Only deactivate fails (the portal goes away between the activation and the deactivation). */
  deactivateDown = false;
  signDeactivations = true;
  /** End of the license term the files carry (null = perpetual). */
  termEnd: number | null = null;
  private readonly pair = generateSigningKeyPair();
  /** What a panel is configured with (`--portal-keys`). */
  readonly keySet = {
    keys: [
      {
        kid: this.pair.kid,
        alg: 'ed25519' as const,
        public_key: this.pair.publicKeyPem,
        status: 'current' as const,
        created_at: '',
      },
    ],
  };
  private readonly key = loadSigningKey(this.pair.privateKeyPem);
  readonly trusted = parsePublicKeySet({
    keys: [
      {
        kid: this.pair.kid,
        alg: 'ed25519',
        public_key: this.pair.publicKeyPem,
        status: 'current',
        created_at: '',
      },
    ],
  });
  constructor(private readonly now: () => number) {}

  private sign(op: string, req: LicenseRequest, valid: boolean, code: string) {
    return signDocument(
      'license-answer',
      {
        v: 1,
        action: op,
        valid,
        code,
        license_id: 'lic_test',
        hardware_id: req.hardware_id,
        nonce: req.nonce ?? '',
        server_time: new Date(this.now()).toISOString(),
      },
      this.key,
    );
  }

  private answer(op: string, req: LicenseRequest): Promise<LicenseAnswer> {
    this.calls.push(op);
    if (!this.up) return Promise.reject(new PortalCallError('unreachable', 'connect ECONNREFUSED'));
    const now = this.now();
    if (this.unknown.has(req.key)) {
      return Promise.resolve({ valid: false, code: 'NOT_FOUND', error: 'License key not found' });
    }
    if (this.refuse) {
      const signed = signDocument(
        'license-answer',
        {
          v: 1,
          action: op,
          valid: false,
          code: this.refuse,
          license_id: 'lic_test',
          hardware_id: req.hardware_id,
          nonce: req.nonce ?? '',
          server_time: new Date(now).toISOString(),
        },
        this.key,
      );
      return Promise.resolve({
        valid: false,
        code: this.refuse,
        error: `License is ${this.refuse.toLowerCase()}`,
        ...(this.signRefusals ? { signed } : {}),
      });
    }
    if (op === 'activate') this.bound.add(req.key);
    const payload: LicensePayload = {
      v: 1,
      license_id: 'lic_test',
      key_masked: `WISP-****${req.key.slice(-4)}`,
      tier: this.tier,
      limits: this.limits,
      features: [],
      hardware_id: req.hardware_id,
      issued_at: new Date(T0).toISOString(),
      expires_at: this.termEnd === null ? null : new Date(this.termEnd).toISOString(),
      valid_until: new Date(now + 14 * DAY).toISOString(),
      lease_days: 14,
      grace_days: 7,
      server_time: new Date(now).toISOString(),
      nonce: req.nonce ?? '',
      status: 'active',
    };
    return Promise.resolve({ valid: true, code: 'VALID', license_file: signLicenseFile(payload, this.key) });
  }
  activate(req: LicenseRequest) {
    return this.answer('activate', req);
  }
  verify(req: LicenseRequest) {
    return this.answer('verify', req);
  }
  refresh(req: LicenseRequest) {
    return this.answer('refresh', req);
  }
  deactivate(req: LicenseRequest): Promise<LicenseAnswer> {
    this.calls.push('deactivate');
    if (!this.up || this.deactivateDown) {
      return Promise.reject(new PortalCallError('unreachable', 'connect ECONNREFUSED'));
    }
    this.deactivated.push(req.key);
    const was = this.bound.delete(req.key);
    return Promise.resolve({
      valid: true,
      code: 'DEACTIVATED',
      detail: was ? 'Activation removed; the slot is free' : 'This server was not activated',
      ...(this.signDeactivations ? { signed: this.sign('deactivate', req, true, 'DEACTIVATED') } : {}),
    });
  }
}

/**
 * The stand-in portal over real HTTP on loopback (`POST /api/v1/license/<op>`), so the panel's real client
 * (deadline, answer cap) is what talks to it. `mode` switches what the peer does:
 * - `healthy`: answers like the portal;
 * - `slow`: sends the headers at once, then one byte (a space: still valid JSON so far) every `trickleMs`,
 *   never finishing (a slow portal or a middlebox);
 * - `huge`: answers 200 with `hugeBytes` of body as fast as the socket takes it (optionally without
 *   Content-Length, so only counting the bytes can stop it).
 */
export interface HttpFakePortal {
  url: string;
  mode: 'healthy' | 'slow' | 'huge';
  trickleMs: number;
  hugeBytes: number;
  hugeDeclared: boolean;
  /** Bytes of the huge body written before the client went away. */
  hugeWritten: number;
  /** Requests received per op. */
  received: string[];
  close(): Promise<void>;
}

export async function serveFakePortal(fake: FakePortal): Promise<HttpFakePortal> {
  const { createServer } = await import('node:http');
  const sockets = new Set<import('node:net').Socket>();
  const state: HttpFakePortal = {
    url: '',
    mode: 'healthy',
    trickleMs: 2000,
    hugeBytes: 200 * 1024 * 1024,
    hugeDeclared: false,
    hugeWritten: 0,
    received: [],
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  const server = createServer((req, res) => {
    const op = (req.url ?? '').replace(/^\/api\/v1\/license\//, '');
    state.received.push(op);
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      if (state.mode === 'slow') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.flushHeaders();
        const t = setInterval(() => res.write(' '), state.trickleMs);
        res.on('close', () => clearInterval(t));
        return;
      }
      if (state.mode === 'huge') {
        res.writeHead(200, {
          'content-type': 'application/json',
          ...(state.hugeDeclared ? { 'content-length': String(state.hugeBytes) } : {}),
        });
        const block = Buffer.alloc(64 * 1024, 0x20);
        let left = state.hugeBytes;
        const pump = () => {
          while (left > 0) {
            const n = Math.min(left, block.length);
            left -= n;
            state.hugeWritten += n;
            if (!res.write(n === block.length ? block : block.subarray(0, n))) return;
          }
          res.end();
        };
        res.on('drain', pump);
        res.on('close', () => {
          left = 0;
        });
        pump();
        return;
      }
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        const method = op as 'activate' | 'verify' | 'refresh' | 'deactivate';
        const answer = await fake[method](body);
        res.writeHead(answer.valid ? 200 : 403, { 'content-type': 'application/json' });
        res.end(JSON.stringify(answer));
      } catch (err) {
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: String(err) }));
      }
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address() as import('node:net').AddressInfo;
  state.url = `http://127.0.0.1:${addr.port}`;
  return state;
}

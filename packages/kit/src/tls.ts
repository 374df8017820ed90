import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

export interface TlsFiles {
  key: string;
  cert: string;
  keyPath: string;
  certPath: string;
  generated: boolean;
}

/** Loads `tls/cert.pem` + `tls/key.pem` from a directory, making a self-signed pair on first use. */
export async function ensureSelfSignedCertificate(dir: string): Promise<TlsFiles> {
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  let generated = false;
  if (!existsSync(keyPath) || !existsSync(certPath)) {
    const host = hostname();
    // Loaded only to make a certificate (selfsigned + @peculiar/x509: ~0.4 MB of code a running server never uses).
    // A CommonJS package: its functions are on the default export (node and a split esbuild bundle alike).
    const { generate } = (await import('selfsigned')).default;
    const pems = await generate([{ name: 'commonName', value: host }], {
      keySize: 2048,
      algorithm: 'sha256',
      notAfterDate: new Date(Date.now() + 825 * 86_400_000),
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
        { name: 'extKeyUsage', serverAuth: true },
        {
          name: 'subjectAltName',
          altNames: [
            { type: 2, value: host },
            { type: 2, value: 'localhost' },
            { type: 7, ip: '127.0.0.1' },
            { type: 7, ip: '::1' },
          ],
        },
      ],
    } as never);
    writeFileSync(keyPath, pems.private, { mode: 0o600 });
    writeFileSync(certPath, pems.cert, { mode: 0o644 });
    generated = true;
  }
  chmodSync(keyPath, 0o600);
  return {
    key: readFileSync(keyPath, 'utf8'),
    cert: readFileSync(certPath, 'utf8'),
    keyPath,
    certPath,
    generated,
  };
}

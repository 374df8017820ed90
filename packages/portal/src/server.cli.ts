import { writeFileSync } from 'node:fs';
import { assertPortFree } from '@wispanel/kit';
import type { CliRegistration, CommonOptions } from './cli-kit';
import { output, withCommonOptions } from './cli-kit';
import { loadPortalConfig } from './config';
import { initPortal } from './init';
import { startPortal } from './main';

/** `wispanel-portal init`, `start` and `openapi` (the operator groups live beside their modules). */

export const initCommand: CliRegistration = (program) => {
  withCommonOptions(
    program
      .command('init')
      .description('create signing keys, database schema, default tiers and an admin key'),
  ).action(async (opts: CommonOptions) => {
    const r = await initPortal(loadPortalConfig(opts));
    output(
      opts,
      r,
      [
        r.created ? 'Portal initialised.' : 'Portal already initialised; nothing was replaced.',
        `data dir:     ${r.data_dir}`,
        `database:     ${r.database}`,
        `signing key:  ${r.kid}`,
        `public keys:  ${r.public_keys_file}  (give this file to panels: --portal-keys)`,
        r.admin_key
          ? `admin key:    ${r.admin_key}\n              (shown once; send it as X-Admin-Key)`
          : 'admin key:    (exists; create another with "wispanel-portal admin-key create")',
      ].join('\n'),
    );
  });
};

export const startCommand: CliRegistration = (program) => {
  withCommonOptions(program.command('start').description('serve the portal API'))
    .option('--host <host>', 'listen address (WISPANEL_PORTAL_HOST, default 127.0.0.1)')
    .option('--port <port>', 'port, 0 = any free port (WISPANEL_PORTAL_PORT, default 3090)')
    .option('--tls-cert <file>', 'serve HTTPS with this certificate (WISPANEL_PORTAL_TLS_CERT)')
    .option('--tls-key <file>', 'private key for --tls-cert (WISPANEL_PORTAL_TLS_KEY)')
    .option(
      '--rate-limit <n>',
      'public API requests per minute per IP (WISPANEL_PORTAL_RATE_LIMIT, default 120)',
    )
    .option(
      '--trust-proxy <proxies>',
      'proxy addresses/CIDRs allowed to set the client IP via X-Forwarded-For, comma-separated (WISPANEL_PORTAL_TRUST_PROXY)',
    )
    .option(
      '--headers-timeout-ms <ms>',
      'request headers deadline (WISPANEL_PORTAL_HEADERS_TIMEOUT_MS, 10000)',
    )
    .option('--body-timeout-ms <ms>', 'request body deadline (WISPANEL_PORTAL_BODY_TIMEOUT_MS, 30000)')
    .option('--keep-alive-timeout-ms <ms>', 'idle keep-alive (WISPANEL_PORTAL_KEEP_ALIVE_TIMEOUT_MS, 72000)')
    .option(
      '--max-connections-per-ip <n>',
      'open connections per client address, 0 = no cap (WISPANEL_PORTAL_MAX_CONNECTIONS_PER_IP, 64)',
    )
    .option('--redis-url <url>', 'share the rate limit across instances (WISPANEL_PORTAL_REDIS_URL)')
    .option(
      '--signing-threads <n>',
      'threads signing license answers, 0 = on the event loop (WISPANEL_PORTAL_SIGNING_THREADS, default 1 with 2+ cores)',
    )
    .option(
      '--artifact-dir <dir>',
      'release artifacts (WISPANEL_PORTAL_ARTIFACT_DIR, default <data-dir>/artifacts)',
    )
    .option(
      '--max-artifact-bytes <n>',
      'artifact upload cap (WISPANEL_PORTAL_MAX_ARTIFACT_BYTES, default 2 GiB)',
    )
    .option(
      '--release-webhook-url <url>',
      'vendor webhook for release.halted (WISPANEL_PORTAL_RELEASE_WEBHOOK_URL)',
    )
    .option(
      '--release-webhook-secret <secret>',
      'HMAC-SHA256 key for X-WisPanel-Signature (WISPANEL_PORTAL_RELEASE_WEBHOOK_SECRET)',
    )
    .action(async (opts: CommonOptions) => {
      const config = loadPortalConfig(opts);
      await assertPortFree(config.host, config.port);
      const portal = await startPortal(config, opts.json ? { logLevel: 'warn' } : {});
      output(
        opts,
        { url: portal.url, pid: process.pid, database: portal.app.portal.database.describe },
        `WisPanel portal listening on ${portal.url}`,
      );
      const stop = () => {
        portal.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
};

export const openapiCommand: CliRegistration = (program) => {
  program
    .command('openapi')
    .description('print the OpenAPI document (or --write FILE)')
    .option('--write <file>', 'write it to a file (the committed copy is packages/portal/openapi.json)')
    .action(async (opts: { write?: string }) => {
      const text = await renderOpenApi();
      if (opts.write) writeFileSync(opts.write, text);
      else process.stdout.write(text);
    });
};

/** The OpenAPI document as committed (built from the route schemas, no database or keys needed). */
export async function renderOpenApi(): Promise<string> {
  const { openApiDocument } = await import('./openapi');
  return `${JSON.stringify(await openApiDocument(), null, 2)}\n`;
}

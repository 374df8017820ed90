import type { Command } from 'commander';

/** The license flags of `wispanel start` (each also an environment variable; see docs/license.md). */
export function addLicenseOptions(cmd: Command): Command {
  return cmd
    .option('--portal-url <url>', 'license portal base URL (env WISPANEL_PORTAL_URL)')
    .option(
      '--portal-keys <file>',
      "the portal's GET /api/v1/keys JSON: the only trusted keys (env WISPANEL_PORTAL_KEYS)",
    )
    .option('--portal-ca <file>', "CA certificate (PEM) for the portal's TLS (env WISPANEL_PORTAL_CA)")
    .option('--portal-dev', 'explicit local development portal on loopback (env WISPANEL_PORTAL_DEV)')
    .option(
      '--license-grace-days <n>',
      'grace after the lease or term ends (env WISPANEL_LICENSE_GRACE_DAYS; default: from the license)',
    )
    .option(
      '--license-enforce-after-hours <n>',
      'over-limit time before the excess is disabled (env WISPANEL_LICENSE_ENFORCE_AFTER_HOURS, default 168)',
    )
    .option(
      '--license-check-interval <seconds>',
      'portal check interval (env WISPANEL_LICENSE_CHECK_INTERVAL, default 86400)',
    )
    .option('--license-tick <seconds>', 'license job step, 0 = off (env WISPANEL_LICENSE_TICK, default 60)')
    .option(
      '--license-webhook-url <url>',
      'POST every license audit entry as signed JSON to this http(s) URL (env WISPANEL_LICENSE_WEBHOOK_URL)',
    )
    .option(
      '--license-webhook-secret <secret>',
      'HMAC-SHA256 key for X-WisPanel-Signature, required with the URL (env WISPANEL_LICENSE_WEBHOOK_SECRET)',
    )
    .option(
      '--unlicensed-max-users <n>',
      'accounts without a valid license (env WISPANEL_UNLICENSED_MAX_USERS, default 10)',
    )
    .option(
      '--unlicensed-max-domains <n>',
      'domains without a valid license (env WISPANEL_UNLICENSED_MAX_DOMAINS, default 10)',
    )
    .option(
      '--unlicensed-max-databases <n>',
      'databases without a valid license (env WISPANEL_UNLICENSED_MAX_DATABASES, default 10)',
    );
}

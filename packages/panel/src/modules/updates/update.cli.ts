import { readFileSync, statSync } from 'node:fs';
import type { ReleaseChannel } from '@wispanel/contract';
import { openDatabase } from '@wispanel/kit';
import type { Command } from 'commander';
import { fail } from '../../commands/output';
import { loadPanelConfig } from '../../config';
import type { PanelDB } from '../../db/schema';
import { ensureHardwareId } from '../../hardware-id';
import { sqliteFileOf } from '../../supervisor/database-backup';
import { runningSupervisorPid } from '../../supervisor/supervisor.cli';
import { LicenseRepository } from '../license/license.repository';
import { portalEndpointFrom, portalTrustFromFile } from '../license/portal-trust';
import { InstallLayout } from './install-layout';
import { ClientPortalDownloads } from './portal-downloads';
import { stepHookFromEnv } from './step-hook';
import { errorCodeOf, UpdateError } from './update-error';
import { downloadPolicyFromEnv, UpdatePipeline } from './update-pipeline';
import { isActive, UpdateStateStore, type UpdateStatus } from './update-state';
import { publicStatus } from './updates.service';

/** The activated license key, read through the license module's repository (null: none, or no database yet). */
async function activatedLicenseKey(databaseUrl: string): Promise<string | null> {
  const database = openDatabase<PanelDB>(databaseUrl);
  try {
    return await new LicenseRepository(database.db).activatedKey();
  } catch {
    return null;
  } finally {
    await database.close();
  }
}

/**
 * `wispanel update` must run as the user that owns the install (the service user): run as root on an install
 * owned by `wispanel` it would leave root-owned files (state, releases) the service can no longer read or
 * replace. Refused before anything is written.
 */
export function refuseForeignOwner(installDir: string): void {
  const uid = process.getuid?.();
  if (uid === undefined) return;
  let owner: number;
  try {
    owner = statSync(installDir).uid;
  } catch {
    return; // a missing install dir is reported by the next check
  }
  if (owner === uid) return;
  let name = String(owner);
  try {
    const line = readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .find((l) => l.split(':')[2] === String(owner));
    if (line) name = line.split(':')[0] as string;
  } catch {
    /* no passwd */
  }
  throw new UpdateError(
    'UPDATE_NOT_SUPPORTED',
    `${installDir} belongs to ${name} (uid ${owner}) but this command runs as uid ${uid}: run it as the service user, e.g. \`sudo -u ${name} node ${installDir}/current/bin/wispanel.mjs update …\` (nothing was changed; files written as another user could not be read or replaced by the service)`,
  );
}

function bar(s: UpdateStatus): string {
  const pct = s.progress.percent ?? (s.state === 'completed' ? 100 : 0);
  const width = 30;
  const filled = Math.round((pct / 100) * width);
  const mb = (n: number | null) => (n === null ? '?' : (n / 1e6).toFixed(1));
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${pct.toFixed(1).padStart(5)}% ${mb(s.progress.bytes)}/${mb(s.progress.total)} MB  ${s.state}`;
}

/**
 * `wispanel update [--version V] [--allow-downgrade]`: the same pipeline as `POST /version/update`, run from the
 * command line against an install dir whose supervisor is running; it hands the prepared release to the
 * supervisor (SIGUSR2) and follows the switch and health check to the end.
 */
export function updateCommand(program: Command): void {
  program
    .command('update')
    .description(
      "Download, verify and install a release, then let the supervisor switch to it (progress bar); run it as the install's owner (the service user)",
    )
    .option('--version <version>', 'a named version instead of the latest of the channel')
    .option('--allow-downgrade', 'allow --version to be older than the running release')
    .option('--install-dir <dir>', 'install dir (env WISPANEL_INSTALL_DIR)')
    .option('--data-dir <dir>', 'data directory (env WISPANEL_DATA_DIR)')
    .option('--portal-url <url>', 'portal (required; env WISPANEL_PORTAL_URL)')
    .option('--portal-keys <file>', 'trusted portal keys JSON (required; env WISPANEL_PORTAL_KEYS)')
    .option('--portal-ca <file>', 'CA for the portal certificate (env WISPANEL_PORTAL_CA)')
    .option('--channel <channel>', 'stable|beta|alpha (env WISPANEL_CHANNEL)')
    .option('--json', 'print the final status as JSON')
    .action(async (opts: Record<string, unknown>) => {
      try {
        const config = loadPanelConfig(opts);
        if (!config.installDir) throw new Error('--install-dir (or WISPANEL_INSTALL_DIR) is required');
        if (!config.portalUrl || !config.portalKeysPath)
          throw new Error('--portal-url and --portal-keys are required');
        const layout = new InstallLayout(config.installDir);
        refuseForeignOwner(config.installDir);
        const supervisorPid = runningSupervisorPid(layout);
        if (!supervisorPid) {
          throw new UpdateError(
            'UPDATE_NOT_SUPPORTED',
            `no supervisor is running for ${config.installDir}: start \`wispanel run\` first`,
          );
        }
        const current = layout.currentVersion();
        if (!current) throw new Error(`no release is installed in ${config.installDir}`);
        const store = new UpdateStateStore(layout.stateFile);
        // The same portal and trust as the running panel (license/portal-trust.ts); no development portal here.
        const endpoint = portalEndpointFrom(config);
        const trust = portalTrustFromFile(config);
        if (!endpoint || !trust) throw new Error('--portal-url and --portal-keys are required');
        const { hardwareId } = ensureHardwareId(config.dataDir);
        const key = await activatedLicenseKey(config.databaseUrl);
        const pipeline = new UpdatePipeline({
          layout,
          store,
          portal: ClientPortalDownloads.create({ baseUrl: endpoint.url, ca: endpoint.ca }),
          trustedKeys: () => trust.keys,
          credentials: async () => {
            if (!key) throw new UpdateError('LICENSE_NOT_ACTIVATED', 'no license is activated on this panel');
            return { key, hardwareId };
          },
          currentVersion: current,
          channel: config.channel as ReleaseChannel,
          requestSwitch: () => process.kill(supervisorPid, 'SIGUSR2'),
          hook: stepHookFromEnv(config.updateHook, layout.stateFile),
          databaseFile: sqliteFileOf(config.databaseUrl),
          downloadPolicy: downloadPolicyFromEnv(),
        });
        const tty = process.stderr.isTTY;
        const { job, done } = await pipeline.start({
          version: opts.version as string | undefined,
          allowDowngrade: opts.allowDowngrade === true,
          source: 'cli',
        });
        process.stderr.write(`updating ${job.from_version} -> ${job.to_version}\n`);
        let last = '';
        const show = (s: UpdateStatus) => {
          const line = bar(s);
          if (line === last) return;
          last = line;
          process.stderr.write(tty ? `\r${line}` : `${line}\n`);
        };
        let finished = false;
        void done.finally(() => {
          finished = true;
        });
        let s = store.read();
        while (true) {
          s = store.read();
          if (s.job_id === job.job_id) show(s);
          if (s.job_id !== job.job_id || (!isActive(s) && finished)) break;
          await new Promise((r) => setTimeout(r, 200));
        }
        if (tty) process.stderr.write('\n');
        const out = publicStatus(s, true);
        if (opts.json) process.stdout.write(`${JSON.stringify(out)}\n`);
        else if (s.state === 'completed') process.stdout.write(`WisPanel ${s.to_version} is running\n`);
        else process.stdout.write(`update ${s.state}: ${s.error?.code ?? ''} ${s.error?.message ?? ''}\n`);
        process.exit(s.state === 'completed' ? 0 : 1);
      } catch (err) {
        const { code, message } = errorCodeOf(err);
        const own = (err as { code?: unknown })?.code;
        if (err instanceof UpdateError || (typeof own === 'string' && /^[A-Z_]+$/.test(own))) {
          process.stderr.write(`wispanel update: ${code}: ${message}\n`);
          process.exit(1);
        }
        fail(err);
      }
    });
}

import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { RELEASE_CHANNELS, type ReleaseChannel } from '@wispanel/contract';
import { AppError } from '@wispanel/kit';
import type { Command } from 'commander';
import {
  type CliRegistration,
  type CommonOptions,
  output,
  withCommonOptions,
  withServices,
} from '../../cli-kit';
import { cliActor } from '../events/event-log';
import { ARTIFACT_FILENAME } from './artifact-store';
import { isReleaseVersion, RELEASE_STATUSES, type ReleaseStatus } from './release-eligibility';
import type { ReleaseView } from './releases.service';

function line(r: ReleaseView): string {
  const artifact = r.artifact
    ? `${r.artifact.size} B sha256 ${r.artifact.sha256.slice(0, 12)}…`
    : 'no artifact';
  const flags = [r.critical ? 'critical' : null, r.min_version ? `min ${r.min_version}` : null].filter(
    Boolean,
  );
  return `${r.version.padEnd(16)} ${r.channel.padEnd(7)} ${r.status.padEnd(10)} ${artifact}${flags.length ? `  ${flags.join(' ')}` : ''}${r.published_at ? `  published ${r.published_at}` : ''}`;
}

function channelOf(value: string | undefined): ReleaseChannel | undefined {
  if (value === undefined) return undefined;
  if (!(RELEASE_CHANNELS as readonly string[]).includes(value)) {
    throw new AppError('VALIDATION_ERROR', `--channel must be one of ${RELEASE_CHANNELS.join(', ')}`);
  }
  return value as ReleaseChannel;
}

interface PublishOptions extends CommonOptions {
  version: string;
  channel?: string;
  changelog?: string;
  critical?: boolean;
  minVersion?: string;
  notes?: string;
}

/**
 * `release publish FILE …` creates the release (or continues a draft left by an interrupted run), streams the
 * file into the artifact directory, signs and publishes, all directly on the data dir and database (no server).
 */
export const releaseCommands: CliRegistration = (program: Command) => {
  // `release publish --version V` must reach the subcommand, not print the program's own version: root options
  // (only -V/--version and --help) are then recognised before the subcommand name only.
  program.enablePositionalOptions();
  const release = program.command('release').description('releases: publish, list, yank');

  withCommonOptions(
    release
      .command('publish <file>')
      .description('create + upload + publish a release in one go (works without a running portal)'),
  )
    .requiredOption('--version <version>', 'semantic version, e.g. 1.4.3')
    .option('--channel <channel>', 'stable | beta | alpha (default stable)')
    .option('--changelog <file>', 'Markdown file with the release notes panels show')
    .option('--critical', 'mark the release critical')
    .option('--min-version <version>', 'lowest version this release may be installed over')
    .option('--notes <text>', 'internal notes (never sent to panels)')
    .option(
      '--artifact-dir <dir>',
      'artifact directory (WISPANEL_PORTAL_ARTIFACT_DIR, default <data-dir>/artifacts)',
    )
    .option('--max-artifact-bytes <n>', 'upload cap (WISPANEL_PORTAL_MAX_ARTIFACT_BYTES, default 2 GiB)')
    .action(async (file: string, opts: PublishOptions) => {
      if (!existsSync(file) || !statSync(file).isFile()) {
        throw new AppError('VALIDATION_ERROR', `artifact file not found: ${file}`);
      }
      if (!isReleaseVersion(opts.version)) {
        throw new AppError('VALIDATION_ERROR', '--version must be a semantic version such as 1.4.2');
      }
      if (opts.changelog !== undefined && !existsSync(opts.changelog)) {
        throw new AppError('VALIDATION_ERROR', `changelog file not found: ${opts.changelog}`);
      }
      const changelog = opts.changelog !== undefined ? readFileSync(opts.changelog, 'utf8') : undefined;
      const channel = channelOf(opts.channel);
      const name = basename(file);
      const filename = ARTIFACT_FILENAME.test(name) ? name : undefined;
      const published = await withServices(opts, async (s) => {
        const releases = s.releases;
        const fields = {
          channel,
          changelog,
          critical: opts.critical ?? false,
          min_version: opts.minVersion ?? null,
          notes: opts.notes,
        };
        const existing = await releases.get(opts.version).catch((err) => {
          if (err instanceof AppError && err.code === 'NOT_FOUND') return null;
          throw err;
        });
        if (existing && existing.status !== 'draft') {
          throw new AppError('CONFLICT', `Version ${opts.version} is already ${existing.status}`);
        }
        if (existing) await releases.update(cliActor, opts.version, fields);
        else await releases.create(cliActor, { version: opts.version, ...fields });
        await releases.uploadArtifact(cliActor, opts.version, createReadStream(file), {
          filename,
          expectedLength: statSync(file).size,
        });
        return releases.publish(cliActor, opts.version);
      });
      output(
        opts,
        { success: true, release: published },
        `published ${published.version} (${published.channel}): ${published.artifact?.size} bytes, sha256 ${published.artifact?.sha256}`,
      );
    });

  withCommonOptions(release.command('list').description('list releases, newest version first'))
    .option('--channel <channel>', 'stable | beta | alpha')
    .option('--status <status>', 'draft | published | yanked')
    .action(async (opts: CommonOptions & { channel?: string; status?: string }) => {
      if (opts.status !== undefined && !(RELEASE_STATUSES as readonly string[]).includes(opts.status)) {
        throw new AppError('VALIDATION_ERROR', `--status must be one of ${RELEASE_STATUSES.join(', ')}`);
      }
      const channel = channelOf(opts.channel);
      const list = await withServices(opts, (s) =>
        s.releases.list({ channel, status: opts.status as ReleaseStatus | undefined }),
      );
      output(
        opts,
        { success: true, releases: list },
        list.length ? list.map(line).join('\n') : 'no releases',
      );
    });

  withCommonOptions(release.command('show <version>').description('show one release')).action(
    async (version: string, opts: CommonOptions) => {
      const r = await withServices(opts, (s) => s.releases.get(version));
      output(opts, { success: true, release: r }, `${line(r)}\n\n${r.changelog}`);
    },
  );

  withCommonOptions(
    release.command('yank <version>').description('yank a release: never offered or served again'),
  )
    .option('--reason <text>', 'why (kept with the release and in the event log)')
    .action(async (version: string, opts: CommonOptions & { reason?: string }) => {
      const r = await withServices(opts, (s) => s.releases.yank(cliActor, version, opts.reason));
      output(opts, { success: true, release: r }, `yanked ${r.version}`);
    });
};

import {
  type CliRegistration,
  type CommonOptions,
  output,
  withCommonOptions,
  withServices,
} from '../../cli-kit';
import { cliActor } from '../events/event-log';
import { ADMIN_KEY_CACHE_MS } from './admin-keys';

/** `wispanel-portal admin-key create|list|revoke`. */
export const adminKeyCommands: CliRegistration = (program) => {
  const admin = program.command('admin-key').description('admin API keys');
  withCommonOptions(admin.command('create').description('create another admin key (printed once)'))
    .option('--name <name>', 'label', 'cli')
    .action(async (opts: CommonOptions & { name: string }) => {
      const r = await withServices(opts, async (s) => {
        const created = await s.adminKeys.create(opts.name);
        await s.events.append({
          action: 'admin_key.created',
          actor: cliActor,
          resultCode: 'OK',
          data: { prefix: created.record.key_prefix },
        });
        return created;
      });
      output(opts, { admin_key: r.key, ...r.record }, `${r.key}\n(shown once; send it as X-Admin-Key)`);
    });
  withCommonOptions(
    admin.command('list').description('list admin keys, revoked ones included (never the keys themselves)'),
  ).action(async (opts: CommonOptions) => {
    const keys = await withServices(opts, (s) => s.adminKeys.list());
    output(
      opts,
      { admin_keys: keys },
      keys.length === 0
        ? 'no admin keys (create one with "wispanel-portal admin-key create")'
        : keys
            .map(
              (k) =>
                `${k.id}  ${k.key_prefix}  ${(k.revoked_at ? 'revoked' : 'active').padEnd(7)}  created ${k.created_at}${k.revoked_at ? `  revoked ${k.revoked_at}` : ''}  ${k.name}`,
            )
            .join('\n'),
    );
  });
  withCommonOptions(
    admin
      .command('revoke <id-or-prefix>')
      .description('revoke an admin key by id or key prefix (as "admin-key list" shows them)'),
  )
    .option('--force', 'revoke even the last active key (locks the admin API until another is created)')
    .action(async (target: string, opts: CommonOptions & { force?: boolean }) => {
      const r = await withServices(opts, (s) => s.adminKeys.revoke(cliActor, target, { force: opts.force }));
      const seconds = ADMIN_KEY_CACHE_MS / 1000;
      output(
        opts,
        { ...r.record, already_revoked: r.already_revoked, effective_within_seconds: seconds },
        r.already_revoked
          ? `admin key ${r.record.key_prefix} (${r.record.name}) was already revoked at ${r.record.revoked_at}; nothing changed`
          : `admin key ${r.record.key_prefix} (${r.record.name}) revoked at ${r.record.revoked_at}\n` +
              `a running portal stops accepting it within ${seconds} seconds (it caches active keys that long)`,
      );
    });
};

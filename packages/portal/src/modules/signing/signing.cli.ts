import { writeFileSync } from 'node:fs';
import {
  type CliRegistration,
  type CommonOptions,
  output,
  withCommonOptions,
  withServices,
} from '../../cli-kit';
import { loadPortalConfig } from '../../config';
import { cliActor } from '../events/event-log';
import { FileSigningService, rotateSigningKey } from './signing-keys';

/** `wispanel-portal keys list|rotate`: the signing keys (`GET /api/v1/keys` shows the public halves). */
export const keyCommands: CliRegistration = (program) => {
  const keys = program.command('keys').description('signing keys');
  withCommonOptions(
    keys.command('list').description('list public keys (what GET /api/v1/keys answers)'),
  ).action(async (opts: CommonOptions) => {
    const set = new FileSigningService(loadPortalConfig(opts).keysDir).publicKeySet();
    output(opts, set, set.keys.map((k) => `${k.kid}  ${k.status.padEnd(8)} ${k.created_at}`).join('\n'));
  });
  withCommonOptions(
    keys.command('rotate').description('add a new current signing key; old ones stay verifiable'),
  ).action(async (opts: CommonOptions) => {
    const config = loadPortalConfig(opts);
    const r = rotateSigningKey(config.keysDir);
    await withServices(opts, (s) =>
      s.events.append({ action: 'signing_key.rotated', actor: cliActor, resultCode: 'OK', data: r }),
    );
    const set = new FileSigningService(config.keysDir).publicKeySet();
    const file = `${config.dataDir}/public-keys.json`;
    writeFileSync(file, `${JSON.stringify(set, null, 2)}\n`);
    output(
      opts,
      { ...r, public_keys_file: file, keys: set.keys },
      `new current key ${r.kid}; ${r.retired} retired (still verifiable)\npublic keys written to ${file}`,
    );
  });
};

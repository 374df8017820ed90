import { ConfigError } from '@wispanel/kit';
import type { InitResult } from '../setup';

/** Prints the outcome of init (the admin key appears only when it was just issued). */
export function printInit(result: InitResult, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  const lines = [
    result.created
      ? `WisPanel initialised in ${result.data_dir}`
      : `WisPanel data dir ${result.data_dir} is already initialised (nothing overwritten)`,
    `  hardware id:   ${result.hardware_id}`,
  ];
  if (result.tls_cert) lines.push(`  TLS cert:      ${result.tls_cert}`);
  if (result.admin) lines.push(`  admin user:    ${result.admin.username} <${result.admin.email}>`);
  if (result.admin?.password)
    lines.push(`  admin password: ${result.admin.password}   (for the UI login; shown once)`);
  if (result.api_key) lines.push(`  admin API key: ${result.api_key}   (shown once: store it now)`);
  else lines.push('  (no new API key printed; use `wispanel init --new-admin-key` to issue one)');
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** Config problems and other start failures: one clear message, non-zero exit, no stack trace. */
export function fail(err: unknown): never {
  if (err instanceof ConfigError) {
    process.stderr.write(`wispanel: ${err.message}\n`);
    process.exit(2);
  }
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'EADDRINUSE' || e?.code === 'EACCES')
    process.stderr.write(`wispanel: cannot listen: ${e.message}\n`);
  else process.stderr.write(`wispanel: ${e?.message ?? String(err)}\n`);
  process.exit(1);
}

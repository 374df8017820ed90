// One data layer for the licenses and activations tables (ARCHITECTURE.md "Data access"): the vendor's license
// admin (licenses/) and the panel-facing license API (license-api/) share licenses/license.repository.ts; only the
// check hot path keeps its own single-statement read and group-committed writes (check.repository.ts), and the
// fleet view reads activation counts for rollouts (rollouts.repository.ts, read only). Any other file that queries
// these tables is a second copy of their SQL and fails here, naming the file and the line.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = fileURLToPath(new URL('../../', import.meta.url));
const ALLOWED = new Set([
  'modules/licenses/license.repository.ts',
  'modules/license-api/check.repository.ts',
  'modules/rollouts/rollouts.repository.ts',
]);
const QUERY =
  /(selectFrom|insertInto|updateTable|deleteFrom)\(\s*'(licenses|activations)'|\b(FROM|JOIN|INTO|UPDATE)\s+(licenses|activations)\b/;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'migrations' ? [] : files(path);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [path] : [];
  });
}

describe('portal license data access', () => {
  it('only the license repository (and the check hot path, fleet read) query licenses/activations', () => {
    const offenders: string[] = [];
    for (const file of files(src)) {
      const rel = relative(src, file);
      if (ALLOWED.has(rel)) continue;
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (QUERY.test(line)) offenders.push(`${rel}:${i + 1}: ${line.trim()}`);
        });
    }
    expect(offenders).toEqual([]);
  });
});

import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Issue 10: every request and answer shape of both services lives in packages/contract (TypeBox schemas with
 * their types). A route file that builds a schema of its own (`Type.Object(…)`, `Type.String(…)`, …) is a
 * second copy of a wire shape waiting to drift, so this fails on it.
 */
const root = new URL('../../..', import.meta.url).pathname;

function routeFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...routeFiles(path));
    else if (entry.name.endsWith('.routes.ts')) out.push(path);
  }
  return out;
}

describe('wire shapes have one home', () => {
  it('no route file of the panel or the portal builds a TypeBox schema of its own', () => {
    const files = [
      ...routeFiles(join(root, 'packages/panel/src')),
      ...routeFiles(join(root, 'packages/portal/src')),
    ];
    expect(files.length).toBeGreaterThan(15);
    const offenders = files
      .filter((f) => /\bType\.[A-Z]\w*\(/.test(readFileSync(f, 'utf8')))
      .map((f) => relative(root, f));
    expect(offenders).toEqual([]);
  });
});

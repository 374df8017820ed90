// The command-line bundles built at install time (scripts/build.mjs) and the check the bins run before using
// one. `npx wispanel` / `npx wispanel-portal` start in well under a second from a bundle (plain node, one
// file) instead of ~3-4 s through tsx compiling the TypeScript sources on every call.
//
// A bundle is used only while it matches the tree: beside `dist/cli.mjs` the build writes `dist/cli.meta.json`
// with the size, mtime and SHA-256 of every workspace source file that went into it. The bin stats those files;
// one whose size differs, or whose mtime differs and whose content hash differs, makes the bundle stale and the
// bin runs the sources through tsx instead (a file deleted since counts as changed). So an edited, checked-out
// or restored file is never run from an older bundle; `npm run build` (or any `npm install`/`npm ci`) brings
// the fast path back. Third-party packages in node_modules are not checked: they change only through npm,
// which rebuilds the bundles (`prepare`).
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export const root = resolve(dirname(new URL(import.meta.url).pathname), '..');

/** The command-line programs: entry source, bundle, and the meta file beside it. */
export const CLIS = {
  panel: { entry: 'packages/panel/src/cli.ts', out: 'packages/panel/dist/cli.mjs' },
  portal: { entry: 'packages/portal/src/cli.ts', out: 'packages/portal/dist/cli.mjs' },
};

/** Native addons (and optional drivers never used) stay out of the bundle, loaded from node_modules. */
export const EXTERNAL = [
  'better-sqlite3',
  '@node-rs/argon2',
  'pg-native',
  'pg-cloudflare',
  'cloudflare:sockets',
];

/** CommonJS packages inside an ESM bundle still call require() and use __dirname. */
export const CJS_SHIM = [
  "import { createRequire as __wispanelCreateRequire } from 'node:module';",
  "import { fileURLToPath as __wispanelFileURLToPath } from 'node:url';",
  "import { dirname as __wispanelDirname } from 'node:path';",
  'const require = __wispanelCreateRequire(import.meta.url);',
  'const __filename = __wispanelFileURLToPath(import.meta.url);',
  'const __dirname = __wispanelDirname(__filename);',
].join('\n');

const sha256 = (path) => createHash('sha256').update(readFileSync(path)).digest('hex');

/**
 * Builds one CLI bundle with esbuild and its meta file. The bundle is split: `dist/cli.mjs` holds the command
 * table (commander and little else), each command's code sits in `dist/chunk-<hash>.mjs` files loaded when that
 * command runs, so `--help` / `--version` parse a few hundred KB instead of the whole program. The chunks are
 * moved in first (content-hashed names: a chunk already there is the same file), then the entry by rename,
 * then chunks no longer used are removed, then the meta file is written. `options.outfile` builds elsewhere
 * (tests).
 */
export async function buildCli(name, options = {}) {
  const { entry, out } = CLIS[name];
  const esbuild = await import('esbuild');
  const outfile = options.outfile ?? join(root, out);
  const dist = dirname(outfile);
  const tmp = join(dist, `.build-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  const started = Date.now();
  const result = await esbuild.build({
    entryPoints: { [basename(outfile, '.mjs')]: join(root, entry) },
    outdir: tmp,
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunk-[hash]',
    splitting: true,
    bundle: true,
    // Whitespace and syntax only (names stay readable in stack traces): a third less code to parse and keep in
    // memory, and ASCII-only (a source string with one non-ASCII character in a comment is held as UTF-16).
    minifyWhitespace: true,
    minifySyntax: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: EXTERNAL,
    logLevel: 'error',
    legalComments: 'none',
    metafile: true,
    banner: { js: CJS_SHIM },
  });
  const rels = Object.keys(result.metafile.inputs)
    .map((input) => relative(root, resolve(root, input)))
    .filter(
      (rel) => !rel.startsWith('node_modules/') && !rel.includes('/node_modules/') && !rel.startsWith('..'),
    );
  const sources = fingerprint(root, rels);
  const meta = `${outfile.replace(/\.mjs$/, '')}.meta.json`;
  rmSync(meta, { force: true });
  const chunks = readdirSync(tmp).filter((f) => f !== basename(outfile));
  for (const chunk of chunks) renameSync(join(tmp, chunk), join(dist, chunk));
  renameSync(join(tmp, basename(outfile)), outfile);
  rmSync(tmp, { recursive: true, force: true });
  const keep = new Set(chunks);
  for (const f of readdirSync(dist))
    if (/^chunk-[\w-]+\.mjs$/.test(f) && !keep.has(f)) rmSync(join(dist, f), { force: true });
  // A source edited while esbuild read it may be in the bundle in its old form: leave the bundle stale.
  if (Object.values(sources).some(([, mtimeMs]) => mtimeMs > started))
    return { outfile, sources: 0, stale: true };
  writeMeta(meta, sources, chunks);
  return { outfile, sources: rels.length, chunks: chunks.length };
}

/** `{ rel: [size, mtimeMs, sha256] }` of files under `base`: what the meta file records. */
export function fingerprint(base, rels) {
  const sources = {};
  for (const rel of rels) {
    const st = statSync(join(base, rel));
    sources[rel] = [st.size, st.mtimeMs, sha256(join(base, rel))];
  }
  return sources;
}

export function writeMeta(metaPath, sources, chunks = []) {
  writeFileSync(
    `${metaPath}.tmp-${process.pid}`,
    JSON.stringify({ built_at: new Date().toISOString(), sources, chunks }),
  );
  renameSync(`${metaPath}.tmp-${process.pid}`, metaPath);
}

/**
 * Why the bundle at `bundlePath` (absolute) cannot be used, or null when it matches every source it was built
 * from. Costs a stat per source file (a hash only for a file whose mtime moved).
 */
export function staleReason(bundlePath, base = root) {
  let meta;
  try {
    statSync(bundlePath);
    meta = JSON.parse(readFileSync(`${bundlePath.replace(/\.mjs$/, '')}.meta.json`, 'utf8'));
  } catch {
    return 'not built';
  }
  for (const chunk of meta.chunks ?? []) {
    try {
      statSync(join(dirname(bundlePath), chunk));
    } catch {
      return `${chunk} of the bundle is gone`;
    }
  }
  for (const [rel, [size, mtimeMs, hash]] of Object.entries(meta.sources ?? {})) {
    const path = join(base, rel);
    let st;
    try {
      st = statSync(path);
    } catch {
      return `${rel} is gone`;
    }
    if (st.size !== size) return `${rel} changed`;
    if (st.mtimeMs !== mtimeMs && sha256(path) !== hash) return `${rel} changed`;
  }
  return null;
}

/**
 * What a bin runs: the bundle when it matches the tree, else the TypeScript sources through tsx.
 * WISPANEL_CLI_FROM_SOURCE=1 forces the sources (debugging); WISPANEL_CLI_TRACE=1 says which one ran and why.
 */
export async function runCli(name) {
  const bundle = join(root, CLIS[name].out);
  const reason =
    process.env.WISPANEL_CLI_FROM_SOURCE === '1' ? 'WISPANEL_CLI_FROM_SOURCE=1' : staleReason(bundle);
  if (process.env.WISPANEL_CLI_TRACE === '1')
    process.stderr.write(`wispanel cli: ${reason ? `sources via tsx (${reason})` : `bundle ${bundle}`}\n`);
  if (!reason) {
    await import(pathToFileURL(bundle).href);
    return;
  }
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(join(root, CLIS[name].entry)).href);
}

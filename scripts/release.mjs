#!/usr/bin/env node
// Builds the panel's release artifact from this tree:
//   npm run release [-- --version X.Y.Z] [--out DIR] [--channel stable|beta|alpha] [--json]
// → DIR/wispanel-<version>.tar.gz (default DIR = dist/), whose single top directory `wispanel-<version>/` holds
//   release-manifest.json   { name, version, channel, build_time, git_commit, node_engine, entry }
//   bin/wispanel.mjs        launcher: plain `node bin/wispanel.mjs <command>` (no tsx)
//   dist/wispanel.mjs       the panel CLI bundled into one ESM file by esbuild
//   node_modules/           only the native packages kept out of the bundle and what they need at run time
//   console/                the web console (packages/console/dist, built by `npm ci`), served at /
//   launcher/wispanel-launcher.mjs   the stable launcher `install-release` puts into <install>/bin/
//   systemd/wispanel.service
// The bundle and node_modules are cached in .tmp/release-cache/<tree hash>/ so building the same tree again
// with another --version (how tests make release X+1) only rewrites the manifest and the tarball.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');

/** Packages left out of the bundle: native addons (and optional drivers the bundle must not resolve). */
const EXTERNAL = ['better-sqlite3', '@node-rs/argon2'];
/** Optional requires inside bundled packages that are never used by the panel. */
const IGNORED = ['pg-native', 'pg-cloudflare', 'cloudflare:sockets'];
/** Dependencies of externals only needed when installing from source (never at run time). */
const INSTALL_ONLY = new Set(['prebuild-install']);
/** Files of a copied package that are not needed at run time (sources and build leftovers of natives). */
const SKIP_IN_PACKAGE = {
  'better-sqlite3': (rel) =>
    rel === 'deps' ||
    rel === 'src' ||
    rel.startsWith('deps/') ||
    rel.startsWith('src/') ||
    (rel.startsWith('build/') && rel !== 'build/Release' && !rel.endsWith('better_sqlite3.node')) ||
    rel === 'build/Release/test_extension.node',
};

const { values } = parseArgs({
  options: {
    version: { type: 'string' },
    out: { type: 'string' },
    channel: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});

const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const panelPkg = JSON.parse(readFileSync(join(root, 'packages/panel/package.json'), 'utf8'));
const version = values.version ?? panelPkg.version;
if (!/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/.test(version)) {
  console.error(`--version must be a semantic version (X.Y.Z), got "${version}"`);
  process.exit(2);
}
const channel = values.channel ?? 'stable';
if (!['stable', 'beta', 'alpha'].includes(channel)) {
  console.error(`--channel must be stable, beta or alpha, got "${channel}"`);
  process.exit(2);
}
const outDir = resolve(values.out ?? join(root, 'dist'));
const started = Date.now();

function git(args) {
  try {
    return execFileSync('git', args, { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    return '';
  }
}

/** Every file that goes into the bundle decides the cache key. */
function treeHash() {
  const h = createHash('sha256');
  const walk = (dir) => {
    for (const name of readdirSync(dir).sort()) {
      if (name === 'node_modules' || name.startsWith('.')) continue;
      const p = join(dir, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (/\.(ts|mjs|js|json|sql|service)$/.test(name) && !name.endsWith('.test.ts')) {
        h.update(relative(root, p));
        h.update('\0');
        h.update(readFileSync(p));
        h.update('\0');
      }
    }
  };
  // Only what the panel bundle is made of (the portal is never bundled into the panel).
  for (const pkg of ['contract', 'kit', 'client', 'panel']) walk(join(root, 'packages', pkg, 'src'));
  walk(join(root, 'packages/panel/bin'));
  h.update(readFileSync(join(root, 'packages/panel/openapi-examples.json'))); // imported by the API reference
  walk(join(root, 'packages/panel/launcher'));
  if (existsSync(join(root, 'packages/panel/systemd'))) walk(join(root, 'packages/panel/systemd'));
  h.update(readFileSync(join(root, 'package-lock.json')));
  h.update(readFileSync(new URL(import.meta.url)));
  return h.digest('hex').slice(0, 20);
}

/** Copies a package and, recursively, its run-time dependencies from the root node_modules. */
function copyPackageClosure(name, destModules, seen) {
  if (seen.has(name) || INSTALL_ONLY.has(name)) return;
  const src = join(root, 'node_modules', name);
  if (!existsSync(src)) return;
  seen.add(name);
  const skip = SKIP_IN_PACKAGE[name];
  cpSync(src, join(destModules, name), {
    recursive: true,
    dereference: true,
    filter: (from) => {
      const rel = relative(src, from);
      return rel === '' || !skip || !skip(rel);
    },
  });
  const pkg = JSON.parse(readFileSync(join(src, 'package.json'), 'utf8'));
  const deps = { ...(pkg.dependencies ?? {}), ...(pkg.optionalDependencies ?? {}) };
  for (const dep of Object.keys(deps)) copyPackageClosure(dep, destModules, seen);
}

async function buildPayload(dir) {
  const esbuild = await import('esbuild');
  mkdirSync(join(dir, 'dist'), { recursive: true });
  // Split like the install-time bundles (scripts/cli-bundle.mjs): dist/wispanel.mjs is the command table, each
  // command's code is in dist/chunk-<hash>.mjs files loaded when it runs (`run`, the supervisor, never loads
  // the HTTP server; `--version` loads neither).
  await esbuild.build({
    entryPoints: { wispanel: join(root, 'packages/panel/src/cli.ts') },
    outdir: join(dir, 'dist'),
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
    external: [...EXTERNAL, ...IGNORED],
    logLevel: 'error',
    legalComments: 'none',
    // CommonJS packages inside an ESM bundle still call require() and use __dirname.
    banner: {
      js: [
        "import { createRequire as __wispanelCreateRequire } from 'node:module';",
        "import { fileURLToPath as __wispanelFileURLToPath } from 'node:url';",
        "import { dirname as __wispanelDirname } from 'node:path';",
        'const require = __wispanelCreateRequire(import.meta.url);',
        'const __filename = __wispanelFileURLToPath(import.meta.url);',
        'const __dirname = __wispanelDirname(__filename);',
      ].join('\n'),
    },
  });
  const modules = join(dir, 'node_modules');
  mkdirSync(modules, { recursive: true });
  const seen = new Set();
  for (const name of EXTERNAL) copyPackageClosure(name, modules, seen);
  mkdirSync(join(dir, 'bin'), { recursive: true });
  writeFileSync(
    join(dir, 'bin/wispanel.mjs'),
    [
      '#!/usr/bin/env node',
      '// Release launcher: runs the bundled panel with plain node. The release directory is where the',
      '// manifest is, so the panel can report its real version, build time and commit.',
      "import { dirname, join } from 'node:path';",
      "import { fileURLToPath } from 'node:url';",
      '',
      "process.env.WISPANEL_RELEASE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');",
      "await import('../dist/wispanel.mjs');",
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  // The stable launcher systemd runs; `install-release` copies it to <install>/bin/ (never a self-update).
  cpSync(join(root, 'packages/panel/launcher'), join(dir, 'launcher'), { recursive: true });
  const systemd = join(root, 'packages/panel/systemd');
  if (existsSync(systemd)) cpSync(systemd, join(dir, 'systemd'), { recursive: true });
  return [...seen];
}

const hash = treeHash();
const cacheRoot = join(root, '.tmp/release-cache');
const cached = join(cacheRoot, hash);
let cacheHit = existsSync(join(cached, 'dist/wispanel.mjs'));
// Builds of the same tree started together (the update tests build X, X+1… in parallel, two test files at
// once) wait for the one holding `<hash>.lock` instead of each bundling: one esbuild run per tree.
const lock = `${cached}.lock`;
let locked = false;
while (!cacheHit && !locked) {
  mkdirSync(cacheRoot, { recursive: true });
  try {
    mkdirSync(lock);
    locked = true;
    cacheHit = existsSync(join(cached, 'dist/wispanel.mjs'));
  } catch (err) {
    if (err.code !== 'EEXIST') throw err;
    let age = 0;
    try {
      age = Date.now() - statSync(lock).mtimeMs;
    } catch {
      continue; // released just now
    }
    if (age > 300_000)
      rmSync(lock, { recursive: true, force: true }); // a build that died holding it
    else await new Promise((r) => setTimeout(r, 100));
    cacheHit = existsSync(join(cached, 'dist/wispanel.mjs'));
  }
}
try {
  if (!cacheHit) {
    const building = `${cached}.building-${process.pid}`;
    rmSync(building, { recursive: true, force: true });
    await buildPayload(building);
    // A complete cache dir is never removed (another build may be copying from it); only a broken one is.
    if (existsSync(cached) && !existsSync(join(cached, 'dist/wispanel.mjs')))
      rmSync(cached, { recursive: true, force: true });
    try {
      renameSync(building, cached);
    } catch (err) {
      // Another build of the same tree won the race: its result is identical.
      if (!existsSync(join(cached, 'dist/wispanel.mjs'))) throw err;
      rmSync(building, { recursive: true, force: true });
      cacheHit = true;
    }
  }
} finally {
  if (locked) rmSync(lock, { recursive: true, force: true });
}

const top = `wispanel-${version}`;
const stage = join(cacheRoot, `stage-${process.pid}-${Date.now()}`);
mkdirSync(stage, { recursive: true });
cpSync(cached, join(stage, top), { recursive: true, verbatimSymlinks: true });
// The web console (static files the panel serves at /; built by `npm ci`), beside the bundle: <top>/console.
const consoleDist = join(root, 'packages/console/dist');
if (!existsSync(join(consoleDist, 'index.html')))
  execFileSync(process.execPath, [join(root, 'packages/console/scripts/build.mjs')], {
    cwd: root,
    stdio: 'inherit',
  });
cpSync(consoleDist, join(stage, top, 'console'), { recursive: true });
const commit = git(['rev-parse', 'HEAD']) || 'unknown';
const dirty = commit !== 'unknown' && git(['status', '--porcelain', '--untracked-files=no']) !== '';
const manifest = {
  name: 'wispanel',
  version,
  channel,
  build_time: new Date().toISOString(),
  git_commit: dirty ? `${commit}-dirty` : commit,
  node_engine: rootPkg.engines?.node ?? '>=20',
  entry: 'bin/wispanel.mjs',
  tree_hash: hash,
};
writeFileSync(join(stage, top, 'release-manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);

mkdirSync(outDir, { recursive: true });
const file = join(outDir, `${top}.tar.gz`);
const tar = await import('tar');
await tar.c({ gzip: true, file: `${file}.tmp`, cwd: stage, portable: true, noMtime: false }, [top]);
renameSync(`${file}.tmp`, file);
rmSync(stage, { recursive: true, force: true });

const bytes = readFileSync(file);
const result = {
  file,
  version,
  channel,
  size: bytes.length,
  sha256: createHash('sha256').update(bytes).digest('hex'),
  git_commit: manifest.git_commit,
  build_time: manifest.build_time,
  cached: cacheHit,
  ms: Date.now() - started,
};
if (values.json) console.log(JSON.stringify(result));
else
  console.log(
    `built ${relative(process.cwd(), file) || file} (${(result.size / 1e6).toFixed(1)} MB, sha256 ${result.sha256.slice(0, 16)}…, ${result.ms} ms${cacheHit ? ', cached bundle' : ''})`,
  );

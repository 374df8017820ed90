#!/usr/bin/env node
// `npm start`: the panel, plus — when no portal is configured — a local DEVELOPMENT portal on loopback that
// the panel trusts explicitly, so a newcomer can issue and activate a license in a few commands.
// Arguments go to `wispanel start` (e.g. `npm start -- --port 3082`). With WISPANEL_PORTAL_URL or
// --portal-url the panel starts alone, pointed at that portal. Children are stopped by PID on exit.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const PANEL = join(root, 'packages/panel/bin/wispanel.mjs');
const PORTAL = join(root, 'packages/portal/bin/wispanel-portal.mjs');
const args = process.argv.slice(2);

function argValue(name) {
  const i = args.indexOf(name);
  if (i >= 0) return args[i + 1];
  const eq = args.find((a) => a.startsWith(`${name}=`));
  return eq ? eq.slice(name.length + 1) : undefined;
}

if (process.env.WISPANEL_PORTAL_URL || argValue('--portal-url')) {
  const child = spawn(process.execPath, [PANEL, 'start', ...args], { stdio: 'inherit' });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code) => process.exit(code ?? 1));
} else {
  await startWithDevPortal();
}

async function startWithDevPortal() {
  const panelDir = resolve(argValue('--data-dir') ?? process.env.WISPANEL_DATA_DIR ?? './data');
  const portalDir = resolve(process.env.WISPANEL_DEV_PORTAL_DIR ?? join(panelDir, 'portal'));
  const adminKeyFile = join(portalDir, 'dev-admin-key');
  const children = [];
  let stopping = false;
  // Stops the children by PID and waits for them (10 s at most) before exiting.
  const stopAll = (code) => {
    if (stopping) return;
    stopping = true;
    const alive = children.filter((c) => c.exitCode === null && c.pid);
    for (const c of alive) process.kill(c.pid, 'SIGTERM');
    Promise.all(alive.map((c) => new Promise((r) => c.once('exit', r)))).then(() => process.exit(code));
    setTimeout(() => {
      for (const c of alive) if (c.exitCode === null) process.kill(c.pid, 'SIGKILL');
      process.exit(code);
    }, 10_000).unref();
  };
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => stopAll(0));

  if (!existsSync(join(portalDir, 'public-keys.json'))) {
    mkdirSync(portalDir, { recursive: true });
    const init = spawnSync(process.execPath, [PORTAL, 'init', '--data-dir', portalDir, '--json'], {
      encoding: 'utf8',
    });
    if (init.status !== 0) {
      process.stderr.write(`development portal init failed:\n${init.stderr}`);
      process.exit(1);
    }
    const result = JSON.parse(init.stdout);
    if (result.admin_key) {
      // Development only: the portal admin key is kept so every `npm start` can show it.
      writeFileSync(adminKeyFile, `${result.admin_key}\n`, { mode: 0o600 });
      chmodSync(adminKeyFile, 0o600);
    }
  }

  const portal = spawn(
    process.execPath,
    [PORTAL, 'start', '--host', '127.0.0.1', '--port', '0', '--data-dir', portalDir, '--json'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, WISPANEL_PORTAL_LOG_LEVEL: process.env.WISPANEL_PORTAL_LOG_LEVEL ?? 'warn' },
    },
  );
  children.push(portal);
  portal.stderr.on('data', (d) => {
    const text = String(d);
    if (!text.includes('FSTDEP')) process.stderr.write(`[portal] ${text}`);
  });
  const portalUrl = await new Promise((resolveUrl, reject) => {
    let buf = '';
    const onData = (d) => {
      buf += d;
      try {
        const j = JSON.parse(buf);
        portal.stdout.off('data', onData);
        portal.stdout.on('data', (x) => process.stdout.write(`[portal] ${x}`));
        resolveUrl(j.url);
      } catch {
        /* not the whole object yet */
      }
    };
    portal.stdout.on('data', onData);
    portal.on('exit', (code) => reject(new Error(`development portal exited with ${code}`)));
  }).catch((err) => {
    process.stderr.write(`${err.message}\n`);
    stopAll(1);
  });
  if (!portalUrl) return;
  portal.on('exit', (code) =>
    process.stderr.write(`[portal] development portal stopped (${code}); the panel keeps its lease\n`),
  );

  const keysRes = await fetch(`${portalUrl}/api/v1/keys`, { signal: AbortSignal.timeout(10_000) }).catch(
    (err) => ({ ok: false, status: err.message }),
  );
  if (!keysRes.ok) {
    process.stderr.write(`development portal keys could not be fetched (${keysRes.status})\n`);
    stopAll(1);
    return;
  }
  const keysText = await keysRes.text();
  mkdirSync(panelDir, { recursive: true });
  const keysFile = join(panelDir, 'dev-portal-keys.json');
  writeFileSync(keysFile, keysText);

  const panel = spawn(
    process.execPath,
    [PANEL, 'start', ...args, '--portal-url', portalUrl, '--portal-keys', keysFile, '--portal-dev', '--json'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.push(panel);
  panel.on('exit', (code) => stopAll(code ?? 1));
  let initResult = null;
  let buf = '';
  panel.stdout.on('data', (d) => {
    buf += d;
    let nl = buf.indexOf('\n');
    while (nl >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      nl = buf.indexOf('\n');
      let j = null;
      try {
        j = JSON.parse(line);
      } catch {
        /* a plain log line */
      }
      if (j && j.event === 'listening')
        banner(j.url, initResult, portalUrl, portalDir, panelDir, adminKeyFile);
      else if (j && 'hardware_id' in j && 'data_dir' in j) initResult = j;
      else process.stdout.write(`${line}\n`);
    }
  });
}

function banner(panelUrl, init, portalUrl, portalDir, panelDir, adminKeyFile) {
  const portalKey = existsSync(adminKeyFile)
    ? readFileSync(adminKeyFile, 'utf8').trim()
    : '(see the first run)';
  const key = init?.api_key;
  const rel = (p) => (p.startsWith(`${process.cwd()}/`) ? `./${p.slice(process.cwd().length + 1)}` : p);
  const lines = [
    '',
    'WisPanel is running (development setup)',
    `  web console:       ${panelUrl.replace(/\/api\/v1\/?$/, '')}/   (self-signed certificate: accept it in the browser)`,
    init?.admin?.password
      ? `  admin login:       ${init.admin.username} / ${init.admin.password}   (shown once: store it now)`
      : `  admin login:       ${init?.admin?.username ?? 'admin'} / the password shown on the first run`,
    `  panel API:         ${panelUrl}`,
    key
      ? `  admin API key:     ${key}   (shown once: store it now)`
      : `  admin API key:     issued on the first run; a new one: npx wispanel init --new-admin-key --data-dir ${rel(panelDir)}`,
    `  portal (DEV):      ${portalUrl}   (local development portal, trusted explicitly; data in ${rel(portalDir)})`,
    `  portal admin key:  ${portalKey}`,
    '',
    'Issue a license on the development portal and activate it on the panel:',
    `  npx wispanel-portal license issue --tier pro --data-dir ${rel(portalDir)}`,
    `  curl -k -X POST ${panelUrl}/license/activate -H "Authorization: Bearer ${key ?? '<admin API key>'}" -H "Content-Type: application/json" -d '{"key":"<WISP-XXXX-XXXX-XXXX from above>"}'`,
    `  curl -k ${panelUrl}/license/ -H "Authorization: Bearer ${key ?? '<admin API key>'}"`,
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

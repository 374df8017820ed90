/**
 * The clock turned back across real restarts (issue 9 item 2): a real panel process (`wispanel start`,
 * HTTPS, SQLite) started under `faketime` (libfaketime moves the process's clock only), and a stand-in portal
 * over real HTTP on loopback that keeps the true time and signs real Ed25519 files. Needs `faketime`
 * (apt-get install faketime); skipped without it.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@wispanel/kit/testing';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY, FakePortal, type HttpFakePortal, serveFakePortal } from './fake-license-portal';

const root = new URL('../../../', import.meta.url).pathname;
const PANEL_BIN = join(root, 'packages/panel/bin/wispanel.mjs');
const insecure = new Agent({ connect: { rejectUnauthorized: false } });

const hasFaketime = (() => {
  try {
    execFileSync('faketime', ['+0 days', 'true']);
    return true;
  } catch {
    return false;
  }
})();

const dir = tempDir('wispanel-license-clock-');
const panelDir = join(dir.path, 'panel');
const keysFile = join(dir.path, 'portal-keys.json');
let fake: FakePortal;
let peer: HttpFakePortal;
let adminKey = '';

interface Panel {
  child: ChildProcess;
  url: string;
  out: string;
}

/** Starts the panel under `faketime <offset>` and resolves once it prints its URL. */
function startPanel(offset: string, tick: number): Promise<Panel> {
  const args = [
    offset,
    process.execPath,
    PANEL_BIN,
    'start',
    '--data-dir',
    panelDir,
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--portal-url',
    peer.url,
    '--portal-keys',
    keysFile,
    '--license-tick',
    String(tick),
    // A check every 3 days: a clock turned back by a day is never "due" by the system clock.
    '--license-check-interval',
    String(3 * 86_400),
    '--log-level',
    'warn',
    '--json',
  ];
  // Its own process group: faketime runs the panel as its child, so stopping faketime alone would orphan it.
  const child = spawn('faketime', args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`panel did not start: ${out}`)), 120_000);
    child.stderr?.on('data', (d) => {
      out += d;
    });
    child.stdout?.on('data', (d) => {
      out += d;
      for (const line of out.split('\n')) {
        try {
          const j = JSON.parse(line);
          if (j.api_key) adminKey = j.api_key;
          if (typeof j.url === 'string') {
            clearTimeout(timer);
            resolve({ child, url: j.url, out });
            return;
          }
        } catch {
          /* not a complete line */
        }
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`panel exited with ${code}: ${out}`));
    });
  });
}

/** Stops faketime and the panel it runs (the whole process group) and waits until none of them is left. */
async function stopPanel(p: Panel): Promise<void> {
  const group = -(p.child.pid as number);
  const alive = () => {
    try {
      process.kill(group, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (alive()) process.kill(group, 'SIGTERM');
  for (let i = 0; i < 300 && alive(); i++) await new Promise((r) => setTimeout(r, 50));
  if (alive()) process.kill(group, 'SIGKILL');
}

async function api(p: Panel, method: 'GET' | 'POST', path: string, body?: unknown) {
  const res = await request(`${p.url}${path}`, {
    method,
    dispatcher: insecure,
    headers: {
      authorization: `Bearer ${adminKey}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, json: text ? JSON.parse(text) : null };
}

beforeAll(async () => {
  fake = new FakePortal(() => Date.now());
  peer = await serveFakePortal(fake);
  writeFileSync(keysFile, JSON.stringify(fake.keySet));
});
afterAll(async () => {
  await peer?.close();
  dir.remove();
});

// Never skipped in CI (.ci/run installs faketime).
describe.skipIf(!hasFaketime && process.env.CI !== 'true')(
  'the clock turned back across restarts (faketime)',
  () => {
    it('an expired license stays expired after a restart with the clock set back, and the panel asks the portal', async () => {
      // Today: a license whose term ends in 5 days (7 days of grace), lease 14 days.
      fake.termEnd = Date.now() + 5 * DAY;
      const p0 = await startPanel('+0 days', 0);
      try {
        const a = await api(p0, 'POST', '/license/activate', { key: 'WISP-ABCD-EFGH-JKMN' });
        expect(a.status, JSON.stringify(a.json)).toBe(200);
      } finally {
        await stopPanel(p0);
      }

      // 13 days later (term + grace over), the portal unreachable, the job off: expired.
      fake.up = false;
      const p1 = await startPanel('+13 days', 0);
      try {
        const s = (await api(p1, 'GET', '/license/summary')).json;
        expect(s).toMatchObject({ status: 'expired', is_valid: false, reason: 'TERM_EXPIRED' });
      } finally {
        await stopPanel(p1);
      }

      // The clock set back to "+1 day" and restarted, still with the job off: never active again.
      const p2 = await startPanel('+1 days', 0);
      try {
        const s = (await api(p2, 'GET', '/license/summary')).json;
        expect(s).toMatchObject({ status: 'expired', is_valid: false, reason: 'TERM_EXPIRED' });
        expect(s.clock.behind).toBe(true);
        expect(s.clock.behind_seconds).toBeGreaterThan(11 * 86_400);
        expect((await api(p2, 'GET', '/license')).json.license.is_valid).toBe(false);
      } finally {
        await stopPanel(p2);
      }

      // Same clock, the job on and the portal back: a clock behind the trusted time makes the panel check at
      // once (no check is "due" by the rolled-back clock), and the portal's signed time settles the question.
      fake.up = true;
      const calls = peer.received.length;
      const p3 = await startPanel('+1 days', 1);
      try {
        const end = Date.now() + 60_000;
        while (!peer.received.slice(calls).includes('refresh') && Date.now() < end) {
          await new Promise((r) => setTimeout(r, 250));
        }
        expect(peer.received.slice(calls)).toContain('refresh');
        let s = (await api(p3, 'GET', '/license/summary')).json;
        for (let i = 0; i < 40 && s.status !== 'active'; i++) {
          await new Promise((r) => setTimeout(r, 250));
          s = (await api(p3, 'GET', '/license/summary')).json;
        }
        // By the portal's (true) time the term has 5 days left: active, and the next check is days away
        // from the true time, not from the process's clock.
        expect(s).toMatchObject({ status: 'active', is_valid: true });
        expect(Date.parse(s.portal.next_check_at) - Date.now()).toBeLessThan(3.7 * DAY);
      } finally {
        await stopPanel(p3);
      }
    }, 600_000);
  },
);

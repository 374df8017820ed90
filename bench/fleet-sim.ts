/**
 * Fleet simulation: ≥ 1,000 simulated panels (distinct hardware ids and licenses) against a real portal process
 * over real HTTP, using the panel's own code — PortalDownloadClient.checkUpdate for the check, UpdateScheduler
 * (jittered interval, policy decision) for when to check and whether to install, httpReportSender for the install
 * report — with time compressed (1 simulated hour = `--hour-ms` real milliseconds; the rollout plan's hours are
 * scaled the same way). A release that fails on `--fail` of the servers (by a stable hash of the hardware id) is
 * published with the default plan (1 % → 10 % → 50 % → 100 %, 24 h apart) and the default halt policy.
 *
 *   npx tsx bench/fleet-sim.ts [--panels 1000] [--fail 0.3] [--hour-ms 1000] [--check-hours 6] [--good]
 *
 * Prints: servers that attempted the release before the halt (and at all), fleet share exposed, simulated and
 * real time to halt, portal CPU per request and per report. With --good: time to 100 % and that nothing halted.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PortalDownloadClient } from '@wispanel/client';
import { DEFAULT_ROLLOUT_STAGES } from '@wispanel/contract';
import { tempDir } from '@wispanel/kit/testing';
import { Agent } from 'undici';
import { httpReportSender } from '../packages/panel/src/modules/updates/update-report';
import { UpdateScheduler } from '../packages/panel/src/modules/updates/update-scheduler';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
};
const PANELS = Number(arg('panels', '1000'));
const FAIL = process.argv.includes('--good') ? 0 : Number(arg('fail', '0.3'));
const HOUR_MS = Number(arg('hour-ms', '1000'));
const CHECK_HOURS = Number(arg('check-hours', '6'));
const MAX_SIM_HOURS = Number(arg('max-hours', '120'));
const root = new URL('..', import.meta.url).pathname;
const bin = join(root, 'packages/portal/bin/wispanel-portal.mjs');
const run = promisify(execFile);

function cpuMs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const ticks = Number(f[11]) + Number(f[12]);
  return (ticks * 1000) / 100;
}

let portalPid: number | undefined;

async function main() {
  console.log(`fleet-sim: ${PANELS} panels, failing share ${FAIL}`);
  const dir = tempDir('wispanel-fleet-sim-');
  const data = join(dir.path, 'portal');
  const init = JSON.parse((await run(process.execPath, [bin, 'init', '--data-dir', data, '--json'])).stdout);
  const child = spawn(
    process.execPath,
    [bin, 'start', '--data-dir', data, '--port', '0', '--json', '--rate-limit', '1000000'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  portalPid = child.pid;
  const url = await new Promise<string>((resolve, reject) => {
    child.on('exit', (code) => reject(new Error(`portal exited with ${code}`)));
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /"url":\s*"([^"]+)"/.exec(out);
      if (m) resolve(m[1]!);
      else if (out.includes('"success": false')) reject(new Error(out));
    });
  });
  const dispatcher = new Agent({ connections: 8, pipelining: 1 });
  const admin = async (method: string, path: string, body?: unknown, type = 'application/json') => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { 'x-admin-key': init.admin_key, 'content-type': type },
      body: body === undefined ? undefined : body instanceof Buffer ? body : JSON.stringify(body),
    });
    // biome-ignore lint/suspicious/noExplicitAny: JSON answers of the admin API, read by the simulation
    return (await res.json()) as Record<string, any>;
  };
  console.log(`portal ${url} (pid ${child.pid}); creating ${PANELS} licensed panels…`);
  const panels: Array<{ key: string; hw: string; version: string; failing: boolean }> = [];
  for (let i = 0; i < PANELS; i += 8) {
    await Promise.all(
      Array.from({ length: Math.min(8, PANELS - i) }, async () => {
        const key = (await admin('POST', '/api/v1/admin/licenses', { tier: 'pro' })).license_key as string;
        const hw = randomBytes(32).toString('hex');
        await fetch(`${url}/api/v1/license/activate`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ key, hardware_id: hw }),
        });
        const h = createHash('sha256').update(`fail\n${hw}`).digest().readUInt32BE(0) / 2 ** 32;
        panels.push({ key, hw, version: '1.4.2', failing: h < FAIL });
      }),
    );
  }
  const target = '1.5.0';
  await admin('POST', '/api/v1/admin/versions', { version: target, changelog: '- simulated' });
  await admin(
    'PUT',
    `/api/v1/admin/versions/${target}/artifact`,
    randomBytes(2048),
    'application/octet-stream',
  );
  // The default plan, its hours compressed like everything else.
  const hourScale = HOUR_MS / 3_600_000;
  await admin('PUT', `/api/v1/admin/versions/${target}/rollout`, {
    stages: DEFAULT_ROLLOUT_STAGES.map((s) => ({
      percent: s.percent,
      after_hours: s.after_hours * hourScale,
    })),
  });
  const cpuStart = cpuMs(child.pid!);
  const t0 = Date.now();
  await admin('POST', `/api/v1/admin/versions/${target}/publish`);
  console.log(
    `published ${target}: ${FAIL * 100} % of servers fail it; default plan; 1 simulated hour = ${HOUR_MS} ms`,
  );

  let requests = 0;
  let reports = 0;
  let attempted = 0;
  let attempts = 0;
  let sendFailures = 0;
  const exposed = new Set<string>();
  let attemptedBeforeHalt = 0;
  let succeeded = 0;
  let haltedAt: number | null = null;
  const client = new PortalDownloadClient({ baseUrl: url, dispatcher });
  const schedulers: UpdateScheduler[] = [];
  for (const p of panels) {
    const send = httpReportSender({
      baseUrl: url,
      credentials: () => ({ key: p.key, hardwareId: p.hw }),
      nonce: () => randomBytes(8).toString('hex'),
      dispatcher,
    });
    let busy = false;
    const scheduler = new UpdateScheduler({
      policy: () => ({ auto_update: 'all', channel: 'stable', window: null }),
      intervalMs: CHECK_HOURS * HOUR_MS,
      check: async () => {
        requests++;
        const r = await client.checkUpdate({
          key: p.key,
          hardware_id: p.hw,
          current_version: p.version,
          channel: 'stable',
          nonce: randomBytes(8).toString('hex'),
        });
        return { available: r.update_available, critical: r.critical, latest: r.latest_version };
      },
      install: async () => {
        if (busy || p.version === target) return;
        busy = true;
        attempts++;
        if (!exposed.has(p.hw)) {
          exposed.add(p.hw);
          attempted++;
          if (haltedAt === null) attemptedBeforeHalt++;
        }
        // Download + install + health check: 5–15 simulated minutes.
        const minutes = 5 + Math.random() * 10;
        await new Promise((r) => setTimeout(r, (minutes / 60) * HOUR_MS));
        const outcome = p.failing ? 'rolled_back' : 'succeeded';
        if (outcome === 'succeeded') {
          p.version = target;
          succeeded++;
        }
        requests++;
        reports++;
        // Like the panel's report queue: retried until the portal takes it (here at once, no backoff).
        const report = {
          attempt_id: `job-${randomBytes(6).toString('hex')}`,
          from_version: '1.4.2',
          to_version: target,
          outcome,
          step: outcome === 'succeeded' ? null : 'health_check',
          error_code: outcome === 'succeeded' ? null : 'HEALTH_CHECK_FAILED',
          duration_ms: Math.round(minutes * 60_000),
        } as const;
        for (let tries = 0; tries < 20; tries++) {
          const r = await send(report);
          if (r.ok) break;
          sendFailures++;
          if (!r.retry) break;
        }
        busy = false;
      },
      notify: async () => {},
      notifiedVersion: () => null,
      setNotified: () => {},
      log: () => {},
    });
    schedulers.push(scheduler);
    scheduler.start(Math.random() * CHECK_HOURS * HOUR_MS);
  }

  let state = 'staging';
  let percent = 0;
  while ((Date.now() - t0) / HOUR_MS < MAX_SIM_HOURS) {
    await new Promise((r) => setTimeout(r, Math.max(50, HOUR_MS / 4)));
    const r = (await admin('GET', `/api/v1/admin/versions/${target}/rollout`)).rollout;
    state = r.state;
    percent = r.percent;
    if (state === 'halted' && haltedAt === null) {
      haltedAt = Date.now();
      // Keep running 24 simulated hours more: nobody new may start it.
      setTimeout(() => undefined, 0);
    }
    if (haltedAt !== null && Date.now() - haltedAt > 24 * HOUR_MS) break;
    if (FAIL === 0 && succeeded === PANELS) break;
  }
  for (const s of schedulers) s.stop();
  const wall = Date.now() - t0;
  const cpu = cpuMs(child.pid!) - cpuStart;
  const health = (await admin('GET', `/api/v1/admin/versions/${target}/health`)).health;
  const out = {
    panels: PANELS,
    failing_share: FAIL,
    state,
    percent,
    halt_reason: health.rollout.reason,
    attempted_before_halt: attemptedBeforeHalt,
    attempted_total: attempted,
    attempts_total: attempts,
    fleet_share_exposed_pct: Number(((attempted / PANELS) * 100).toFixed(2)),
    succeeded,
    time_to_halt_sim_hours: haltedAt ? Number(((haltedAt - t0) / HOUR_MS).toFixed(2)) : null,
    time_to_halt_real_s: haltedAt ? Number(((haltedAt - t0) / 1000).toFixed(1)) : null,
    sim_hours_run: Number((wall / HOUR_MS).toFixed(1)),
    portal_requests: requests,
    reports,
    report_send_failures_retried: sendFailures,
    portal_cpu_ms_per_request: Number((cpu / Math.max(1, requests)).toFixed(3)),
    portal_cpu_ms_total: Math.round(cpu),
    health_counts: {
      offered: health.offered,
      started: health.started,
      succeeded: health.succeeded,
      failed: health.failed,
      rolled_back: health.rolled_back,
    },
  };
  console.log(JSON.stringify(out, null, 2));
  if (FAIL > 0)
    console.log(
      out.fleet_share_exposed_pct < 2
        ? 'GOAL MET: < 2 % of the fleet attempted the bad release'
        : 'GOAL MISSED: ≥ 2 % attempted',
    );
  else
    console.log(
      state === 'complete' && succeeded === PANELS && !haltedAt
        ? 'GOOD RELEASE: 100 %, no halt'
        : 'GOOD RELEASE DID NOT COMPLETE',
    );
  await client.close();
  await dispatcher.close();
  child.kill('SIGTERM');
  dir.remove();
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  if (portalPid) process.kill(portalPid, 'SIGTERM');
  process.exit(1);
});

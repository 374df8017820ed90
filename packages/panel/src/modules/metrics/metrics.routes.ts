import { type App, installHttpMetrics } from '@wispanel/kit';
import { Gauge } from 'prom-client';
import type { PanelContext } from '../../context';

const LICENSE_STATUSES = ['active', 'grace', 'expired', 'invalid', 'unlicensed'] as const;
const UPDATE_OUTCOMES = ['succeeded', 'failed', 'rolled_back'] as const;

/**
 * `GET /metrics` at the root (not under /api/v1), Prometheus text format, for an **admin API key with the
 * `metrics` scope** (or `read`/`all`, which include it for GET): requests by route and status, latency
 * histograms, process metrics, license state, age of the last successful license check, update attempts by
 * outcome, the current update state, queued install reports. A key, not "loopback only": a scraper usually runs
 * on another host, and loopback is spoofable behind a local reverse proxy. Registered before the API routes so
 * its response hook sees every route.
 */
export function installPanelMetrics(app: App, ctx: PanelContext): void {
  const { registry } = installHttpMetrics(app, 'wispanel_panel');
  new Gauge({
    name: 'wispanel_panel_license_status',
    help: 'License status (1 for the current one)',
    labelNames: ['status'] as const,
    registers: [registry],
    collect() {
      const status = ctx.services.license.snapshot().evaluation.status;
      for (const s of LICENSE_STATUSES) this.set({ status: s }, s === status ? 1 : 0);
    },
  });
  new Gauge({
    name: 'wispanel_panel_license_last_check_age_seconds',
    help: 'Seconds since the last successful license check with the portal (-1: never)',
    registers: [registry],
    collect() {
      const last = ctx.services.license.snapshot().state.last_checked;
      this.set(last ? Math.max(0, (ctx.clock().getTime() - Date.parse(last)) / 1000) : -1);
    },
  });
  new Gauge({
    name: 'wispanel_panel_update_attempts',
    help: 'Finished update attempts observed by this process since start, by outcome',
    labelNames: ['outcome'] as const,
    registers: [registry],
    collect() {
      for (const o of UPDATE_OUTCOMES) this.set({ outcome: o }, ctx.services.updateAttempts.get(o) ?? 0);
    },
  });
  new Gauge({
    name: 'wispanel_panel_update_state',
    help: 'Current update job state (1 for the current one)',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      this.reset();
      const state = ctx.services.updates.status().state;
      if (state) this.set({ state }, 1);
    },
  });
  new Gauge({
    name: 'wispanel_panel_install_reports_queued',
    help: 'Install reports waiting to be sent to the portal',
    registers: [registry],
    collect() {
      this.set(ctx.services.updatePolicy.reporter?.queue.pending().length ?? 0);
    },
  });
  app.get(
    '/metrics',
    {
      config: { auth: { resource: 'metrics', roles: ['admin'] } },
      schema: { tags: ['metrics'], summary: 'Prometheus metrics (admin key with the metrics scope)' },
    },
    async (_req, reply) => {
      const body = await registry.metrics();
      return reply.header('content-type', registry.contentType).send(body);
    },
  );
}

import { ROLLOUT_STATES } from '@wispanel/contract';
import { type App, installHttpMetrics } from '@wispanel/kit';
import { Counter, Gauge } from 'prom-client';
import type { PortalServices } from '../../context';

/**
 * `GET /metrics` (Prometheus text, at the root) behind `X-Admin-Key`: requests by route and status, latency
 * histograms, process metrics, rollout state and stage percent per release, install reports by outcome,
 * licenses by status, vendor webhooks in the outbox by state, signing threads (running, failures, signatures made on
 * the event loop instead). The database-backed gauges are read at scrape time (every instance shows the shared
 * state). Registered first so its response hook sees every route.
 */
export function metricsRoutes(app: App, s: PortalServices): void {
  const { registry } = installHttpMetrics(app, 'wispanel_portal');
  new Gauge({
    name: 'wispanel_portal_rollout_state',
    help: 'Rollout state per release (1 for the current state)',
    labelNames: ['version', 'state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of await s.rollouts.list()) {
        for (const state of ROLLOUT_STATES)
          this.set({ version: r.version, state }, r.state === state ? 1 : 0);
      }
    },
  });
  new Gauge({
    name: 'wispanel_portal_rollout_percent',
    help: 'Current rollout percent per release',
    labelNames: ['version'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of await s.rollouts.list()) this.set({ version: r.version }, r.percent);
    },
  });
  new Gauge({
    name: 'wispanel_portal_install_reports',
    help: 'Install reports received (all instances), by outcome',
    labelNames: ['outcome'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const { outcome, n } of await s.rollouts.reportCounts()) this.set({ outcome }, n);
    },
  });
  new Gauge({
    name: 'wispanel_portal_webhook_outbox',
    help: 'Vendor webhook events (release.halted) in the outbox, by state: pending, delivered, failed',
    labelNames: ['state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const [state, n] of Object.entries(await s.webhooks.counts())) this.set({ state }, n);
    },
  });
  new Gauge({
    name: 'wispanel_portal_licenses',
    help: 'Licenses by stored status',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const [status, n] of await s.licenses.countByStatus()) this.set({ status }, n);
    },
  });
  new Gauge({
    name: 'wispanel_portal_signing_threads',
    help: 'Signing threads running in this instance (license answers are signed on them)',
    registers: [registry],
    collect() {
      this.set(s.signingThreads.running());
    },
  });
  new Counter({
    name: 'wispanel_portal_signing_thread_failures_total',
    help: 'Signing threads that failed (exited, threw or did not answer in 2 s); their work was signed on the event loop',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(s.signingThreads.stats().failed);
    },
  });
  new Counter({
    name: 'wispanel_portal_signatures_on_event_loop_total',
    help: 'License answers signed on the event loop instead of a signing thread (0 threads configured, or a thread failed)',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(s.signingThreads.stats().signedHere);
    },
  });
  app.get(
    '/metrics',
    {
      onRequest: s.hooks.admin,
      schema: {
        tags: ['admin: metrics'],
        summary: 'Prometheus metrics (text exposition format)',
        security: [{ adminKey: [] }],
      },
    },
    async (_req, reply) => {
      const body = await registry.metrics();
      return reply.header('content-type', registry.contentType).send(body);
    },
  );
}

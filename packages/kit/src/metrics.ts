import type { FastifyInstance } from 'fastify';
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/**
 * Prometheus metrics shared by both services: one registry per app (tests build many apps in one process),
 * process metrics, and requests by route and status with a latency histogram. The route label is the route
 * pattern (`/api/v1/admin/versions/:version`), never the raw URL, so label cardinality stays bounded; requests
 * that match no route are counted as `(unmatched)`.
 */
export interface HttpMetrics {
  registry: Registry;
}

export function installHttpMetrics(app: FastifyInstance, prefix: string): HttpMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: `${prefix}_` });
  const requests = new Counter({
    name: `${prefix}_http_requests_total`,
    help: 'HTTP requests by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: `${prefix}_http_request_duration_seconds`,
    help: 'HTTP request latency by method and route pattern',
    labelNames: ['method', 'route'] as const,
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions?.url ?? '(unmatched)';
    const method = request.method;
    requests.inc({ method, route, status: String(reply.statusCode) });
    latency.observe({ method, route }, reply.elapsedTime / 1000);
  });
  return { registry };
}

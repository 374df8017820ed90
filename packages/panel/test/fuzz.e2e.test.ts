import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import { fuzzService, startServices } from '../../../scripts/fuzz';

/**
 * `npm run fuzz` (scripts/fuzz.ts): every route of both services, read from their own OpenAPI documents, gets
 * hostile requests over real processes; any 5xx, answer outside the envelope or dropped connection fails it.
 */
describe('fuzz of every route (scripts/fuzz.ts)', () => {
  it('catches what it is for: a 5xx and an answer outside the envelope (a deliberately broken server)', async () => {
    // A stand-in for a service with two bugs (the only fake here: it exists to prove the fuzzer can fail).
    const doc = {
      openapi: '3.0.3',
      paths: {
        '/api/v1/things/{id}': { get: { responses: {} } },
        '/api/v1/things': {
          post: {
            requestBody: {
              content: {
                'application/json': { schema: { type: 'object', properties: { name: { type: 'string' } } } },
              },
            },
            responses: {},
          },
        },
      },
    };
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (req.url === '/api/v1/openapi.json') return res.end(JSON.stringify(doc));
        if (req.method === 'POST') return res.writeHead(500).end('internal error');
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not here');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const report = await fuzzService(
        { name: 'portal', url: `http://127.0.0.1:${port}`, auth: { 'x-admin-key': 'k' } },
        { requests: 40, seed: 3, concurrency: 4 },
      );
      const kinds = new Set(report.failures.map((f) => String(f.status)));
      expect(kinds).toContain('500');
      expect(kinds).toContain('404 outside the envelope');
      expect(report.failures.some((f) => f.method === 'POST' && f.path.startsWith('/api/v1/things'))).toBe(
        true,
      );
    } finally {
      server.close();
    }
  });

  it('a real portal and a real panel licensed against it: no 5xx, every refusal in the envelope', async () => {
    const services = await startServices();
    try {
      for (const target of [services.portal, services.panel]) {
        const report = await fuzzService(target, { requests: 600, seed: 11, concurrency: 8 });
        expect(report.routes, target.name).toBeGreaterThan(40);
        expect(report.requests, target.name).toBeGreaterThanOrEqual(600);
        expect(report.failures, target.name).toEqual([]);
        // Hostile input is refused, not served: most answers are 4xx.
        const refused = Object.entries(report.statuses)
          .filter(([s]) => /^4\d\d$/.test(s))
          .reduce((n, [, c]) => n + c, 0);
        expect(refused / report.requests, target.name).toBeGreaterThan(0.9);
      }
    } finally {
      await services.stop();
    }
  }, 240_000);
});

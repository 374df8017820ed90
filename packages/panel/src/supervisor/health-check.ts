import { Agent, request } from 'undici';

// The supervisor probes its own child on loopback; the child's certificate is usually self-signed.
const loopbackAgent = new Agent({
  connect: { rejectUnauthorized: false },
  headersTimeout: 5_000,
  bodyTimeout: 5_000,
});

export interface HealthProbe {
  ok: boolean;
  detail: string;
}

/** One probe: `GET /api/v1/health` answers 200 with `status: ok` and (when given) the expected version. */
export async function probeHealth(baseUrl: string, expectedVersion?: string): Promise<HealthProbe> {
  try {
    const res = await request(`${baseUrl}/api/v1/health`, { dispatcher: loopbackAgent });
    const text = await res.body.text();
    if (res.statusCode !== 200)
      return { ok: false, detail: `health answered ${res.statusCode}: ${text.slice(0, 200)}` };
    let body: { status?: unknown; version?: unknown } = {};
    try {
      body = JSON.parse(text);
    } catch {
      return { ok: false, detail: 'health answer is not JSON' };
    }
    if (body.status !== undefined && body.status !== 'ok')
      return { ok: false, detail: `health status ${String(body.status)}` };
    if (expectedVersion && body.version !== undefined && body.version !== expectedVersion) {
      return {
        ok: false,
        detail: `health reports version ${String(body.version)}, expected ${expectedVersion}`,
      };
    }
    return { ok: true, detail: 'healthy' };
  } catch (err) {
    return { ok: false, detail: `health check failed: ${(err as Error).message}` };
  }
}

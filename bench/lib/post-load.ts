import { Pool } from 'undici';

export interface LoadResult {
  name: string;
  requests: number;
  rps: number;
  /** Latency percentiles in ms. */
  p50: number;
  p99: number;
  /** CPU time of this process (server + load generator) per request: steadier than req/s on a busy machine. */
  cpuUs: number;
  /** Answers that were not 200 or did not contain `ok`. */
  errors: number;
}

/**
 * Closed-loop load (shared by the portal benches): `connections` workers POST JSON bodies (round robin from a
 * random start) to `path`, each sending the next when the previous one answered; 1 s warm-up, then `seconds`
 * measured.
 */
export async function postLoad(o: {
  name: string;
  url: string;
  path: string;
  bodies: string[];
  /** Text a good answer contains. */
  ok: string;
  seconds: number;
  connections: number;
}): Promise<LoadResult> {
  const pool = new Pool(o.url, { connections: o.connections, pipelining: 1 });
  const latencies: number[] = [];
  let errors = 0;
  const run = async (until: number, record: boolean) => {
    let i = Math.floor(Math.random() * o.bodies.length);
    while (performance.now() < until) {
      const t0 = performance.now();
      const res = await pool.request({
        path: o.path,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: o.bodies[i++ % o.bodies.length],
      });
      const text = await res.body.text();
      if (record) {
        latencies.push(performance.now() - t0);
        if (res.statusCode !== 200 || !text.includes(o.ok)) errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: o.connections }, () => run(performance.now() + 1000, false)));
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  await Promise.all(Array.from({ length: o.connections }, () => run(start + o.seconds * 1000, true)));
  const cpu = process.cpuUsage(cpu0);
  const elapsed = (performance.now() - start) / 1000;
  await pool.close();
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0;
  return {
    name: o.name,
    requests: latencies.length,
    rps: latencies.length / elapsed,
    p50: q(0.5),
    p99: q(0.99),
    cpuUs: (cpu.user + cpu.system) / Math.max(1, latencies.length),
    errors,
  };
}

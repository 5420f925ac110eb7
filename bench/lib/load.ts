// A small keep-alive HTTP load generator: N connections, each a loop of GETs
// over a list of paths, for a fixed time. Written on node:http (an Agent
// with keepAlive and maxSockets = N) rather than taken from npm, so the
// benchmark has no dependency and measures exactly one request per
// connection at a time, latency per request from just before the request is
// written to the last body byte.
import { Agent, request } from 'node:http';

export interface LoadOptions {
  base: string;
  paths: string[];
  headers?: Record<string, string>;
  connections: number;
  durationMs: number;
  /** Requests in this first stretch are made but not counted (connections opened, JIT warm). */
  warmupMs?: number;
}

export interface LoadResult {
  requests: number;
  bytes: number;
  errors: number;
  seconds: number;
  rps: number;
  mbps: number;
  p50: number;
  p99: number;
}

function get(
  agent: Agent,
  url: URL,
  headers: Record<string, string>,
): Promise<{ status: number; bytes: number }> {
  return new Promise((done, fail) => {
    const req = request(url, { agent, headers }, (res) => {
      let bytes = 0;
      res.on('data', (b: Buffer) => (bytes += b.length));
      res.on('end', () => done({ status: res.statusCode ?? 0, bytes }));
      res.on('error', fail);
    });
    req.on('error', fail);
    req.end();
  });
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: o.connections, maxFreeSockets: o.connections });
  const urls = o.paths.map((p) => new URL(p, o.base));
  const headers = o.headers ?? {};
  const start = performance.now();
  const countFrom = start + (o.warmupMs ?? 0);
  const end = countFrom + o.durationMs;
  const latencies: number[] = [];
  let bytes = 0;
  let errors = 0;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      const url = urls[next++ % urls.length]!;
      const t = performance.now();
      try {
        const r = await get(agent, url, headers);
        if (t >= countFrom) {
          if (r.status !== 200) errors++;
          else {
            latencies.push(performance.now() - t);
            bytes += r.bytes;
          }
        }
      } catch {
        if (t >= countFrom) errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: o.connections }, worker));
  agent.destroy();
  const seconds = (Math.max(performance.now(), end) - countFrom) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return {
    requests: latencies.length,
    bytes,
    errors,
    seconds,
    rps: latencies.length / seconds,
    mbps: bytes / 1024 / 1024 / seconds,
    p50: pct(0.5),
    p99: pct(0.99),
  };
}

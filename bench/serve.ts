// Chunk serving: `capsule serve` (GET /objects/DIGEST, with a bearer token,
// the entitlement check and verification of every object it sends) against
// nginx serving the very same files from the server's object directory.
//
//   node dist/bench/serve.js [--seconds 5] [--rounds 5] [--connections 256,16] [--workers 1] [--no-docs]
//
// The Yosys package (bench/stream.ts's tree: yosys.wasm, share/, a design) is
// pushed to a fresh server; the paths are every object of the package, in
// the order of the server's object directory, requested round-robin by
// bench/lib/load.ts with N keep-alive connections for a fixed time, after a
// 1 s warm-up. Rounds alternate capsule, nginx, capsule, ... and the table
// gives medians. nginx is started here with a private configuration on a
// free port (no system service), with `worker_processes` = --workers
// (default 1: capsule serve is one Node process, one event loop).
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { capsuleSync, grant, load, startBenchServer, writeGenerated } from './lib/harness.js';
import { runLoad, type LoadResult } from './lib/load.js';
import { buildTree, streamApps } from './lib/apps.js';
import { benchDir, machine, median } from './workloads.js';

const dir = join(benchDir, 'serve');
const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => done(port));
    });
  });
}

async function startNginx(objects: string, workers: number): Promise<{ url: string; child: ChildProcess }> {
  if (!NGINX) throw new Error('nginx is not installed (apt-get install nginx; scripts/setup.sh does it)');
  const prefix = join(dir, 'nginx');
  mkdirSync(join(prefix, 'tmp'), { recursive: true });
  const port = await freePort();
  const conf = join(prefix, 'nginx.conf');
  // The same URL scheme as capsule serve: /objects/sha256:HEX -> objects/sha256/HE/HEX.
  writeFileSync(
    conf,
    `worker_processes ${workers};
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  keepalive_timeout 75s;
  default_type application/octet-stream;
  client_body_temp_path ${prefix}/tmp/body;
  proxy_temp_path ${prefix}/tmp/proxy;
  fastcgi_temp_path ${prefix}/tmp/fastcgi;
  uwsgi_temp_path ${prefix}/tmp/uwsgi;
  scgi_temp_path ${prefix}/tmp/scgi;
  server {
    listen 127.0.0.1:${port};
    location ~ "^/objects/sha256:([0-9a-f]{2})([0-9a-f]{62})$" {
      alias ${objects}/sha256/$1/$1$2;
      add_header Cache-Control "public, max-age=31536000, immutable";
    }
  }
}
`,
  );
  const child = spawn(
    NGINX,
    ['-p', prefix, '-c', conf, '-e', join(prefix, 'error.log'), '-g', 'daemon off;'],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let err = '';
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`nginx exited ${child.exitCode}: ${err}`);
    try {
      await fetch(`${url}/`);
      break;
    } catch {
      if (i > 100) throw new Error(`nginx did not start: ${err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return { url, child };
}

/** User + system CPU time (ms) of these processes and their children processes (nginx's workers). */
function cpuMs(pid: number): number {
  const ticks = (p: number) => {
    try {
      const f = readFileSync(`/proc/${p}/stat`, 'utf8');
      const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
      return Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of the line)
    } catch {
      return 0;
    }
  };
  let total = ticks(pid);
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const f = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(f.slice(f.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) total += ticks(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return (total * 1000) / 100; // USER_HZ is 100 on Linux
}

function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done();
    child.once('exit', () => done());
    child.kill(signal);
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '5' },
      rounds: { type: 'string', default: '5' },
      connections: { type: 'string', default: '256,16' },
      workers: { type: 'string', default: '1' },
      'no-docs': { type: 'boolean', default: false },
    },
  });
  const seconds = Number(values.seconds);
  const rounds = Number(values.rounds);
  const conns = values.connections!.split(',').map(Number);
  const workers = Number(values.workers);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const adminHome = join(dir, 'admin');
  const dataDir = join(dir, 'server');
  const server = await startBenchServer(dataDir, adminHome);
  let nginx: { url: string; child: ChildProcess } | null = null;
  const loads = [load()];
  const results: {
    conns: number;
    capsule: LoadResult[];
    nginx: LoadResult[];
    cpu: { capsule: number[]; nginx: number[] };
  }[] = [];
  let objectCount = 0;
  try {
    const app = streamApps().find((a) => a.key === 'yosys')!;
    const why = app.prepare();
    if (why) throw new Error(why);
    const tree = join(dir, 'tree');
    buildTree(tree, app.tree);
    const pub = { CAPSULE_HOME: join(dir, 'pub'), CAPSULE_TOKEN: server.tokens.pub! };
    capsuleSync(['pack', tree, '--name', app.name, '--version', '1.0.0', '--entry', app.entry], pub);
    capsuleSync(['push', `${app.name}@1.0.0`, '--server', server.url], pub);
    grant(server, adminHome, app.name);
    const objects = join(dataDir, 'objects');
    const paths: string[] = [];
    for (const shard of readdirSync(join(objects, 'sha256')).sort())
      for (const hex of readdirSync(join(objects, 'sha256', shard)).sort())
        paths.push(`/objects/sha256:${hex}`);
    objectCount = paths.length;
    // The server keeps its data dir private (0700); nginx's workers (user nobody) need to traverse it.
    chmodSync(dataDir, 0o711);
    nginx = await startNginx(objects, workers);
    const headers = { authorization: `Bearer ${server.tokens.bob!}` };
    // Both serve the same bytes.
    for (const p of paths.slice(0, 20)) {
      const [a, b] = await Promise.all(
        [server.url, nginx.url].map(async (u) =>
          Buffer.from(await (await fetch(u + p, { headers })).arrayBuffer()),
        ),
      );
      if (!a!.equals(b!)) throw new Error(`capsule and nginx differ on ${p}`);
    }
    for (const c of conns) {
      const r = { conns: c, capsule: [] as LoadResult[], nginx: [] as LoadResult[] };
      const cpu = { capsule: [] as number[], nginx: [] as number[] };
      for (let i = 0; i < rounds; i++) {
        for (const [name, base] of [
          ['capsule', server.url],
          ['nginx', nginx.url],
        ] as const) {
          const pid = (name === 'capsule' ? server.child.pid : nginx.child.pid)!;
          const cpu0 = cpuMs(pid);
          const x = await runLoad({
            base,
            paths,
            headers,
            connections: c,
            durationMs: seconds * 1000,
            warmupMs: 1000,
          });
          // CPU per request (the whole round, warm-up included): steadier than req/s on a busy machine.
          cpu[name].push((cpuMs(pid) - cpu0) / (x.rps * (x.seconds + 1)));
          r[name].push(x);
          process.stdout.write(
            `${c} connections, ${name}: ${x.rps.toFixed(0)} req/s, ${x.mbps.toFixed(1)} MiB/s, ` +
              `p50 ${x.p50.toFixed(1)} ms, p99 ${x.p99.toFixed(1)} ms, ${x.errors} errors, ` +
              `${(1000 * cpu[name].at(-1)!).toFixed(0)} µs CPU/request\n`,
          );
        }
        loads.push(load());
      }
      results.push({ ...r, cpu });
    }
  } finally {
    if (nginx) await stop(nginx.child, 'SIGQUIT');
    await server.stop();
  }

  const m = (xs: LoadResult[], f: (x: LoadResult) => number) => median(xs.map(f));
  const lines = [
    `Measured ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')} on ${machine()}; ${objectCount} objects of the Yosys package ` +
      `(the whole package, requested round-robin), ${rounds} rounds of ${seconds} s per server and connection count after ` +
      `a 1 s warm-up, alternating capsule, nginx; nginx with worker_processes ${workers}; ` +
      `the load generator (bench/lib/load.ts) in a third process. 1-minute load average: ${loads.join(', ')}.`,
    '',
    'Ratios are capsule / nginx: "median ratio" is the median of the ratios of each round\'s capsule and nginx runs ' +
      '(back to back, so under the same background load), "CPU" the servers\' own CPU time per request ' +
      '(from /proc, whole round), which a busy machine disturbs less than throughput.',
    '',
    '| connections | capsule req/s | nginx req/s | ratio of medians | **median ratio** | capsule MiB/s | nginx MiB/s | capsule p50 / p99 | nginx p50 / p99 | CPU/request capsule / nginx | **nginx / capsule CPU** | errors (capsule, nginx) |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const r of results) {
    const cr = m(r.capsule, (x) => x.rps);
    const nr = m(r.nginx, (x) => x.rps);
    const lat = (xs: LoadResult[]) =>
      `${m(xs, (x) => x.p50).toFixed(1)} / ${m(xs, (x) => x.p99).toFixed(1)} ms`;
    const errs = (xs: LoadResult[]) => xs.reduce((n, x) => n + x.errors, 0);
    lines.push(
      `| ${r.conns} | ${cr.toFixed(0)} | ${nr.toFixed(0)} | ${(cr / nr).toFixed(2)} | ` +
        `**${median(r.capsule.map((x, i) => x.rps / r.nginx[i]!.rps)).toFixed(2)}** | ` +
        `${m(r.capsule, (x) => x.mbps).toFixed(1)} | ${m(r.nginx, (x) => x.mbps).toFixed(1)} | ` +
        `${lat(r.capsule)} | ${lat(r.nginx)} | ` +
        `${(1000 * median(r.cpu.capsule)).toFixed(0)} / ${(1000 * median(r.cpu.nginx)).toFixed(0)} µs | ` +
        `**${(median(r.cpu.nginx) / median(r.cpu.capsule)).toFixed(2)}** | ${errs(r.capsule)}, ${errs(r.nginx)} |`,
    );
  }
  const body = lines.join('\n');
  process.stdout.write(`\n${body}\n`);
  if (!values['no-docs'])
    writeGenerated('serve', '## Chunk serving: capsule serve vs nginx (generated)', body);
}

await main();

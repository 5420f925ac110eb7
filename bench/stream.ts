// Streamed delivery benchmarks (docs/benchmarks.md, "Streamed cold start" and "Push of a second version"):
//
//   node dist/bench/stream.js [--apps yosys,flite,sqlite] [--runs N] [--mbit 50] [--rtt 20] [--split] [--no-push] [--no-docs]
//
// (a) For each app: a streamed cold start (`capsule run URL/NAME@1.0.0` with
//     an empty CAPSULE_HOME) against pull-then-run (`capsule pull`, then
//     `capsule run NAME@1.0.0`, also from an empty CAPSULE_HOME), both through
//     bench/lib/throttle-proxy.ts (default 50 Mbit/s each way, 20 ms RTT).
//     Runs alternate (streamed, pull+run; then pull+run, streamed; ...).
//     Measured from just before the first command is spawned: the time to the
//     app's first output (the first byte on its stdout or stderr), the time
//     to completion, and the bytes the proxy delivered to the client by then.
//     Each app is a package with its launch profile recorded by
//     `capsule profile record` (the same arguments as the timed runs), so the
//     streamed run prefetches it. With --split, the profile run also splits
//     the entry module (`capsule profile record --split`: function-level
//     streaming), and the docs section is `stream-split` instead.
// (c) Push of a second version through the proxy: Yosys with one share/ file
//     edited, Flite with 16 bytes patched in the middle of flite.wasm: what
//     `capsule push` sent, and the bytes on the wire, against the package.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startThrottleProxy, type ThrottleProxy } from './lib/throttle-proxy.js';
import { buildTree, streamApps, type StreamApp } from './lib/apps.js';
import {
  capsuleAsync,
  capsuleMain,
  capsuleSync,
  grant,
  load,
  mib,
  startBenchServer,
  writeGenerated,
  type BenchServer,
} from './lib/harness.js';
import { benchDir, fmt, machine, median, root } from './workloads.js';

const dir = join(benchDir, 'stream');

/** Stored size of every object of a package on the server (manifest, indexes, profile, chunks). */
function packageBytes(
  dataDir: string,
  manifestDigest: string,
): { total: number; entry: number; raw: number; objects: number } {
  const path = (d: string) => {
    const hex = d.replace(/^sha256:/, '');
    return join(dataDir, 'objects/sha256', hex.slice(0, 2), hex);
  };
  const size = (d: string) => statSync(path(d)).size;
  const manifest = JSON.parse(readFileSync(path(manifestDigest), 'utf8')) as {
    entry: string;
    layers: { digest: string }[];
    profile: string | null;
  };
  const seen = new Set<string>([manifestDigest]);
  let entry = 0;
  let raw = 0;
  for (const l of manifest.layers) {
    seen.add(l.digest);
    const index = JSON.parse(readFileSync(path(l.digest), 'utf8')) as {
      entries: { path: string; size?: number; chunks?: { digest: string }[] }[];
    };
    for (const e of index.entries) {
      raw += e.chunks ? (e.size ?? 0) : 0;
      for (const c of e.chunks ?? []) {
        if (`/${e.path}` === manifest.entry && !seen.has(c.digest)) entry += size(c.digest);
        seen.add(c.digest);
      }
    }
  }
  if (manifest.profile) seen.add(manifest.profile);
  let total = 0;
  for (const d of seen) total += size(d);
  return { total, entry, raw, objects: seen.size };
}

interface Sample {
  firstMs: number;
  doneMs: number;
  firstBytes: number;
  doneBytes: number;
  code: number | null;
  stdout: string;
}

/** Spawns the CLI; resolves at exit with the time and proxy bytes at its first output. */
function timedRun(
  args: string[],
  env: NodeJS.ProcessEnv,
  proxy: ThrottleProxy,
  t0: number,
  down0: number,
  first: { ms: number; bytes: number } | null,
): Promise<Sample> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [capsuleMain, ...args], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let seen = first;
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const mark = () => {
      seen ??= { ms: performance.now() - t0, bytes: proxy.stats().down - down0 };
    };
    child.stdout.on('data', (b: Buffer) => {
      mark();
      out.push(b);
    });
    child.stderr.on('data', (b: Buffer) => {
      mark();
      err.push(b);
    });
    child.on('error', fail);
    child.on('close', (code) => {
      const stdout = Buffer.concat(out).toString();
      if (code !== 0)
        return fail(new Error(`capsule ${args.join(' ')} exited ${code}: ${Buffer.concat(err).toString()}`));
      done({
        firstMs: seen?.ms ?? NaN,
        firstBytes: seen?.bytes ?? NaN,
        doneMs: performance.now() - t0,
        doneBytes: proxy.stats().down - down0,
        code,
        stdout,
      });
    });
  });
}

async function streamed(app: StreamApp, proxy: ThrottleProxy, token: string, run: number): Promise<Sample> {
  const home = join(dir, 'homes', `${app.key}-s${run}`);
  rmSync(home, { recursive: true, force: true });
  const env = { CAPSULE_HOME: home, CAPSULE_TOKEN: token };
  const down0 = proxy.stats().down;
  const t0 = performance.now();
  const s = await timedRun(
    ['run', '--allow-unsigned', `${proxy.url}/${app.name}@1.0.0`, '--', ...app.args],
    env,
    proxy,
    t0,
    down0,
    null,
  );
  rmSync(home, { recursive: true, force: true });
  return s;
}

async function pullThenRun(
  app: StreamApp,
  proxy: ThrottleProxy,
  token: string,
  run: number,
): Promise<Sample> {
  const home = join(dir, 'homes', `${app.key}-p${run}`);
  rmSync(home, { recursive: true, force: true });
  const env = { CAPSULE_HOME: home, CAPSULE_TOKEN: token };
  const down0 = proxy.stats().down;
  const t0 = performance.now();
  await timedRun(
    ['pull', '--allow-unsigned', `${proxy.url}/${app.name}@1.0.0`],
    env,
    proxy,
    t0,
    down0,
    { ms: NaN, bytes: NaN }, // pull's own progress output is not the app's
  );
  const s = await timedRun(['run', `${app.name}@1.0.0`, '--', ...app.args], env, proxy, t0, down0, null);
  rmSync(home, { recursive: true, force: true });
  return s;
}

interface AppResult {
  app: StreamApp;
  size: { total: number; entry: number; raw: number; objects: number };
  profileChunks: number;
  s: Sample[];
  p: Sample[];
  sameOutput: boolean;
}

interface PushResult {
  what: string;
  sent: string;
  wire: number;
  packageBytes: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      apps: { type: 'string', default: 'yosys,flite,sqlite' },
      runs: { type: 'string', default: '5' },
      mbit: { type: 'string', default: '50' },
      rtt: { type: 'string', default: '20' },
      split: { type: 'boolean', default: false },
      'no-push': { type: 'boolean', default: false },
      'no-docs': { type: 'boolean', default: false },
    },
  });
  const runs = Number(values.runs);
  const wanted = new Set(values.apps!.split(','));
  const apps = streamApps().filter((a) => wanted.has(a.key));
  for (const a of apps) {
    const why = a.prepare();
    if (why) throw new Error(`${a.key}: ${why}`);
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const adminHome = join(dir, 'admin');
  const pubHome = join(dir, 'pub');
  const dataDir = join(dir, 'server');
  const server: BenchServer = await startBenchServer(dataDir, adminHome);
  const bps = Number(values.mbit) * 1e6;
  const rtt = Number(values.rtt);
  const proxy = await startThrottleProxy({
    target: { host: '127.0.0.1', port: server.port },
    bandwidthBps: bps,
    rttMs: rtt,
  });
  const pub = { CAPSULE_HOME: pubHome, CAPSULE_TOKEN: server.tokens.pub! };
  const results: AppResult[] = [];
  const pushes: PushResult[] = [];
  const loads = [load()];
  try {
    for (const app of apps) {
      const tree = join(dir, 'trees', app.key);
      buildTree(tree, app.tree);
      capsuleSync(['pack', tree, '--name', app.name, '--version', '1.0.0', '--entry', app.entry], pub);
      const rec = capsuleSync(
        ['profile', 'record', ...(values.split ? ['--split'] : []), `${app.name}@1.0.0`, '--', ...app.args],
        pub,
      );
      const profileChunks = Number(/recorded (\d+) chunks/.exec(rec)?.[1] ?? NaN);
      const up0 = proxy.stats().up;
      const pushed = await capsuleAsync(['push', `${app.name}@1.0.0`, '--server', proxy.url], pub);
      grant(server, adminHome, app.name);
      const digest = /(sha256:[0-9a-f]{64})/.exec(pushed)![1]!;
      const size = packageBytes(dataDir, digest);
      pushes.push({
        what: `${app.name}@1.0.0 (first push)`,
        sent: /sent (.*)/.exec(pushed)?.[1] ?? '?',
        wire: proxy.stats().up - up0,
        packageBytes: size.total,
      });
      process.stdout.write(
        `${app.key}: ${size.objects} objects, ${mib(size.total)} stored (${mib(size.entry)} entry), ` +
          `${mib(size.raw)} raw; profile ${profileChunks} chunks\n`,
      );
      const s: Sample[] = [];
      const p: Sample[] = [];
      for (let i = 0; i < runs; i++) {
        if (i % 2 === 0) {
          s.push(await streamed(app, proxy, server.tokens.bob!, i));
          p.push(await pullThenRun(app, proxy, server.tokens.bob!, i));
        } else {
          p.push(await pullThenRun(app, proxy, server.tokens.bob!, i));
          s.push(await streamed(app, proxy, server.tokens.bob!, i));
        }
        const [ls, lp] = [s.at(-1)!, p.at(-1)!];
        process.stdout.write(
          `  run ${i + 1}: streamed first ${fmt(ls.firstMs)} (${mib(ls.firstBytes)}) done ${fmt(ls.doneMs)} (${mib(ls.doneBytes)}); ` +
            `pull+run first ${fmt(lp.firstMs)} done ${fmt(lp.doneMs)} (${mib(lp.doneBytes)})\n`,
        );
      }
      const norm = (x: Sample) => app.normalize(x.stdout);
      const sameOutput = [...s, ...p].every((x) => norm(x) === norm(s[0]!)) && norm(s[0]!).length > 0;
      results.push({ app, size, profileChunks, s, p, sameOutput });
      loads.push(load());
    }

    if (!values['no-push']) {
      for (const r of results.filter((x) => x.app.key === 'yosys' || x.app.key === 'flite')) {
        const app = r.app;
        const tree = join(dir, 'trees', `${app.key}-v2`);
        buildTree(tree, app.tree);
        let what: string;
        if (app.key === 'yosys') {
          const f = join(tree, 'share/techmap.v');
          writeFileSync(f, readFileSync(f, 'utf8').replace('module', '// edited in 1.0.1\nmodule'));
          what = `${app.name}@1.0.1: share/techmap.v edited (one line added)`;
        } else {
          const f = join(tree, 'bin/flite.wasm');
          const b = readFileSync(f);
          b.fill(0x5a, Math.floor(b.length * 0.4), Math.floor(b.length * 0.4) + 16);
          writeFileSync(f, b);
          what = `${app.name}@1.0.1: 16 bytes of flite.wasm patched at 40%`;
        }
        capsuleSync(['pack', tree, '--name', app.name, '--version', '1.0.1', '--entry', app.entry], pub);
        const up0 = proxy.stats().up;
        const pushed = await capsuleAsync(['push', `${app.name}@1.0.1`, '--server', proxy.url], pub);
        const digest = /(sha256:[0-9a-f]{64})/.exec(pushed)![1]!;
        pushes.push({
          what,
          sent: /sent (.*)/.exec(pushed)?.[1] ?? '?',
          wire: proxy.stats().up - up0,
          packageBytes: packageBytes(dataDir, digest).total,
        });
      }
    }
  } finally {
    await proxy.close();
    await server.stop();
  }

  const body = report(results, pushes, { runs, mbit: Number(values.mbit), rtt, loads });
  process.stdout.write(`\n${body}\n`);
  if (!values['no-docs'])
    writeGenerated(
      values.split ? 'stream-split' : 'stream',
      values.split
        ? '### The same, with function-level streaming (`--split`)'
        : '## Streamed delivery (generated)',
      body,
    );
}

function report(
  results: AppResult[],
  pushes: PushResult[],
  o: { runs: number; mbit: number; rtt: number; loads: string[] },
): string {
  const ratio = (a: number, b: number) => (a / b).toFixed(2);
  const lines = [
    `Measured ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')} on ${machine()}; ${o.runs} runs of each mode per app, ` +
      `alternating; through bench/lib/throttle-proxy.ts at ${o.mbit} Mbit/s each way and ${o.rtt} ms RTT ` +
      `(1-minute load average during the runs: ${o.loads.join(', ')}).`,
    '',
    '(a) Streamed cold start (`capsule run URL/NAME@1.0.0`, empty CAPSULE_HOME) vs pull-then-run ' +
      '(`capsule pull URL/NAME@1.0.0; capsule run NAME@1.0.0`, empty CAPSULE_HOME). Medians; ' +
      '"first output" is the first byte the app writes to stdout or stderr, timed from the first spawn; ' +
      'bytes are what the proxy delivered to the client by then (HTTP headers included).',
    '',
    '| app | package (stored) | entry module (stored) | streamed: first output | pull+run: first output | ratio | streamed: done | pull+run: done | ratio | bytes before first output, streamed | share of package | profile chunks | same output |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const r of results) {
    const m = (xs: Sample[], f: (x: Sample) => number) => median(xs.map(f));
    const sf = m(r.s, (x) => x.firstMs);
    const pf = m(r.p, (x) => x.firstMs);
    const sd = m(r.s, (x) => x.doneMs);
    const pd = m(r.p, (x) => x.doneMs);
    const sb = m(r.s, (x) => x.firstBytes);
    lines.push(
      `| ${r.app.title} | ${mib(r.size.total)} (${r.size.objects} objects; ${mib(r.size.raw)} raw) | ${mib(r.size.entry)} | ` +
        `${fmt(sf)} | ${fmt(pf)} | **${ratio(sf, pf)}** | ${fmt(sd)} | ${fmt(pd)} | **${ratio(sd, pd)}** | ` +
        `${mib(sb)} | **${((100 * sb) / r.size.total).toFixed(0)}%** | ${r.profileChunks} | ${r.sameOutput ? 'yes' : 'NO'} |`,
    );
  }
  lines.push('', 'Min–max of each column, for the noise:', '');
  for (const r of results) {
    const span = (xs: number[]) => `${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))}`;
    lines.push(
      `- ${r.app.key}: streamed first ${span(r.s.map((x) => x.firstMs))}, done ${span(r.s.map((x) => x.doneMs))}; ` +
        `pull+run first ${span(r.p.map((x) => x.firstMs))}, done ${span(r.p.map((x) => x.doneMs))}; ` +
        `streamed bytes in all ${mib(median(r.s.map((x) => x.doneBytes)))}, pull ${mib(median(r.p.map((x) => x.doneBytes)))}`,
    );
  }
  if (pushes.length > 0) {
    lines.push(
      '',
      '(c) Push through the same proxy (`capsule push NAME@VERSION --server PROXY`): what push reports it sent, ' +
        "and the bytes on the wire (client to server, HTTP included), against the package's stored size.",
      '',
      '| push | push reports | on the wire | package (stored) | wire / package |',
      '|---|---|---:|---:|---:|',
    );
    for (const p of pushes)
      lines.push(
        `| ${p.what} | sent ${p.sent} | ${mib(p.wire)} | ${mib(p.packageBytes)} | **${((100 * p.wire) / p.packageBytes).toFixed(1)}%** |`,
      );
  }
  return lines.join('\n');
}

await main();

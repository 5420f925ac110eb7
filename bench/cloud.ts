// Cloud sessions: keystroke-to-echo latency over the WebSocket terminal, at 1
// and at N concurrent sessions, and the server's memory per idle session.
//
//   node dist/bench/cloud.js [--sessions N] [--keys K] [--interval MS]
//
// A real `capsule serve` (a child process) runs the guest test program `cat`
// (tests/guest/cat.c: it writes back each line it reads) as a package; the
// clients are `ws` sockets in this process. Two latencies:
//   app echo   "k\n" sent as one keystroke, until cat's "k\n" comes back: the
//              whole path (WebSocket, stdin bridge into the worker, the guest's
//              read and write, the output window, WebSocket back)
//   pty echo   one key in a terminal (tty=1) session, until the server's line
//              discipline echoes it: the server's main thread only
// Each session types K keys, one every MS ms (with ±50% jitter, so sessions do
// not type in lockstep), all sessions at once. Memory: the server's RSS with N
// idle sessions open (of cat, and of the SQLite shell) against none.
// Results are printed as Markdown; docs/benchmarks.md ("Cloud sessions") has them.
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { TerminalConnection } from '../src/delivery/remote/terminal.js';
import { machine, root } from './workloads.js';

const { values } = parseArgs({
  options: {
    sessions: { type: 'string', default: '100' },
    keys: { type: 'string', default: '40' },
    interval: { type: 'string', default: '100' },
  },
});
const N = Number(values.sessions);
const KEYS = Number(values.keys);
const INTERVAL = Number(values.interval);
const cli = join(root, 'dist/src/cli/main.js');
const ADMIN = 'admin-token-for-the-cloud-bench-0123';

function run(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [cli, ...args], { env: { ...process.env, ...env }, stdio: 'pipe' });
    let out = '';
    let err = '';
    c.stdout.on('data', (b: Buffer) => (out += b));
    c.stderr.on('data', (b: Buffer) => (err += b));
    c.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${args.join(' ')}: ${err}`))));
  });
}

async function startServer(dir: string) {
  const child = spawn(
    process.execPath,
    [cli, 'serve', '--port', '0', '--data', join(dir, 'data'), '--allow-unsigned'].concat(
      ['--max-sessions', String(N + 10), '--sessions-per-user', String(N + 10)],
      // Room for N sessions' worth of keystrokes per client.
      ['--ws-rate', '1000'],
    ),
    { env: { ...process.env, CAPSULE_ADMIN_TOKEN: ADMIN }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const url = await new Promise<string>((resolve) => {
    let out = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b;
      const m = /listening on (http:\/\/[0-9.]+:\d+)/.exec(out);
      if (m) resolve(m[1]!);
    });
  });
  return { child, url };
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) / 1024;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

/** One typing session: sends a key, waits for `expect` in the output, records the time. */
class Typist {
  private buffer = '';
  private waiting: { want: string; resolve: () => void } | null = null;
  conn!: TerminalConnection;

  async open(url: string, token: string, app: string, tty: boolean): Promise<void> {
    this.conn = await TerminalConnection.open(
      url,
      token,
      { app, tty, args: [] },
      {
        output: (_fd, bytes) => {
          this.buffer += bytes.toString('latin1');
          if (this.waiting && this.buffer.includes(this.waiting.want)) {
            this.buffer = '';
            const w = this.waiting;
            this.waiting = null;
            w.resolve();
          }
        },
      },
    );
  }

  /** Sends `key` and returns the ms until `want` is seen. */
  async key(key: string, want: string): Promise<number> {
    const seen = new Promise<void>((resolve) => (this.waiting = { want, resolve }));
    const t0 = performance.now();
    this.conn.stdin(Buffer.from(key, 'latin1'));
    await seen;
    return performance.now() - t0;
  }
}

async function latency(url: string, token: string, sessions: number, tty: boolean): Promise<number[]> {
  const typists: Typist[] = [];
  for (let i = 0; i < sessions; i++) {
    const t = new Typist();
    await t.open(url, token, 'cat', tty);
    typists.push(t);
  }
  // Warm up: the first line through each session (the guest is started and reading).
  await Promise.all(typists.map((t) => (tty ? t.key('w\r', '\n') : t.key('w\n', 'w\n'))));
  await sleep(200);
  const samples: number[] = [];
  await Promise.all(
    typists.map(async (t, i) => {
      await sleep((i / sessions) * INTERVAL);
      for (let k = 0; k < KEYS; k++) {
        const c = String.fromCharCode(97 + (k % 26));
        samples.push(tty ? await t.key(c, c) : await t.key(`${c}\n`, `${c}\n`));
        await sleep(INTERVAL * (0.5 + Math.random()));
      }
    }),
  );
  for (const t of typists) {
    t.conn.eof();
    await t.conn.closed;
  }
  return samples;
}

async function idleMemory(url: string, token: string, pid: number, app: string, sessions: number) {
  await sleep(1000);
  const before = rssMiB(pid);
  const conns: TerminalConnection[] = [];
  for (let i = 0; i < sessions; i++) {
    const c = await TerminalConnection.open(url, token, { app, args: app === 'sqlite' ? [':memory:'] : [] });
    conns.push(c);
  }
  // Each guest has started and is blocked reading stdin.
  await sleep(3000);
  const after = rssMiB(pid);
  for (const c of conns) {
    c.eof();
    await c.closed;
  }
  return { before, after, perSession: (after - before) / sessions };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'capsule-bench-cloud-'));
  const { child, url } = await startServer(dir);
  try {
    const adminEnv = { CAPSULE_HOME: join(dir, 'home'), CAPSULE_TOKEN: ADMIN };
    for (const [app, program] of [
      ['cat', 'cat'],
      ['sqlite', 'sqlite3'],
    ] as const) {
      const tree = join(dir, 'trees', app);
      mkdirSync(join(tree, 'bin'), { recursive: true });
      cpSync(join(root, 'build/wasm', `${program}.wasm`), join(tree, 'bin', `${program}.wasm`));
      await run(
        ['pack', tree, '--name', app, '--version', '1.0.0', '--entry', `/bin/${program}.wasm`],
        adminEnv,
      );
      await run(['push', `${app}@1.0.0`, '--server', url], adminEnv);
    }
    console.log(`## Cloud sessions (${machine()})\n`);
    console.log(`Each session types ${KEYS} keys, one every ${INTERVAL} ms ±50%.\n`);
    console.log('| sessions | echo | samples | p50 ms | p99 ms | max ms |');
    console.log('| -------- | ---- | ------- | ------ | ------ | ------ |');
    for (const sessions of [1, N]) {
      for (const tty of [false, true]) {
        const xs = await latency(url, ADMIN, sessions, tty);
        const f = (v: number) => v.toFixed(1);
        console.log(
          `| ${sessions} | ${tty ? 'pty (server)' : 'app (cat)'} | ${xs.length} | ${f(percentile(xs, 50))} | ${f(percentile(xs, 99))} | ${f(Math.max(...xs))} |`,
        );
      }
    }
    console.log('\n| app | idle sessions | server RSS before | after | per session |');
    console.log('| --- | ------------- | ----------------- | ----- | ----------- |');
    for (const app of ['cat', 'sqlite']) {
      const m = await idleMemory(url, ADMIN, child.pid!, app, N);
      console.log(
        `| ${app} | ${N} | ${m.before.toFixed(0)} MiB | ${m.after.toFixed(0)} MiB | ${m.perSession.toFixed(1)} MiB |`,
      );
    }
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.on('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();

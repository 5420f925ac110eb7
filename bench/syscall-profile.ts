// Where does the time of a WASI guest go, syscall by syscall? Runs a guest in
// this process (main thread, no worker) under capsule's WASI host over host
// directory mounts, or under node:wasi, with every import wrapped by a counter
// and a timer. The wrapper costs the same on both sides (~0.1 µs a call).
//
//   node dist/bench/syscall-profile.js capsule|node:wasi [--dir HOST::GUEST]... FILE.wasm [ARGS...]
//
// The guest's stdout is discarded; the report goes to stderr (through its own fd). This is a
// diagnostic tool for docs/benchmarks.md, not a benchmark: it leaves out the
// worker, the CLI and the stdin bridge, which `capsule run` adds.
import { openSync, readFileSync, writeSync } from 'node:fs';
import { WASI } from 'node:wasi';
import { WasiExit, WasiHost } from '../src/wasi/host.js';
import { HostFileSystem } from '../src/vfs/host/hostfs.js';
import { fdWriter } from '../src/runtime/node/stdio.js';

interface Stat {
  count: number;
  ns: bigint;
  bytes: number;
}

const [runner, ...rest] = process.argv.slice(2);
if (runner !== 'capsule' && runner !== 'node:wasi') {
  process.stderr.write(
    'usage: node dist/bench/syscall-profile.js capsule|node:wasi [--dir HOST::GUEST]... FILE.wasm [ARGS...]\n',
  );
  process.exit(2);
}
const mounts: { host: string; guest: string }[] = [];
while (rest[0] === '--dir') {
  const spec = rest[1] ?? '';
  const at = spec.indexOf('::');
  mounts.push({ host: spec.slice(0, at), guest: spec.slice(at + 2) });
  rest.splice(0, 2);
}
const wasmPath = rest[0];
if (!wasmPath) throw new Error('missing FILE.wasm');
const args = rest;
const devnull = openSync('/dev/null', 'w');
// A fd of our own for the report: node:wasi's fd_renumber (Yosys after ABC)
// closes host fds 1 and 2 under it.
let reportFd = 2;
try {
  reportFd = openSync('/proc/self/fd/2', 'a');
} catch {
  // not Linux: keep fd 2
}

const stats = new Map<string, Stat>();
let memory: WebAssembly.Memory | undefined;
// The calls whose 4th argument points at a byte count (nread / nwritten).
const counted: Record<string, number> = { fd_read: 3, fd_write: 3, fd_pread: 4, fd_pwrite: 4, fd_readdir: 4 };

function wrap(imports: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(imports)) {
    if (typeof fn !== 'function') continue;
    const st: Stat = { count: 0, ns: 0n, bytes: 0 };
    stats.set(name, st);
    const resultArg = counted[name];
    out[name] = (...a: number[]) => {
      const t0 = process.hrtime.bigint();
      let r: unknown;
      try {
        r = (fn as (...x: number[]) => unknown)(...a);
        return r;
      } finally {
        st.ns += process.hrtime.bigint() - t0;
        st.count++;
        if (resultArg !== undefined && memory && r === 0) {
          const p = a[resultArg];
          if (p !== undefined) st.bytes += new DataView(memory.buffer).getUint32(p, true);
        }
      }
    };
  }
  return out;
}

const module = await WebAssembly.compile(readFileSync(wasmPath));
const t0 = process.hrtime.bigint();
let code: number;
if (runner === 'capsule') {
  const host = new WasiHost({
    args,
    env: [],
    preopens: mounts.map((m) => ({ guestPath: m.guest, fs: new HostFileSystem(m.host) })),
    stdin: { isTTY: false, read: () => 0, waitReadable: () => true },
    stdout: fdWriter(devnull, false),
    stderr: fdWriter(2, false),
  });
  const instance = await WebAssembly.instantiate(module, {
    wasi_snapshot_preview1: wrap(host.imports) as WebAssembly.ModuleImports,
  });
  memory = instance.exports.memory as WebAssembly.Memory;
  try {
    code = host.start(instance);
  } catch (e) {
    if (!(e instanceof WasiExit)) throw e;
    code = e.code;
  }
} else {
  const wasi = new WASI({
    version: 'preview1',
    args,
    env: {},
    preopens: Object.fromEntries(mounts.map((m) => [m.guest, m.host])),
    stdout: devnull,
    returnOnExit: true,
  });
  const base = wasi.getImportObject() as { wasi_snapshot_preview1: Record<string, unknown> };
  const instance = await WebAssembly.instantiate(module, {
    wasi_snapshot_preview1: wrap(base.wasi_snapshot_preview1) as WebAssembly.ModuleImports,
  });
  memory = instance.exports.memory as WebAssembly.Memory;
  code = wasi.start(instance);
}
const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;

let sysNs = 0n;
const rows = [...stats].filter(([, s]) => s.count > 0).sort((a, b) => Number(b[1].ns - a[1].ns));
for (const [, s] of rows) sysNs += s.ns;
const lines = [
  `${runner}: exit ${code}, ${wallMs.toFixed(0)} ms from _start to exit, ${(Number(sysNs) / 1e6).toFixed(0)} ms in syscalls`,
  `${'syscall'.padEnd(24)} ${'calls'.padStart(9)} ${'total ms'.padStart(9)} ${'µs/call'.padStart(8)} ${'bytes'.padStart(11)}`,
  ...rows.map(
    ([name, s]) =>
      `${name.padEnd(24)} ${String(s.count).padStart(9)} ${(Number(s.ns) / 1e6).toFixed(1).padStart(9)} ` +
      `${(Number(s.ns) / 1e3 / s.count).toFixed(2).padStart(8)} ${(s.bytes ? String(s.bytes) : '').padStart(11)}`,
  ),
];
writeSync(reportFd, lines.join('\n') + '\n');
process.exitCode = code;

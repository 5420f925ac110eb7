// The apps of the delivery benchmarks (bench/stream.ts, bench/serve.ts): each
// a package tree (the app's .wasm, its data, an input) and the arguments of
// its run, which need no host directory (so `capsule profile record` can
// record the same run).
import { copyFileSync, cpSync, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { benchDir, fliteWorkload, root, sqliteWorkload, yosysNoise, yosysWorkload } from '../workloads.js';

export interface StreamApp {
  key: string;
  name: string;
  title: string;
  /** guest path -> host file or directory */
  tree: [string, string][];
  entry: string;
  args: string[];
  normalize(stdout: string): string;
  prepare(): string | undefined;
}

export function streamApps(): StreamApp[] {
  const yosys = yosysWorkload();
  const flite = fliteWorkload();
  const sqlite = sqliteWorkload();
  return [
    {
      key: 'yosys',
      name: 'bench-yosys',
      title: 'Yosys: synth of a 16-bit ALU',
      tree: [
        ['/bin/yosys.wasm', yosys.wasm],
        ['/share', join(root, 'build/yosys/share')],
        ['/work/alu.v', join(benchDir, 'yosys/root/alu.v')],
      ],
      entry: '/bin/yosys.wasm',
      args: ['-p', 'read_verilog /work/alu.v; synth -top alu; stat'],
      normalize: (s) =>
        s
          .split('\n')
          .filter((l) => !yosysNoise.test(l))
          .join('\n'),
      prepare: () => yosys.prepare(),
    },
    {
      key: 'flite',
      name: 'bench-flite',
      title: 'Flite: a sentence to a WAV file, words printed',
      tree: [['/bin/flite.wasm', flite.wasm]],
      entry: '/bin/flite.wasm',
      // -pw prints the words once the utterance is synthesized: the app's first output.
      args: ['-pw', '-t', 'Nobody installs an application any more.', '-o', '/speech.wav'],
      normalize: (s) => s,
      prepare: () => flite.prepare(),
    },
    {
      key: 'sqlite',
      name: 'bench-sqlite',
      title: 'SQLite shell: a query on an in-memory database',
      tree: [['/bin/sqlite3.wasm', sqlite.wasm]],
      entry: '/bin/sqlite3.wasm',
      args: [':memory:', 'select sqlite_version(), 6 * 7;'],
      normalize: (s) => s,
      prepare: () => (existsSync(sqlite.wasm) ? undefined : 'build/wasm/sqlite3.wasm is missing'),
    },
  ];
}

export function buildTree(to: string, entries: [string, string][]): void {
  rmSync(to, { recursive: true, force: true });
  for (const [guest, host] of entries) {
    const p = join(to, guest);
    mkdirSync(dirname(p), { recursive: true });
    if (statSync(host).isDirectory()) cpSync(host, p, { recursive: true });
    else copyFileSync(host, p);
  }
  mkdirSync(join(to, 'tmp'), { recursive: true });
}

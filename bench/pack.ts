/**
 * Packing benchmark (docs/benchmarks.md, "Packing"):
 *   - throughput (MB/s, 10^6 bytes, including chunking, hashing, compression
 *     and the store's writes) on the Yosys tree, its share/ tree and a 200 MB
 *     mixed tree generated deterministically, into a fresh disk store under
 *     build/bench (FsObjectStore: batched, fsync'd writes) and into memory;
 *   - dedup: a second version that changes one small file, packed into the
 *     same store, must add < 1% of the first version's stored bytes.
 *   [UV_THREADPOOL_SIZE=N] node dist/bench/pack.js [--runs N] [--no-docs]
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  copyFileSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import type { ObjectStore } from '../src/store/types.js';
import { FsObjectStore } from '../src/store/fs/index.js';
import { nodeHasher } from '../src/package/hash-node.js';
import { packTree, type PackResult } from '../src/package/pack.js';
import { MemoryObjectStore, randomBytes } from '../src/package/testing.js';

// Not strict: run-all.sh passes every benchmark the same arguments.
const { values: args } = parseArgs({
  options: { runs: { type: 'string', default: '3' }, 'no-docs': { type: 'boolean', default: false } },
  strict: false,
  allowPositionals: true,
});
const RUNS = Number(args.runs) || 3;
const root = new URL('../..', import.meta.url).pathname;
// Under build/, on the repo's filesystem: /tmp may be a tmpfs, where fsync costs nothing.
mkdirSync(join(root, 'build/bench'), { recursive: true });
const work = mkdtempSync(join(root, 'build/bench/tmp-pack-'));
/** libuv's thread pool runs the store's concurrent fsyncs; its size is read once, from the environment. */
const POOL = process.env.UV_THREADPOOL_SIZE ?? '4 (default)';
const MB = 1e6;

/** The 200 MB mixed tree: text, incompressible and compressible binaries, and duplicates. */
function makeMixedTree(dir: string): void {
  if (existsSync(join(dir, '.complete'))) return;
  rmSync(dir, { recursive: true, force: true });
  const words =
    'module wire input output assign begin end always posedge reg case default if else for return int char void static const struct'.split(
      ' ',
    );
  let seed = 12345;
  const next = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return seed >>> 0;
  };
  const write = (path: string, bytes: Uint8Array) => {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), bytes);
  };
  let total = 0;
  const made: string[] = [];
  // ~80 MB of source-like text in 1 KB..1 MB files.
  for (let i = 0; total < 80 * MB; i++) {
    const size = 1000 + (next() % 1_000_000);
    const parts: string[] = [];
    let n = 0;
    while (n < size) {
      const line = `${'  '.repeat(next() % 4)}${Array.from({ length: 3 + (next() % 8) }, () => words[next() % words.length]).join(' ')} ${next() % 1000};\n`;
      parts.push(line);
      n += line.length;
    }
    const path = `src/d${i % 17}/file${i}.txt`;
    write(path, new TextEncoder().encode(parts.join('')));
    made.push(path);
    total += n;
  }
  // ~50 MB of incompressible binaries (100 KB..8 MB).
  for (let i = 0; total < 130 * MB; i++) {
    const size = 100_000 + (next() % 8_000_000);
    write(`bin/blob${i}.bin`, randomBytes(size, `blob${i}`));
    made.push(`bin/blob${i}.bin`);
    total += size;
  }
  // ~50 MB of compressible binaries: records with small random fields (like tables, images with flat areas).
  for (let i = 0; total < 180 * MB; i++) {
    const size = 200_000 + (next() % 4_000_000);
    const b = new Uint8Array(size);
    for (let j = 0; j < size; j += 64) {
      b[j] = next() & 0xff;
      b[j + 8] = j & 0xff;
      b[j + 9] = (j >> 8) & 0xff;
    }
    write(`data/table${i}.dat`, b);
    made.push(`data/table${i}.dat`);
    total += size;
  }
  // ~20 MB of duplicates of earlier files.
  for (let i = 0; total < 200 * MB; i++) {
    const src = made[next() % made.length]!;
    const bytes = readFileSync(join(dir, src));
    write(`dup/${i}-${src.replaceAll('/', '_')}`, bytes);
    total += bytes.length;
  }
  writeFileSync(join(dir, '.complete'), '');
  rmSync(join(dir, '.complete'));
  writeFileSync(join(dirname(dir), `${dir.split('/').at(-1)}.complete`), '');
}

function copyTree(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const name of readdirSync(from)) {
    const s = join(from, name);
    if (statSync(s).isDirectory()) copyTree(s, join(to, name));
    else copyFileSync(s, join(to, name));
  }
}

type StoreKind = 'disk' | 'memory';
function freshStore(kind: StoreKind): ObjectStore {
  return kind === 'disk'
    ? new FsObjectStore(mkdtempSync(join(work, 'store-')))
    : new MemoryObjectStore(nodeHasher);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

interface Row {
  tree: string;
  store: StoreKind;
  bytes: number;
  files: number;
  mbps: number[];
  stored: number;
}

async function throughput(tree: string, dir: string, kind: StoreKind): Promise<Row> {
  const mbps: number[] = [];
  let last: PackResult | undefined;
  for (let r = 0; r < RUNS; r++) {
    const store = freshStore(kind);
    const t = performance.now();
    last = await packTree(dir, store);
    mbps.push(last.stats.bytes / MB / ((performance.now() - t) / 1000));
  }
  return {
    tree,
    store: kind,
    bytes: last!.stats.bytes,
    files: last!.stats.files,
    mbps,
    stored: last!.stats.storedBytes,
  };
}

interface DedupRow {
  change: string;
  v1Plain: number;
  v1Stored: number;
  v2Added: number;
  v2NewChunks: number;
}

/** v1 then v2 into one store; v2's cost is its new chunks plus its own index object. */
async function dedup(change: string, v1: string, v2: string): Promise<DedupRow> {
  const store = new MemoryObjectStore(nodeHasher);
  const a = await packTree(v1, store);
  const b = await packTree(v2, store);
  return {
    change,
    v1Plain: a.stats.bytes,
    v1Stored: a.stats.storedBytes + (store.size(a.layer.digest) ?? 0),
    v2Added: b.stats.storedBytes + (store.size(b.layer.digest) ?? 0),
    v2NewChunks: b.stats.newChunks,
  };
}

// Trees.
const yosysGen = join(root, 'node_modules/@yowasp/yosys/gen');
const share = join(root, 'build/yosys/share');
if (!existsSync(share))
  throw new Error('build/yosys/share is missing: run node scripts/extract-yosys-share.mjs');
const mixed = join(root, 'build/bench/mixed-200m');
if (!existsSync(`${mixed}.complete`)) {
  console.log('generating the 200 MB mixed tree in build/bench/mixed-200m ...');
  makeMixedTree(mixed);
}

const rows: Row[] = [];
for (const [name, dir] of [
  ['Yosys gen/ (core .wasm + resources)', yosysGen],
  ['Yosys share/ (317 small files)', share],
  ['mixed 200 MB', mixed],
] as const) {
  for (const kind of ['disk', 'memory'] as const) {
    const row = await throughput(name, dir, kind);
    rows.push(row);
    console.log(`${name} -> ${kind}: ${row.mbps.map((x) => x.toFixed(0)).join(', ')} MB/s`);
  }
}

// Second versions with one small file changed.
const y1 = join(work, 'yosys-v1');
copyTree(yosysGen, join(y1, 'gen'));
copyTree(share, join(y1, 'share'));
const y2 = join(work, 'yosys-v2');
copyTree(y1, y2);
const edited = join(y2, 'share/ice40/cells_map.v');
writeFileSync(edited, Buffer.concat([readFileSync(edited), Buffer.from('// local change\n')]));
const dedups: DedupRow[] = [await dedup('Yosys (gen/ + share/): one .v file edited', y1, y2)];
const m2 = join(work, 'mixed-v2');
copyTree(mixed, m2);
const mEdited = join(m2, 'src/d0/file0.txt');
writeFileSync(mEdited, Buffer.concat([Buffer.from('// header\n'), readFileSync(mEdited)]));
dedups.push(await dedup('mixed 200 MB: one text file edited', mixed, m2));
rmSync(work, { recursive: true });

const fmtMB = (n: number) => `${(n / MB).toFixed(1)} MB`;
const table = [
  '| tree | files | size | store | MB/s (median) | runs | stored (zstd) |',
  '|---|---|---|---|---|---|---|',
  ...rows.map(
    (r) =>
      `| ${r.tree} | ${r.files} | ${fmtMB(r.bytes)} | ${r.store} | **${median(r.mbps).toFixed(0)}** | ${r.mbps.map((x) => x.toFixed(0)).join(', ')} | ${fmtMB(r.stored)} |`,
  ),
  '',
  '| second version | v1 size | v1 stored | v2 adds | new chunks | of v1 size (goal < 1%) | of v1 stored |',
  '|---|---|---|---|---|---|---|',
  ...dedups.map(
    (d) =>
      `| ${d.change} | ${fmtMB(d.v1Plain)} | ${fmtMB(d.v1Stored)} | ${(d.v2Added / 1024).toFixed(1)} KiB | ${d.v2NewChunks} | **${((100 * d.v2Added) / d.v1Plain).toFixed(2)}%** | ${((100 * d.v2Added) / d.v1Stored).toFixed(2)}% |`,
  ),
].join('\n');
console.log(`\nthread pool: ${POOL}\n${table}`);

if (!args['no-docs']) {
  const docs = join(root, 'docs/benchmarks.md');
  // Only the measured block is generated; the text around it (method, reading) is kept by hand.
  const block = `<!-- bench:pack:start (generated by \`node dist/bench/pack.js\`; edit outside the markers) -->

Measured ${new Date().toISOString().slice(0, 10)} on ${process.env.CAPSULE_BENCH_MACHINE ?? '2-core EPYC VM, shared with other jobs (noisy)'}; thread pool: ${POOL}; ${RUNS} runs per row.

${table}
<!-- bench:pack:end -->`;
  let text = existsSync(docs) ? readFileSync(docs, 'utf8') : '# Benchmarks\n';
  const re = /<!-- bench:pack:start[\s\S]*<!-- bench:pack:end -->/;
  text = re.test(text) ? text.replace(re, block) : `${text.trimEnd()}\n\n## Packing\n\n${block}\n`;
  writeFileSync(docs, text);
  console.log('updated docs/benchmarks.md (Packing)');
}

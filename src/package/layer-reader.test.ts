import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PackageError } from './errors.js';
import { sha256Digest } from './hash-node.js';
import { LayerReader } from './layer-reader.js';
import { LAYER_SCHEMA, type ChunkRef, type LayerIndex } from './types.js';

const content = new Uint8Array(1000).map((_, i) => (i * 7) % 251);
const sizes = [100, 1, 399, 250, 250];
const chunkBytes = new Map<string, Uint8Array>();
const refs: ChunkRef[] = [];
let at = 0;
for (const size of sizes) {
  const bytes = content.slice(at, at + size);
  const digest = sha256Digest(bytes);
  chunkBytes.set(digest, bytes);
  refs.push({ digest, size });
  at += size;
}
const index: LayerIndex = {
  schema: LAYER_SCHEMA,
  entries: [
    { path: 'd', type: 'dir', mode: 0o755, size: 0 },
    { path: 'd/f', type: 'file', mode: 0o644, size: 1000, chunks: refs },
    { path: 'e', type: 'file', mode: 0o644, size: 0, chunks: [] },
  ],
  whiteouts: [],
  opaque: [],
};

function reader(): { r: LayerReader; fetched: string[] } {
  const fetched: string[] = [];
  const r = new LayerReader(index, (ref) => {
    fetched.push(ref.digest);
    return chunkBytes.get(ref.digest)!;
  });
  return { r, fetched };
}

test('every range reads the right bytes, across chunk boundaries', () => {
  const { r } = reader();
  for (const [off, len] of [
    [0, 1000],
    [0, 100],
    [99, 2],
    [100, 1],
    [95, 20],
    [101, 399],
    [450, 300],
    [999, 1],
    [999, 50],
    [0, 5000],
  ] as const) {
    assert.deepEqual(
      r.read('d/f', off, len),
      content.subarray(off, Math.min(1000, off + len)),
      `${off}+${len}`,
    );
  }
  assert.equal(r.read('d/f', 1000, 10).length, 0);
  assert.equal(r.read('d/f', 5000, 10).length, 0);
  assert.equal(r.read('e', 0, 10).length, 0);
});

test('a read fetches only the chunks it needs', () => {
  const { r, fetched } = reader();
  r.read('d/f', 120, 10);
  assert.deepEqual(fetched, [refs[2]!.digest]);
  fetched.length = 0;
  r.read('d/f', 99, 3);
  assert.deepEqual(fetched, [refs[0]!.digest, refs[1]!.digest, refs[2]!.digest]);
});

test('bad reads and short chunks are errors', () => {
  const { r } = reader();
  const code = (c: string) => (e: unknown) => e instanceof PackageError && e.code === c;
  assert.throws(() => r.read('d', 0, 1), code('BAD_READ'));
  assert.throws(() => r.read('nope', 0, 1), code('BAD_READ'));
  assert.throws(() => r.read('d/f', -1, 1), code('BAD_READ'));
  const short = new LayerReader(index, () => new Uint8Array(3));
  assert.throws(() => short.read('d/f', 0, 10), code('CORRUPT_CHUNK'));
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { compress } from 'zstd-napi';
import { decodeChunk, portableDecoders, rawChunk, zstdContentSize } from './codec.js';
import { encodeChunk, nodeDecoders } from './codec-node.js';
import { PackageError } from './errors.js';
import { randomBytes } from './testing.js';
import { ChunkEncoding, MAX_CHUNK_SIZE } from './types.js';

const text = new TextEncoder().encode(
  'module top(input a, output b); assign b = ~a; endmodule\n'.repeat(500),
);
const noise = randomBytes(50_000, 'codec');
const code = (c: string) => (e: unknown) => e instanceof PackageError && e.code === c;

test('zstd and gzip round-trip through both decoders', () => {
  for (const codec of ['zstd', 'gzip'] as const) {
    const stored = encodeChunk(text, codec);
    assert.equal(stored[0], codec === 'zstd' ? ChunkEncoding.ZSTD : ChunkEncoding.GZIP);
    assert.ok(stored.length < text.length / 10);
    assert.deepEqual(decodeChunk(stored, nodeDecoders), text);
    if (codec === 'zstd') assert.deepEqual(decodeChunk(stored, portableDecoders), text);
  }
});

test('incompressible data is stored RAW', () => {
  const stored = encodeChunk(noise);
  assert.equal(stored[0], ChunkEncoding.RAW);
  assert.equal(stored.length, noise.length + 1);
  assert.deepEqual(decodeChunk(stored, portableDecoders), noise);
  // Barely compressible (saves < 5%): RAW too.
  const mostlyNoise = new Uint8Array(50_000);
  mostlyNoise.set(noise.subarray(0, 48_500));
  assert.equal(encodeChunk(mostlyNoise)[0], ChunkEncoding.RAW);
  assert.equal(encodeChunk(text, 'raw')[0], ChunkEncoding.RAW);
});

test('the zstd frame header states the content size', () => {
  const frame = compress(text);
  assert.equal(zstdContentSize(frame), text.length);
  assert.equal(zstdContentSize(new Uint8Array([1, 2, 3, 4, 5, 6])), null);
});

test('corrupt and hostile chunks are refused, never returned', () => {
  const stored = encodeChunk(text);
  const flipped = stored.slice();
  flipped[stored.length - 5]! ^= 0xff;
  // Either the decoder fails (checksum, structure) or the size check does; the digest check in chunk-io catches the rest.
  try {
    const out = decodeChunk(flipped, nodeDecoders);
    assert.notDeepEqual(out, text);
  } catch (e) {
    assert.ok(code('CORRUPT_CHUNK')(e));
  }
  assert.throws(() => decodeChunk(new Uint8Array(0), nodeDecoders), code('CORRUPT_CHUNK'));
  assert.throws(() => decodeChunk(new Uint8Array([9, 1, 2]), nodeDecoders), code('UNSUPPORTED_ENCODING'));
  assert.throws(
    () => decodeChunk(new Uint8Array([ChunkEncoding.ZSTD, 1, 2, 3]), nodeDecoders),
    code('CORRUPT_CHUNK'),
  );
  // A frame that claims a huge size is refused before anything is allocated.
  const bomb = compress(new Uint8Array(MAX_CHUNK_SIZE + 1));
  assert.throws(
    () => decodeChunk(new Uint8Array([ChunkEncoding.ZSTD, ...bomb]), nodeDecoders),
    /over the limit/,
  );
  const gzBomb = gzipSync(new Uint8Array(MAX_CHUNK_SIZE + 1));
  assert.throws(
    () => decodeChunk(new Uint8Array([ChunkEncoding.GZIP, ...gzBomb]), nodeDecoders),
    code('CORRUPT_CHUNK'),
  );
  assert.throws(
    () => decodeChunk(new Uint8Array([ChunkEncoding.GZIP, ...gzBomb]), portableDecoders),
    code('UNSUPPORTED_ENCODING'),
  );
});

test('rawChunk frames bytes as they are', () => {
  assert.deepEqual([...rawChunk(new Uint8Array([7, 8]))], [0, 7, 8]);
});

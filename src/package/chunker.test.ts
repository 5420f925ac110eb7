import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Chunker, GEAR, checkChunkParams, DEFAULT_CHUNK_PARAMS } from './chunker.js';
import { randomBytes } from './testing.js';

const small = { min: 1024, avg: 4096, max: 16384, level: 2 };

test('the gear table is fixed: its digest is part of the format', () => {
  const bytes = new Uint8Array(GEAR.buffer, GEAR.byteOffset, GEAR.byteLength);
  assert.equal(new Set(GEAR).size, 256);
  assert.equal(createHash('sha256').update(bytes).digest('hex').slice(0, 16), GEAR_DIGEST_PREFIX);
});
// Recorded once; a change here means every chunk boundary moved (docs/chunking.md).
const GEAR_DIGEST_PREFIX = 'da2ccb1163e2e97d';

test('boundaries are deterministic and respect min and max', () => {
  const data = randomBytes(1 << 20);
  const c = new Chunker(small);
  const a = c.lengths(data);
  assert.deepEqual(new Chunker(small).lengths(data), a);
  assert.equal(
    a.reduce((s, n) => s + n, 0),
    data.length,
  );
  a.slice(0, -1).forEach((n) => assert.ok(n >= small.min && n <= small.max, `chunk of ${n}`));
  const mean = data.length / a.length;
  assert.ok(mean > small.avg * 0.7 && mean < small.avg * 1.6, `mean ${mean}`);
});

test('data without boundaries is cut at max', () => {
  const zeros = new Uint8Array(100_000);
  const lens = new Chunker(small).lengths(zeros);
  assert.deepEqual(lens.slice(0, -1), Array(lens.length - 1).fill(small.max));
});

test('small inputs are one chunk; empty input has none', () => {
  const c = new Chunker(small);
  assert.deepEqual(c.lengths(new Uint8Array(0)), []);
  assert.deepEqual(c.lengths(new Uint8Array(1000)), [1000]);
});

test('an insertion in the middle changes only the chunks around it', () => {
  const c = new Chunker(small);
  const data = randomBytes(1 << 20, 'insert');
  const mid = data.length >> 1;
  const edited = new Uint8Array(data.length + 10);
  edited.set(data.subarray(0, mid));
  edited.set(randomBytes(10, 'x'), mid);
  edited.set(data.subarray(mid), mid + 10);
  const hashes = (buf: Uint8Array) => {
    const out: string[] = [];
    let pos = 0;
    for (const n of c.lengths(buf)) {
      out.push(
        createHash('sha256')
          .update(buf.subarray(pos, pos + n))
          .digest('hex'),
      );
      pos += n;
    }
    return out;
  };
  const before = new Set(hashes(data));
  const after = hashes(edited);
  const fresh = after.filter((h) => !before.has(h));
  assert.ok(fresh.length >= 1 && fresh.length <= 3, `${fresh.length} new chunks of ${after.length}`);
});

test('a streaming window gives the same boundaries as the whole buffer', () => {
  const c = new Chunker(small);
  const data = randomBytes(200_000, 'stream');
  const whole = c.lengths(data);
  // Offer max bytes at a time, as pack.ts does with its window.
  const streamed: number[] = [];
  let pos = 0;
  while (pos < data.length) {
    const end = Math.min(data.length, pos + small.max);
    const n = c.cut(data, pos, end);
    streamed.push(n);
    pos += n;
  }
  assert.deepEqual(streamed, whole);
});

test('bad parameters are refused', () => {
  checkChunkParams(DEFAULT_CHUNK_PARAMS);
  for (const p of [
    { ...small, avg: 5000 },
    { ...small, min: 8192 },
    { ...small, max: 2048 },
    { ...small, level: 13 },
    { ...small, min: 0 },
  ]) {
    assert.throws(() => new Chunker(p), RangeError, JSON.stringify(p));
  }
});

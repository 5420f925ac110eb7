import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Chunker, GEAR, type ChunkParams } from './chunker.js';
import { GEAR_SCAN_WASM } from './gear-scan.js';
import { randomBytes } from './testing.js';

test('the embedded kernel is what wat2wasm makes of gear-scan.wat', () => {
  const wat = fileURLToPath(new URL('../../../src/package/gear-scan.wat', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'capsule-gear-'));
  try {
    execFileSync('wat2wasm', [wat, '-o', join(dir, 'k.wasm')]);
    assert.deepEqual(GEAR_SCAN_WASM, new Uint8Array(readFileSync(join(dir, 'k.wasm'))));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Every chunk length of `buf`, cut by the kernel (cut) or by the JavaScript reference (cutJs). */
function lengths(c: Chunker, buf: Uint8Array, js: boolean): number[] {
  const { min, avg, max } = c.params;
  const out: number[] = [];
  for (let pos = 0; pos < buf.length;) {
    let len: number;
    if (!js) len = c.cut(buf, pos, buf.length);
    else {
      let n = buf.length - pos;
      if (n > max) n = max;
      len = n <= min ? n : c.cutJs(buf, pos, min, n < avg ? n : avg, n);
    }
    out.push(len);
    pos += len;
  }
  return out;
}

test('the kernel cuts exactly where the JavaScript loop does, for every parameter set and odd sizes', () => {
  const params: ChunkParams[] = [
    { min: 16 * 1024, avg: 64 * 1024, max: 256 * 1024, level: 2 },
    { min: 64, avg: 256, max: 1024, level: 2 },
    { min: 100, avg: 512, max: 700, level: 0 },
    { min: 2048, avg: 8192, max: 1 << 20, level: 1 }, // max past the kernel's first page: it grows
  ];
  // Random bytes, and text-like bytes with few distinct values (more cuts near the masks' edges).
  const random = randomBytes(3_000_001, 'gear random');
  const texty = randomBytes(2_000_003, 'gear text').map((b) => 97 + (b % 7));
  for (const p of params) {
    const c = new Chunker(p);
    for (const buf of [random, texty, random.subarray(0, p.min + 1), random.subarray(0, p.max + 3)]) {
      const fast = lengths(c, buf, false);
      assert.deepEqual(fast, lengths(c, buf, true), JSON.stringify(p));
      assert.equal(
        fast.reduce((a, b) => a + b, 0),
        buf.length,
      );
    }
  }
  assert.equal(GEAR.length, 256);
});

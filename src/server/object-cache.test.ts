import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Digest } from '../package/types.js';
import { FsObjectStore, verifySha256 } from '../store/fs/index.js';
import { StoreError, type Verifier } from '../store/types.js';
import { VerifiedObjectCache } from './object-cache.js';

const digestOf = (bytes: Uint8Array): Digest => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** A store with one object, a cache over it with a hand-driven clock, and a count of verifications. */
function setup(options: { maxBytes?: number } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'capsule-object-cache-'));
  const store = new FsObjectStore(dir);
  const bytes = new TextEncoder().encode('the object');
  const digest = digestOf(bytes);
  store.write(digest, bytes);
  let verified = 0;
  const verify: Verifier = (d, b) => {
    verified++;
    return verifySha256(d, b);
  };
  const clock = { now: 0 };
  const cache = new VerifiedObjectCache(store, verify, { recheckMs: 1000, now: () => clock.now, ...options });
  const path = store.pathOf(digest);
  /** Replaces the file's bytes in place (a damaged disk), mtime moved so the change is visible. */
  const damage = (to: string) => {
    chmodSync(path, 0o644);
    writeFileSync(path, to);
    utimesSync(path, new Date(), new Date(Date.now() + 5000));
  };
  return {
    store,
    cache,
    digest,
    bytes,
    clock,
    path,
    damage,
    verified: () => verified,
    done: () => rmSync(dir, { recursive: true, force: true }),
  };
}

test('VerifiedObjectCache: verifies once, then serves the kept copy with its ETag', () => {
  const s = setup();
  try {
    const a = s.cache.read(s.digest);
    assert.deepEqual(new Uint8Array(a.bytes), s.bytes);
    assert.equal(a.etag, `"${s.digest}"`);
    for (let i = 0; i < 5; i++) {
      s.clock.now += 700; // past the recheck window: looked at again, unchanged, not read again
      assert.equal(s.cache.read(s.digest), a);
    }
    assert.equal(s.verified(), 1);
  } finally {
    s.done();
  }
});

test('VerifiedObjectCache: a file damaged on disk is noticed once the recheck window has passed, and refused', () => {
  const s = setup();
  try {
    s.cache.read(s.digest);
    s.damage('not the object at all');
    // Within the window the verified copy is served (it is the right bytes).
    s.clock.now += 999;
    assert.deepEqual(new Uint8Array(s.cache.read(s.digest).bytes), s.bytes);
    s.clock.now += 1;
    assert.throws(
      () => s.cache.read(s.digest),
      (e: unknown) => e instanceof StoreError && e.code === 'CORRUPT',
    );
    // And it stays refused: the bad copy is never kept.
    assert.throws(() => s.cache.read(s.digest), StoreError);
  } finally {
    s.done();
  }
});

test('VerifiedObjectCache: a removed file is NOT_FOUND after the window', () => {
  const s = setup();
  try {
    s.cache.read(s.digest);
    chmodSync(s.path, 0o644);
    unlinkSync(s.path);
    s.clock.now += 1000;
    assert.throws(
      () => s.cache.read(s.digest),
      (e: unknown) => e instanceof StoreError && e.code === 'NOT_FOUND',
    );
  } finally {
    s.done();
  }
});

test("VerifiedObjectCache: forget() (the server's own write) takes effect on the next read", () => {
  const s = setup();
  try {
    s.cache.read(s.digest);
    s.damage('damaged');
    s.cache.forget(s.digest);
    assert.throws(
      () => s.cache.read(s.digest),
      (e: unknown) => e instanceof StoreError && e.code === 'CORRUPT',
    );
    // Repaired and written again by the server: served again at once.
    chmodSync(s.path, 0o644);
    unlinkSync(s.path);
    s.store.write(s.digest, s.bytes);
    s.cache.forget(s.digest);
    assert.deepEqual(new Uint8Array(s.cache.read(s.digest).bytes), s.bytes);
  } finally {
    s.done();
  }
});

test('VerifiedObjectCache: bounded; the least recently used object goes first', () => {
  const s = setup({ maxBytes: 64 * 16 });
  try {
    const objects = Array.from({ length: 20 }, (_, i) => new TextEncoder().encode(`${i}`.padEnd(64, '.')));
    for (const o of objects) s.store.write(digestOf(o), o);
    const before = s.verified();
    for (const o of objects) s.cache.read(digestOf(o)); // 20 x 64 bytes into 1 KiB: the first 4 go
    assert.equal(s.verified() - before, 20);
    s.cache.read(digestOf(objects[19]!));
    assert.equal(s.verified() - before, 20, 'a recent one is kept');
    s.cache.read(digestOf(objects[0]!));
    assert.equal(s.verified() - before, 21, 'the oldest was dropped and is read again');
  } finally {
    s.done();
  }
});

import { test } from 'node:test';
import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import { chmodSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { digestOf } from '../store.case.test.js';
import { StoreError } from '../types.js';
import { collectGarbage } from './gc.js';
import { FsObjectStore } from './object-store.js';
import { writePackSync } from './packs.js';
import { PACK_ENTRY_SIZE, PACK_FOOTER_SIZE } from './pack-file.js';
import { damageObject, withFsStore } from './testing.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

async function packed(store: FsObjectStore, objects: Uint8Array[]): Promise<string> {
  const batch = store.beginBatch();
  for (const b of objects) batch.write(digestOf(b), b);
  await batch.commit();
  const where = store.locate(digestOf(objects[0]!));
  assert.equal(where?.packed, true);
  return where.path;
}

const isError = (code: string, digest?: string) => (e: unknown) =>
  e instanceof StoreError && e.code === code && (digest === undefined || e.digest === digest);

test(
  'a flipped byte inside a packed object is CORRUPT for that object only, naming the pack',
  withFsStore(async (_root, store) => {
    const objects = Array.from({ length: 20 }, (_, i) => enc(`object number ${i}`.repeat(10)));
    const pack = await packed(store, objects);
    const victim = digestOf(objects[7]!);
    assert.equal(damageObject(store, victim), pack);
    for (const s of [store, new FsObjectStore(store.layout.root)]) {
      assert.throws(
        () => s.read(victim),
        (e: unknown) => isError('CORRUPT', victim)(e) && (e as Error).message.includes(pack),
      );
      for (const b of objects) if (digestOf(b) !== victim) assert.deepEqual(s.read(digestOf(b)), b);
    }
  }),
);

test(
  'a damaged or hostile pack index is never followed: its objects are missing and the pack is reported',
  withFsStore(async (root, store) => {
    const objects = Array.from({ length: 5 }, (_, i) => enc(`indexed ${i}`));
    const pack = await packed(store, objects);
    const bytes = readFileSync(pack);
    const size = bytes.length;
    const indexAt = size - PACK_FOOTER_SIZE - objects.length * PACK_ENTRY_SIZE;
    const cases: [string, (b: Buffer) => void][] = [
      // An offset pointing into the header, with the checksum left as it was.
      ['index checksum', (b) => b.writeBigUInt64LE(0n, indexAt + 32)],
      ['footer magic', (b) => (b[size - 1] = 0)],
      // A hostile index: every entry points into the header, and the checksum is made to match.
      [
        'consistent but out of bounds',
        (b) => {
          for (let at = indexAt; at < size - PACK_FOOTER_SIZE; at += PACK_ENTRY_SIZE)
            b.writeBigUInt64LE(0n, at + 32);
          const sum = createHash('sha256')
            .update(b.subarray(indexAt, size - PACK_FOOTER_SIZE))
            .digest();
          sum.copy(b, size - PACK_FOOTER_SIZE + 16);
        },
      ],
      ['truncated', () => {}],
    ];
    for (const [what, damage] of cases) {
      const copy = Buffer.from(bytes);
      damage(copy);
      chmodSync(pack, 0o644);
      writeFileSync(pack, what === 'truncated' ? copy.subarray(0, size - 10) : copy);
      const fresh = new FsObjectStore(root);
      for (const b of objects) {
        assert.equal(fresh.has(digestOf(b)), false, what);
        assert.throws(() => fresh.read(digestOf(b)), isError('NOT_FOUND', digestOf(b)), what);
      }
      const problems = fresh.damagedPacks();
      assert.equal(problems.length, 1, what);
      assert.equal(problems[0]!.path, pack, what);
    }
    // Anything in packs/ that is not named like a pack is not one.
    writeFileSync(join(root, 'packs', 'stray.pack'), 'not a pack');
    assert.equal(new FsObjectStore(root).damagedPacks().length, 1);
  }),
);

test(
  'a pack written by another process is found by a store that had already listed packs/',
  withFsStore(async (root, store) => {
    const first = [enc('a1'), enc('a2')];
    await packed(store, first);
    const reader = new FsObjectStore(root);
    assert.equal(reader.has(digestOf(first[0]!)), true);
    const second = [enc('b1'), enc('b2'), enc('b3')];
    await packed(new FsObjectStore(root), second);
    for (const b of second) assert.deepEqual(reader.read(digestOf(b)), b);
    assert.equal(new Set(reader.list()).size, 5);
  }),
);

test(
  'gc rewrites a pack without its dead objects; survivors stay readable, also to a store that listed it before',
  withFsStore(async (root, store) => {
    const live = Array.from({ length: 6 }, (_, i) => enc(`live ${i}`));
    const dead = Array.from({ length: 4 }, (_, i) => enc(`dead ${i}`));
    const oldPack = await packed(store, [...live, ...dead]);
    const before = new FsObjectStore(root);
    assert.equal(before.has(digestOf(live[0]!)), true);
    const old = new Date(Date.now() - 2 * 3_600_000);
    utimesSync(oldPack, old, old);
    const gc = collectGarbage(store, { children: () => [], roots: live.map(digestOf) });
    assert.equal(gc.removed, dead.length);
    assert.deepEqual(gc.removedDigests, dead.map(digestOf).sort());
    const packs = readdirSync(join(root, 'packs'));
    assert.equal(packs.length, 1);
    assert.notEqual(join(root, 'packs', packs[0]!), oldPack);
    for (const s of [store, before, new FsObjectStore(root)]) {
      for (const b of live) assert.deepEqual(s.read(digestOf(b)), b);
      // A store never claims an object gc removed, even one whose old pack it still has open.
      for (const b of dead) assert.equal(s.has(digestOf(b)), false);
    }
    for (const b of dead)
      assert.throws(() => new FsObjectStore(root).read(digestOf(b)), isError('NOT_FOUND'));
    // A pack with nothing left goes altogether.
    utimesSync(join(root, 'packs', packs[0]!), old, old);
    assert.equal(collectGarbage(store, { children: () => [] }).removed, live.length);
    assert.deepEqual(readdirSync(join(root, 'packs')), []);
  }),
);

test(
  'rewriting a packed object refreshes its pack (gc grace), and a young pack is kept whole',
  withFsStore(async (_root, store) => {
    const objects = [enc('kept 1'), enc('kept 2')];
    const pack = await packed(store, objects);
    const old = new Date(Date.now() - 2 * 3_600_000);
    utimesSync(pack, old, old);
    store.write(digestOf(objects[0]!), objects[0]!);
    assert.ok(Date.now() - statSync(pack).mtimeMs < 60_000);
    const gc = collectGarbage(store, { children: () => [] });
    assert.equal(gc.removed, 0);
    assert.equal(gc.young, 2);
  }),
);

test(
  'an object in two packs (two processes packed it at once) is listed once, read from either, and gc removes it from both',
  withFsStore(async (root, store) => {
    const shared = enc('in both packs');
    const a = [shared, enc('only in a')];
    const b = [shared, enc('only in b')];
    await packed(store, a);
    // Another process that had not seen the first pack: its pack holds the shared object too.
    writePackSync(
      store.layout.tmp,
      store.layout.packs,
      b.map((x) => ({ digest: digestOf(x), bytes: x })),
    );
    assert.equal(readdirSync(join(root, 'packs')).length, 2);
    const fresh = new FsObjectStore(root);
    assert.equal([...fresh.list()].filter((d) => d === digestOf(shared)).length, 1);
    assert.deepEqual(fresh.read(digestOf(shared)), shared);
    const old = new Date(Date.now() - 2 * 3_600_000);
    for (const p of readdirSync(join(root, 'packs'))) utimesSync(join(root, 'packs', p), old, old);
    const gc = collectGarbage(fresh, { children: () => [], roots: [digestOf(a[1]!), digestOf(b[1]!)] });
    assert.deepEqual(gc.removedDigests, [digestOf(shared)]);
    for (const s of [fresh, store, new FsObjectStore(root)]) {
      assert.equal(s.has(digestOf(shared)), false);
      assert.deepEqual(s.read(digestOf(a[1]!)), a[1]);
      assert.deepEqual(s.read(digestOf(b[1]!)), b[1]);
    }
  }),
);

test(
  'many small packs are merged as they come, and by gc into one; every object stays readable, also to a reader that opened the store before',
  withFsStore(async (root, store) => {
    const objects: Uint8Array[] = [];
    const early = new FsObjectStore(root);
    for (let p = 0; p < 24; p++) {
      const batch = Array.from({ length: 3 }, (_, i) => enc(`pack ${p} object ${i} `.repeat(20)));
      batch.push(enc('in every pack'.repeat(30))); // the same object in each: kept once when merged
      await packed(store, batch);
      objects.push(...batch);
      // A reader that found objects in packs that are merged away later.
      if (p === 2) for (const b of objects) assert.deepEqual(early.read(digestOf(b)), b);
    }
    const packs = () => readdirSync(join(root, 'packs')).filter((n) => n.endsWith('.pack'));
    assert.ok(packs().length <= 16, `${packs().length} packs`);
    assert.ok(packs().length >= 8);
    for (const s of [store, early, new FsObjectStore(root)])
      for (const b of objects) assert.deepEqual(s.read(digestOf(b)), b);

    const r = collectGarbage(store, { children: () => ({ objects: [] }), roots: objects.map(digestOf) });
    assert.equal(r.removed, 0);
    assert.ok(r.mergedPacks >= 8);
    assert.equal(packs().length, 1);
    const fresh = new FsObjectStore(root);
    for (const s of [store, early, fresh]) for (const b of objects) assert.deepEqual(s.read(digestOf(b)), b);
    // Each distinct object once.
    assert.equal([...fresh.list()].length, new Set(objects.map(digestOf)).size);
  }),
);

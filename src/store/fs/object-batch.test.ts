import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runObjectBatchContract } from '../batch.case.test.js';
import { digestOf } from '../store.case.test.js';
import { StoreError } from '../types.js';
import { collectGarbage } from './gc.js';
import { FsObjectStore } from './object-store.js';
import { finished, moduleUrl, spawnModule, tempStoreDir, withFsStore } from './testing.js';

runObjectBatchContract('FsObjectStore', () => {
  const dir = tempStoreDir();
  return { store: new FsObjectStore(dir.root), cleanup: dir.cleanup };
});

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

test(
  'a batch stages in tmp/ and leaves it empty after commit; objects are 0444',
  withFsStore(async (root, store) => {
    const batch = store.beginBatch();
    const b = enc('staged first');
    batch.write(digestOf(b), b);
    // Staging runs on the thread pool; the object is not visible until commit.
    assert.equal(store.has(digestOf(b)), false);
    await batch.commit();
    assert.deepEqual(readdirSync(join(root, 'tmp')), []);
    assert.equal(statSync(store.pathOf(digestOf(b))).mode & 0o777, 0o444);
  }),
);

test(
  'abort removes the staged files',
  withFsStore(async (root, store) => {
    const batch = store.beginBatch();
    for (let i = 0; i < 10; i++) batch.write(digestOf(enc(`x${i}`)), enc(`x${i}`));
    await batch.abort();
    assert.deepEqual(existsSync(join(root, 'tmp')) ? readdirSync(join(root, 'tmp')) : [], []);
    assert.equal(existsSync(join(root, 'objects')), false);
    assert.equal(existsSync(join(root, 'packs')), false);
  }),
);

test(
  'a batch larger than the open-file allowance commits whole',
  withFsStore(async (root, store) => {
    const batch = store.beginBatch();
    const objects = Array.from({ length: 600 }, (_, i) => enc(`object ${i}`));
    for (const b of objects) batch.write(digestOf(b), b);
    await batch.commit();
    for (const b of objects) assert.deepEqual(store.read(digestOf(b)), b);
    assert.deepEqual(readdirSync(join(root, 'tmp')), []);
  }),
);

test(
  'a failed loose commit is IO and leaves no staged file',
  withFsStore(async (root, store) => {
    const blocked = enc('cannot land');
    const hex = digestOf(blocked).slice('sha256:'.length);
    // A file where the shard directory should be makes that rename fail.
    mkdirSync(join(root, 'objects', 'sha256'), { recursive: true });
    writeFileSync(join(root, 'objects', 'sha256', hex.slice(0, 2)), 'in the way');
    const batch = store.beginBatch();
    batch.write(digestOf(blocked), blocked);
    await assert.rejects(batch.commit(), (e: unknown) => e instanceof StoreError && e.code === 'IO');
    assert.equal(store.has(digestOf(blocked)), false);
    assert.deepEqual(readdirSync(join(root, 'tmp')), []);
  }),
);

test(
  'two or more objects become one pack file; a lone object a loose one',
  withFsStore(async (root, store) => {
    const many = Array.from({ length: 50 }, (_, i) => enc(`packed ${i}`));
    const batch = store.beginBatch();
    for (const b of many) batch.write(digestOf(b), b);
    assert.equal(existsSync(join(root, 'packs')), false, 'nothing is visible before commit');
    await batch.commit();
    const packs = readdirSync(join(root, 'packs'));
    assert.equal(packs.length, 1);
    assert.equal(statSync(join(root, 'packs', packs[0]!)).mode & 0o777, 0o444);
    for (const b of many) {
      assert.equal(store.locate(digestOf(b))?.packed, true);
      assert.deepEqual(store.read(digestOf(b)), b);
    }
    // Another process's view: a fresh store object finds them through the pack's index.
    const other = new FsObjectStore(root);
    assert.deepEqual(new Set(other.list()), new Set(many.map(digestOf)));
    const lone = enc('alone');
    const one = store.beginBatch();
    one.write(digestOf(lone), lone);
    one.write(digestOf(many[0]!), many[0]!); // already stored: skipped, still one object
    assert.equal(one.staged, 1);
    await one.commit();
    assert.equal(store.locate(digestOf(lone))?.packed, false);
    assert.equal(readdirSync(join(root, 'packs')).length, 1);
  }),
);

test(
  'a failed pack commit is IO, leaves no staged file, and no object of it lands',
  withFsStore(async (root, store) => {
    // A file where packs/ should be makes the pack's rename fail.
    writeFileSync(join(root, 'packs'), 'in the way');
    const objects = [enc('one'), enc('two'), enc('three')];
    const batch = store.beginBatch();
    for (const b of objects) batch.write(digestOf(b), b);
    await assert.rejects(batch.commit(), (e: unknown) => e instanceof StoreError && e.code === 'IO');
    for (const b of objects) assert.equal(store.has(digestOf(b)), false);
    assert.deepEqual(readdirSync(join(root, 'tmp')), []);
  }),
);

// Batches of 64 objects of 1 MiB, each different, committed one after another until killed.
const endlessBatches = (root: string): string => `
  import { createHash } from 'node:crypto';
  import { FsObjectStore } from ${JSON.stringify(moduleUrl('object-store.js'))};
  const store = new FsObjectStore(${JSON.stringify(root)});
  for (let n = 0; ; n++) {
    const batch = store.beginBatch();
    for (let i = 0; i < 64; i++) {
      const bytes = new Uint8Array(1 << 20).fill(i);
      new DataView(bytes.buffer).setUint32(0, n);
      batch.write('sha256:' + createHash('sha256').update(bytes).digest('hex'), bytes);
    }
    await batch.commit();
  }`;

test(
  'kill -9 during batch commits leaves only whole objects',
  withFsStore(async (root, store) => {
    const child = spawnModule(endlessBatches(root));
    const done = finished(child);
    const tmp = join(root, 'tmp');
    // Kill once a batch has landed and the next one's pack is being written.
    const deadline = Date.now() + 30_000;
    let staged = 0;
    let landed = 0;
    while (Date.now() < deadline) {
      staged = existsSync(tmp)
        ? readdirSync(tmp).reduce(
            (n, f) => n + (statSync(join(tmp, f), { throwIfNoEntry: false })?.size ?? 0),
            0,
          )
        : 0;
      landed = [...store.list()].length;
      if (landed >= 64 && staged >= 8 << 20) break;
    }
    child.kill('SIGKILL');
    const { signal, stderr } = await done;
    assert.equal(signal, 'SIGKILL', stderr);
    assert.ok(landed >= 64 && staged >= 8 << 20, `killed mid-batch (landed ${landed}, staged ${staged})`);
    for (const d of store.list()) assert.equal(store.read(d).length, 1 << 20, `${d} is whole`);
    const gc = collectGarbage(store, { children: () => [], roots: store.list(), tmpMaxAgeMs: 0 });
    assert.equal(gc.removed, 0);
    assert.deepEqual(readdirSync(tmp), []);
  }),
);

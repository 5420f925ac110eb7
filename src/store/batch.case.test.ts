/**
 * The ObjectBatch contract (types.ts), run by every store with `beginBatch`:
 *
 *   runObjectBatchContract('FsObjectStore', () => ({ store, cleanup }))
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { StoreError, type ObjectBatch } from './types.js';
import { digestOf, expectStoreError, type MakeObjectStore } from './store.case.test.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof StoreError && e.code === code);
}

export function runObjectBatchContract(name: string, make: MakeObjectStore): void {
  const withBatch =
    (body: (ctx: ReturnType<MakeObjectStore>, batch: ObjectBatch) => Promise<void>) =>
    async (): Promise<void> => {
      const made = make();
      try {
        const begin = made.store.beginBatch?.bind(made.store);
        assert.ok(begin, `${name} has beginBatch`);
        await body(made, begin());
      } finally {
        made.cleanup?.();
      }
    };

  describe(`${name}: ObjectBatch contract`, () => {
    test(
      'staged objects are invisible until commit, then all readable',
      withBatch(async ({ store }, batch) => {
        const objects = ['one', 'two', 'three'].map(enc);
        for (const b of objects) batch.write(digestOf(b), b);
        assert.equal(batch.staged, 3);
        for (const b of objects) assert.equal(store.has(digestOf(b)), false);
        assert.deepEqual([...store.list()], []);
        await batch.commit();
        for (const b of objects) assert.deepEqual(store.read(digestOf(b)), b);
        assert.equal([...store.list()].length, 3);
      }),
    );

    test(
      'an object already in the batch or in the store is skipped',
      withBatch(async ({ store }, batch) => {
        const old = enc('already there');
        store.write(digestOf(old), old);
        const fresh = enc('fresh');
        batch.write(digestOf(fresh), fresh);
        batch.write(digestOf(fresh), fresh);
        batch.write(digestOf(old), old);
        assert.equal(batch.staged, 1);
        await batch.commit();
        assert.equal([...store.list()].length, 2);
      }),
    );

    test(
      'abort leaves nothing and closes the batch; abort is idempotent',
      withBatch(async ({ store }, batch) => {
        const b = enc('dropped');
        batch.write(digestOf(b), b);
        await batch.abort();
        await batch.abort();
        assert.equal(store.has(digestOf(b)), false);
        assert.deepEqual([...store.list()], []);
        await rejectsWith(batch.commit(), 'CLOSED');
        expectStoreError(() => batch.write(digestOf(b), b), 'CLOSED');
      }),
    );

    test(
      'commit twice is CLOSED, and so is a write after commit',
      withBatch(async ({ store }, batch) => {
        const b = enc('once');
        batch.write(digestOf(b), b);
        await batch.commit();
        await rejectsWith(batch.commit(), 'CLOSED');
        const late = enc('late');
        expectStoreError(() => batch.write(digestOf(late), late), 'CLOSED');
        assert.equal(store.has(digestOf(late)), false);
        // Abort after commit changes nothing.
        await batch.abort();
        assert.equal(store.has(digestOf(b)), true);
      }),
    );

    test(
      'wrong bytes are CORRUPT and bad digests BAD_DIGEST, at write time',
      withBatch(async ({ store }, batch) => {
        const b = enc('right');
        expectStoreError(() => batch.write(digestOf(enc('other')), b), 'CORRUPT');
        expectStoreError(() => batch.write('sha256:../../x', b, () => true), 'BAD_DIGEST');
        assert.equal(batch.staged, 0);
        await batch.commit();
        assert.deepEqual([...store.list()], []);
      }),
    );

    test(
      'an empty batch commits',
      withBatch(async ({ store }, batch) => {
        await batch.commit();
        assert.deepEqual([...store.list()], []);
      }),
    );
  });
}

/**
 * The ObjectStore contract suite (types.ts). Every implementation runs it:
 *
 *   runObjectStoreContract('MemoryObjectStore', () => ({ store: new MemoryObjectStore({ verify }) }))
 *
 * `make()` returns a fresh, empty store whose default verifier is SHA-256 of
 * the bytes. The suite computes digests with node:crypto; that is test code,
 * the stores themselves need not.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Digest } from '../package/types.js';
import { StoreError, type ObjectStore, type StoreErrorCode, type Verifier } from './types.js';

export interface MadeStore {
  store: ObjectStore;
  cleanup?: () => void;
}
export type MakeObjectStore = () => MadeStore;

export function digestOf(bytes: Uint8Array): Digest {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export function expectStoreError(fn: () => unknown, code: StoreErrorCode, mention?: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof StoreError, `expected StoreError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (mention !== undefined)
      assert.ok(e.message.includes(mention), `"${e.message}" should mention ${mention}`);
    return true;
  });
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/**
 * A chunk-like encoding for the verifier tests: stored bytes are the plain
 * bytes reversed, and the digest is the SHA-256 of the plain bytes.
 */
const encodeReversed = (plain: Uint8Array): Uint8Array => plain.slice().reverse();
const verifyReversed: Verifier = (digest, stored) => digestOf(stored.slice().reverse()) === digest;

const HOSTILE: unknown[] = [
  'sha256:../../x',
  'sha256:../../../../etc/passwd',
  `sha256:${'A'.repeat(64)}`,
  `sha256:${'a'.repeat(63)}`,
  `sha256:${'a'.repeat(65)}`,
  `sha256:${'a'.repeat(62)}/x`,
  `sha256:${'a'.repeat(64)}\n`,
  `sha256:${'a'.repeat(63)}\0`,
  `md5:${'a'.repeat(32)}`,
  `sha512:${'a'.repeat(64)}`,
  'a'.repeat(64),
  '',
  '/tmp/x',
  42,
  null,
];

export function runObjectStoreContract(name: string, make: MakeObjectStore): void {
  const withStore = (body: (store: ObjectStore) => void) => () => {
    const made = make();
    try {
      body(made.store);
    } finally {
      made.cleanup?.();
    }
  };

  describe(`ObjectStore contract: ${name}`, () => {
    test(
      'write then read, has, size and list',
      withStore((store) => {
        const bytes = enc('hello, store');
        const d = digestOf(bytes);
        assert.equal(store.has(d), false);
        assert.equal(store.size(d), null);
        store.write(d, bytes);
        assert.equal(store.has(d), true);
        assert.equal(store.size(d), bytes.length);
        assert.deepEqual(store.read(d), bytes);
        assert.deepEqual([...store.list()], [d]);
      }),
    );

    test(
      'the empty object',
      withStore((store) => {
        const d = digestOf(new Uint8Array(0));
        store.write(d, new Uint8Array(0));
        assert.equal(store.size(d), 0);
        assert.equal(store.read(d).length, 0);
      }),
    );

    test(
      'reading an absent object is NOT_FOUND naming the digest',
      withStore((store) => {
        const d = digestOf(enc('nobody wrote me'));
        expectStoreError(() => store.read(d), 'NOT_FOUND', d);
      }),
    );

    test(
      'bytes that do not match the digest are refused and not stored',
      withStore((store) => {
        const d = digestOf(enc('the real bytes'));
        expectStoreError(() => store.write(d, enc('other bytes')), 'CORRUPT', d);
        assert.equal(store.has(d), false);
        assert.deepEqual([...store.list()], []);
      }),
    );

    test(
      'writing an existing object is a no-op',
      withStore((store) => {
        const bytes = enc('twice');
        const d = digestOf(bytes);
        store.write(d, bytes);
        store.write(d, bytes);
        assert.deepEqual(store.read(d), bytes);
        assert.deepEqual([...store.list()], [d]);
      }),
    );

    test(
      'delete removes; deleting an absent object is fine',
      withStore((store) => {
        const bytes = enc('short-lived');
        const d = digestOf(bytes);
        store.write(d, bytes);
        store.delete(d);
        assert.equal(store.has(d), false);
        store.delete(d);
        expectStoreError(() => store.read(d), 'NOT_FOUND');
      }),
    );

    test(
      'list returns every object once',
      withStore((store) => {
        const want = new Set<Digest>();
        for (let i = 0; i < 300; i++) {
          const bytes = enc(`object ${i}`);
          const d = digestOf(bytes);
          store.write(d, bytes);
          want.add(d);
        }
        const got = [...store.list()];
        assert.equal(got.length, want.size);
        assert.deepEqual(new Set(got), want);
      }),
    );

    test(
      'stored objects are immune to the caller mutating its buffers',
      withStore((store) => {
        const bytes = enc('immutable');
        const d = digestOf(bytes);
        store.write(d, bytes);
        bytes[0] = 0;
        const out = store.read(d);
        out[1] = 0;
        assert.deepEqual(store.read(d), enc('immutable'));
      }),
    );

    test(
      'a custom verifier: chunk-like objects stored encoded',
      withStore((store) => {
        const plain = enc('plain chunk bytes');
        const d = digestOf(plain);
        const stored = encodeReversed(plain);
        // The default verifier (SHA-256 of the stored bytes) rejects it both ways.
        expectStoreError(() => store.write(d, stored), 'CORRUPT', d);
        store.write(d, stored, verifyReversed);
        expectStoreError(() => store.read(d), 'CORRUPT', d);
        assert.deepEqual(store.read(d, verifyReversed), stored);
      }),
    );

    test(
      'a verifier that throws counts as CORRUPT, with its error as the cause',
      withStore((store) => {
        const bytes = enc('x');
        const d = digestOf(bytes);
        store.write(d, bytes);
        const boom: Verifier = () => {
          throw new Error('bad zstd frame');
        };
        assert.throws(
          () => store.read(d, boom),
          (e: unknown) =>
            e instanceof StoreError && e.code === 'CORRUPT' && e.message.includes('bad zstd frame'),
        );
        expectStoreError(() => store.write(digestOf(enc('y')), enc('y'), boom), 'CORRUPT');
      }),
    );

    test(
      'hostile digests are refused by every method',
      withStore((store) => {
        for (const bad of HOSTILE) {
          const d = bad as Digest;
          expectStoreError(() => store.has(d), 'BAD_DIGEST');
          expectStoreError(() => store.read(d), 'BAD_DIGEST');
          expectStoreError(() => store.write(d, enc('x'), () => true), 'BAD_DIGEST');
          expectStoreError(() => store.delete(d), 'BAD_DIGEST');
          expectStoreError(() => store.size(d), 'BAD_DIGEST');
        }
        assert.deepEqual([...store.list()], []);
      }),
    );

    test(
      'a 5 MB object round-trips',
      withStore((store) => {
        const bytes = new Uint8Array(5 << 20);
        for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 2654435761) >>> 24;
        const d = digestOf(bytes);
        store.write(d, bytes);
        assert.equal(store.size(d), bytes.length);
        assert.ok(Buffer.from(store.read(d)).equals(bytes));
      }),
    );
  });
}

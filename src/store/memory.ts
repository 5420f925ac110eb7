/**
 * An in-memory ObjectStore: tests, the browser's session cache, and anything
 * that wants a store without a disk. Platform-neutral, so the default verifier
 * is passed in (Node has `verifySha256` in fs/sha256.ts; a browser brings its
 * own synchronous SHA-256) rather than imported from `node:crypto`.
 *
 * Objects are copied on the way in and on the way out, so a caller mutating
 * its buffer can never change what the store holds.
 */
import type { Digest } from '../package/types.js';
import { assertDigest, checkBytes } from './digest.js';
import { StoreError, type ObjectBatch, type ObjectStore, type Verifier } from './types.js';

export interface MemoryObjectStoreOptions {
  /** The verifier used when a call passes none: SHA-256 of the bytes. */
  verify: Verifier;
}

export class MemoryObjectStore implements ObjectStore {
  readonly #objects = new Map<Digest, Uint8Array>();
  readonly #verify: Verifier;

  constructor(options: MemoryObjectStoreOptions) {
    this.#verify = options.verify;
  }

  has(digest: Digest): boolean {
    assertDigest(digest);
    return this.#objects.has(digest);
  }

  read(digest: Digest, verify: Verifier = this.#verify): Uint8Array {
    assertDigest(digest);
    const bytes = this.#objects.get(digest);
    if (bytes === undefined)
      throw new StoreError('NOT_FOUND', `object ${digest} is not in the store`, digest);
    // Verified on every read, like the disk store: the contract is the same
    // whatever sits behind it.
    checkBytes(verify, digest, bytes, 'in memory');
    return bytes.slice();
  }

  write(digest: Digest, bytes: Uint8Array, verify: Verifier = this.#verify): void {
    assertDigest(digest);
    checkBytes(verify, digest, bytes, 'refused on write');
    if (!this.#objects.has(digest)) this.#objects.set(digest, bytes.slice());
  }

  /** Staged objects are held aside and added to the store on commit. */
  beginBatch(): ObjectBatch {
    const staged = new Map<Digest, Uint8Array>();
    let open = true;
    const assertOpen = (what: string): void => {
      if (!open)
        throw new StoreError('CLOSED', `cannot ${what} a batch that was already committed or aborted`);
    };
    return {
      write: (digest, bytes, verify = this.#verify) => {
        assertOpen('write to');
        assertDigest(digest);
        checkBytes(verify, digest, bytes, 'refused on write');
        if (!this.#objects.has(digest) && !staged.has(digest)) staged.set(digest, bytes.slice());
      },
      commit: () => {
        try {
          assertOpen('commit');
        } catch (e) {
          return Promise.reject(e as Error);
        }
        open = false;
        for (const [digest, bytes] of staged)
          if (!this.#objects.has(digest)) this.#objects.set(digest, bytes);
        return Promise.resolve();
      },
      abort: () => {
        open = false;
        staged.clear();
        return Promise.resolve();
      },
      get staged() {
        return staged.size;
      },
    };
  }

  delete(digest: Digest): void {
    assertDigest(digest);
    this.#objects.delete(digest);
  }

  list(): Iterable<Digest> {
    return [...this.#objects.keys()];
  }

  size(digest: Digest): number | null {
    assertDigest(digest);
    return this.#objects.get(digest)?.length ?? null;
  }
}

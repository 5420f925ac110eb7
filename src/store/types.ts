/**
 * Content-addressed object stores. An object is immutable bytes named by a
 * digest (`sha256:<hex>`, see package/types.ts). For metadata objects
 * (manifests, layer indexes, profiles) the digest is the SHA-256 of the stored
 * bytes; for chunks it is the SHA-256 of the *decoded* bytes, so a store takes
 * a `Verifier` that knows how to check what it holds.
 *
 * The interface is synchronous: the guest's filesystem reads chunks through it
 * from inside the worker, where blocking is the point. Remote stores (HTTP, S3)
 * are reached through the runtime's sync bridge, behind this same interface.
 */
import type { Digest } from '../package/types.js';

/** Returns true when `bytes` really are the object `digest`. */
export type Verifier = (digest: Digest, bytes: Uint8Array) => boolean;

export interface ObjectStore {
  has(digest: Digest): boolean;
  /**
   * The stored bytes, checked with `verify` (default: SHA-256 of the bytes).
   * Throws StoreError NOT_FOUND or CORRUPT; corrupt bytes are never returned.
   */
  read(digest: Digest, verify?: Verifier): Uint8Array;
  /**
   * Stores bytes under digest after checking them with `verify`. The write is
   * staged and committed atomically (a crash leaves no visible partial object);
   * writing an object that exists is a no-op. Throws StoreError CORRUPT when
   * the bytes do not match.
   */
  write(digest: Digest, bytes: Uint8Array, verify?: Verifier): void;
  /** Removes an object; absent objects are fine. */
  delete(digest: Digest): void;
  /** Every digest in the store, in no particular order. */
  list(): Iterable<Digest>;
  /** Stored size in bytes, or null when absent. */
  size(digest: Digest): number | null;
  /**
   * Starts a batch of writes that become durable and visible together, for
   * callers writing many objects (a pack). Optional: callers fall back to
   * `write` when a store has none.
   */
  beginBatch?(): ObjectBatch;
}

/**
 * Writes made durable together (the disk store fsyncs them concurrently
 * instead of one at a time). Until `commit` resolves, a staged object is not
 * visible (`has` is false); after it, every staged object is. A crash at any
 * point leaves no visible partial object. Committing or aborting closes the
 * batch; using it afterwards is CLOSED.
 */
export interface ObjectBatch {
  /**
   * Checks bytes with `verify` (CORRUPT when they do not match) and stages
   * them. Objects already in the store or already in this batch are skipped.
   * `absent`: the caller has just found the object missing from the store
   * (`has`), so the batch need not look again; at worst (another writer in
   * between) the object is then stored twice, never lost.
   */
  write(digest: Digest, bytes: Uint8Array, verify?: Verifier, absent?: boolean): void;
  /**
   * Makes every staged object durable, then visible. On failure (IO) the
   * objects not yet published are dropped; some may have landed, none partly.
   */
  commit(): Promise<void>;
  /** Drops every staged object; nothing becomes visible. Idempotent. */
  abort(): Promise<void>;
  /** Objects staged so far (skipped ones not counted). */
  readonly staged: number;
}

/**
 * NOT_FOUND   no such object or ref
 * CORRUPT     stored bytes (or a ref/lease file) fail verification
 * IO          the filesystem refused an operation; the message names the path
 * BAD_DIGEST  a digest string that is not `sha256:<64 lowercase hex>`
 * BAD_REF     a package name, version or range that is not valid
 * LOCKED      the store lock could not be taken before the timeout
 * CLOSED      a batch used after its commit or abort
 */
export type StoreErrorCode = 'NOT_FOUND' | 'CORRUPT' | 'IO' | 'BAD_DIGEST' | 'BAD_REF' | 'LOCKED' | 'CLOSED';

/** The one error type of the store layer; `code` is stable for callers and tests. */
export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    readonly digest?: Digest,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'StoreError';
  }
}

/**
 * Objects as served: read from the store and verified once, then kept in
 * memory (least recently used first out, up to `maxBytes`). Verifying a
 * chunk (zstd decode, then SHA-256) costs more than sending it, and most
 * requests are for the same few chunks (every streamed start of an app
 * fetches its launch profile).
 *
 * A kept copy is served only while the object's file (its own, or its pack)
 * still has the size, mtime and inode it had when it was read: a file replaced or damaged on disk (or an
 * object rewritten, which refreshes its mtime) is read and verified again,
 * so the server never goes on serving bytes its store no longer holds. A
 * change that keeps all three is not noticed; the client verifies every
 * object on arrival anyway, which is what keeps bad bytes from a guest.
 */
import type { Digest } from '../package/types.js';
import type { FsObjectStore } from '../store/fs/index.js';
import { StoreError, type Verifier } from '../store/types.js';

interface Entry {
  bytes: Uint8Array;
  size: number;
  mtimeMs: number;
  ino: number;
}

export const DEFAULT_OBJECT_CACHE_BYTES = 64 * 1024 * 1024;

export class VerifiedObjectCache {
  readonly #entries = new Map<Digest, Entry>();
  #bytes = 0;

  constructor(
    private readonly store: FsObjectStore,
    private readonly verify: Verifier,
    private readonly maxBytes = DEFAULT_OBJECT_CACHE_BYTES,
  ) {}

  /** The object's bytes, verified; throws StoreError NOT_FOUND or CORRUPT like the store. */
  read(digest: Digest): Uint8Array {
    const st = this.store.stat(digest);
    if (!st) throw new StoreError('NOT_FOUND', `object ${digest} is not in the store`, digest);
    const hit = this.#entries.get(digest);
    if (hit) {
      this.#entries.delete(digest);
      if (hit.size === st.size && hit.mtimeMs === st.mtimeMs && hit.ino === st.ino) {
        this.#entries.set(digest, hit); // now the most recently used
        return hit.bytes;
      }
      this.#bytes -= hit.bytes.length;
    }
    const bytes = this.store.read(digest, this.verify);
    if (bytes.length <= this.maxBytes / 16) {
      this.#entries.set(digest, { bytes, size: st.size, mtimeMs: st.mtimeMs, ino: st.ino });
      this.#bytes += bytes.length;
      for (const [d, e] of this.#entries) {
        if (this.#bytes <= this.maxBytes) break;
        this.#entries.delete(d);
        this.#bytes -= e.bytes.length;
      }
    }
    return bytes;
  }
}

/**
 * Objects as served: read from the store and verified once, then kept in
 * memory (least recently used first out, up to `maxBytes`; "used" to within
 * `recheckMs`). Verifying a
 * chunk (zstd decode, then SHA-256) costs more than sending it, and most
 * requests are for the same few chunks (every streamed start of an app
 * fetches its launch profile).
 *
 * A kept copy is served only while the object's file (its own, or its pack)
 * still has the size, mtime and inode it had when it was read: a file
 * replaced, removed or damaged on disk (or an object rewritten, which
 * refreshes its mtime) is read and verified again, so the server does not go
 * on serving bytes its store no longer holds. The file is looked at
 * (`FsObjectStore.stat`) at most once per `recheckMs` per object, like
 * nginx's `open_file_cache_valid`: a `stat` on every request was a tenth of
 * the object route's CPU. So a change made on disk by another process is
 * noticed within `recheckMs`; meanwhile the kept copy, which was verified,
 * is what is served. The server's own writes (`forget`) take effect at once.
 * A change that keeps size, mtime and inode is not noticed; the client
 * verifies every object on arrival anyway, which is what keeps bad bytes
 * from a guest.
 */
import type { Digest } from '../package/types.js';
import type { FsObjectStore } from '../store/fs/index.js';
import { StoreError, type Verifier } from '../store/types.js';

/** A verified object as kept: its bytes (a Buffer, so sending it copies nothing more) and its ETag. */
export interface VerifiedObject {
  readonly bytes: Buffer;
  /** `"<digest>"`, the object's ETag, made once. */
  readonly etag: string;
}

interface Entry extends VerifiedObject {
  size: number;
  mtimeMs: number;
  ino: number;
  /** performance.now() of the last stat that found the file unchanged. */
  checkedAt: number;
}

export const DEFAULT_OBJECT_CACHE_BYTES = 64 * 1024 * 1024;
/** How long a kept object is served without looking at its file again. */
export const DEFAULT_RECHECK_MS = 1000;

export interface ObjectCacheOptions {
  maxBytes?: number;
  recheckMs?: number;
  /** The clock (ms); tests pass their own. */
  now?: () => number;
}

export class VerifiedObjectCache {
  readonly #entries = new Map<Digest, Entry>();
  #bytes = 0;
  readonly #maxBytes: number;
  readonly #recheckMs: number;
  readonly #now: () => number;

  constructor(
    private readonly store: FsObjectStore,
    private readonly verify: Verifier,
    options: ObjectCacheOptions = {},
  ) {
    this.#maxBytes = options.maxBytes ?? DEFAULT_OBJECT_CACHE_BYTES;
    this.#recheckMs = options.recheckMs ?? DEFAULT_RECHECK_MS;
    this.#now = options.now ?? (() => performance.now());
  }

  /** The object's bytes, verified; throws StoreError NOT_FOUND or CORRUPT like the store. */
  read(digest: Digest): VerifiedObject {
    const hit = this.#entries.get(digest);
    const now = this.#now();
    if (hit) {
      // Within the window the entry stays where it is: the Map's order is the
      // order of the last check, so what goes first is what was not asked for
      // longest, give or take `recheckMs` (and a hit costs one lookup).
      if (now - hit.checkedAt < this.#recheckMs) return hit;
      this.#entries.delete(digest);
      this.#bytes -= hit.bytes.length;
    }
    const st = this.store.stat(digest);
    if (!st) throw new StoreError('NOT_FOUND', `object ${digest} is not in the store`, digest);
    if (hit && hit.size === st.size && hit.mtimeMs === st.mtimeMs && hit.ino === st.ino) {
      hit.checkedAt = now;
      this.#keep(digest, hit);
      return hit;
    }
    const read = this.store.read(digest, this.verify);
    const entry: Entry = {
      bytes: Buffer.from(read.buffer, read.byteOffset, read.byteLength),
      etag: `"${digest}"`,
      size: st.size,
      mtimeMs: st.mtimeMs,
      ino: st.ino,
      checkedAt: now,
    };
    if (entry.bytes.length <= this.#maxBytes / 16) this.#keep(digest, entry);
    return entry;
  }

  /** Drops the kept copy of `digest`: the server has just written its file. */
  forget(digest: Digest): void {
    const hit = this.#entries.get(digest);
    if (!hit) return;
    this.#entries.delete(digest);
    this.#bytes -= hit.bytes.length;
  }

  #keep(digest: Digest, entry: Entry): void {
    this.#entries.set(digest, entry);
    this.#bytes += entry.bytes.length;
    for (const [d, e] of this.#entries) {
      if (this.#bytes <= this.#maxBytes) break;
      this.#entries.delete(d);
      this.#bytes -= e.bytes.length;
    }
  }
}

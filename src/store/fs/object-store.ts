/**
 * The disk ObjectStore (Node adapter). Layout and commit protocol: layout.ts
 * and staged-file.ts. Every digest is checked against DIGEST_RE before it
 * becomes a path, and every read is verified before its bytes are returned.
 *
 * Concurrency: two processes writing one object both stage their own copy and
 * both rename it into place; rename is atomic and the bytes are identical, so
 * readers see one whole copy or the other. Writing an object that exists is a
 * no-op apart from refreshing its mtime, which gc's grace period reads: a pack
 * that reuses an old unreferenced object keeps it alive until its ref lands.
 *
 * Objects written by a batch of two or more live in pack files (packs.ts),
 * the rest as one file each; every method here sees both. A packed object's
 * mtime is its pack's, so refreshing one keeps its whole pack young.
 */
import { readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Digest } from '../../package/types.js';
import { assertDigest, checkBytes, hexOf } from '../digest.js';
import { StoreError, type ObjectBatch, type ObjectStore, type Verifier } from '../types.js';
import { storeLayout, type StoreLayout } from './layout.js';
import { FsObjectBatch } from './object-batch.js';
import { PackSet, type PackedObject } from './packs.js';
import { verifySha256 } from './sha256.js';
import { ioError, isCode, touchExisting, writeFileStaged } from './staged-file.js';

const SHARD_RE = /^[0-9a-f]{2}$/;

/** More pack files than this, and a new one sets off a merge of the smallest (packs.ts `merge`). */
const AUTO_MERGE_PACKS = 16;
const HEX_RE = /^[0-9a-f]{64}$/;

export interface FsObjectStoreOptions {
  /** The verifier used when a call passes none; default SHA-256 of the bytes. */
  verify?: Verifier;
}

export class FsObjectStore implements ObjectStore {
  readonly layout: StoreLayout;
  readonly #verify: Verifier;
  readonly #packs: PackSet;

  /** `root` is the store directory (`$CAPSULE_HOME/store`); it is created on first write. */
  constructor(root: string, options: FsObjectStoreOptions = {}) {
    this.layout = storeLayout(root);
    this.#verify = options.verify ?? verifySha256;
    this.#packs = new PackSet(this.layout.packs);
  }

  /** Where `digest` lives on disk as a loose object (validated first); packed objects are not there. */
  pathOf(digest: Digest): string {
    assertDigest(digest);
    return this.#loosePath(digest);
  }

  /** pathOf for a digest already validated. */
  #loosePath(digest: Digest): string {
    const hex = hexOf(digest);
    return join(this.layout.objects, hex.slice(0, 2), hex);
  }

  has(digest: Digest): boolean {
    const path = this.pathOf(digest);
    return this.#statLoose(path) !== null || this.#packs.present(digest) !== undefined;
  }

  read(digest: Digest, verify: Verifier = this.#verify): Uint8Array {
    assertDigest(digest);
    // The packs as last listed (re-listed only when packs/ changed) before the loose file: a
    // miss on a loose file costs an exception, and a package's objects are usually packed.
    const known = this.#packs.known(digest) ?? this.#packs.locate(digest);
    if (known) {
      const bytes = this.#packs.read(digest, known);
      if (bytes) {
        checkBytes(verify, digest, bytes, `in ${known.pack.path}`);
        return bytes;
      }
    }
    // The loose path only now: a packed read (the common one) needs none.
    const path = this.#loosePath(digest);
    let buf: Buffer;
    try {
      buf = readFileSync(path);
    } catch (e) {
      if (!isCode(e, 'ENOENT')) throw ioError('read', path, e);
      // Not loose: maybe in a pack this process has not seen yet.
      const at = this.#packs.locate(digest, true);
      const bytes = at && this.#packs.read(digest, at);
      if (!at || !bytes) throw new StoreError('NOT_FOUND', `object ${digest} is not in the store`, digest);
      checkBytes(verify, digest, bytes, `in ${at.pack.path}`);
      return bytes;
    }
    const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
    checkBytes(verify, digest, bytes, path);
    return bytes;
  }

  write(digest: Digest, bytes: Uint8Array, verify: Verifier = this.#verify): void {
    const path = this.pathOf(digest);
    checkBytes(verify, digest, bytes, 'refused on write');
    if (this.touch(digest)) return;
    try {
      // 0444: objects are immutable; a stray write by another tool fails loudly.
      writeFileStaged(this.layout.tmp, path, bytes, 0o444);
    } catch (e) {
      // Where rename cannot replace a read-only file (Windows), losing the
      // race to another writer of the same object is still success.
      if (this.#statLoose(path) === null) throw e;
    }
  }

  /**
   * True when the object is in the store, its mtime (or its pack's) now
   * refreshed so gc's grace period counts from now; false when absent.
   */
  touch(digest: Digest): boolean {
    const known = this.#packs.known(digest);
    if (known && this.#packs.touch(known)) return true;
    if (touchExisting(this.pathOf(digest))) return true;
    // A pack gone under us (gc rewrote it) forces a fresh listing.
    const at = this.#packs.locate(digest, known !== undefined);
    return at !== undefined && this.#packs.touch(at);
  }

  /**
   * A batch of writes (object-batch.ts): two or more objects become one
   * pack file; a lone object becomes a loose one.
   */
  beginBatch(): ObjectBatch {
    return new FsObjectBatch(
      {
        layout: this.layout,
        pathOf: (d) => this.pathOf(d),
        touch: (d) => this.touch(d),
        adoptPack: (name) => {
          this.#packs.adopt(name);
          this.#mergeIfMany();
        },
      },
      this.#verify,
    );
  }

  /**
   * Merges small pack files when there are more than `maxPacks` (packs.ts
   * `merge`); returns how many were merged. gc calls it with 1: as few packs
   * as the size bound allows.
   */
  mergePacks(maxPacks: number): number {
    return this.#packs.merge(this.layout.tmp, maxPacks);
  }

  /** After a pack is published: keeps the count of packs bounded. Best effort: a failure leaves more packs, nothing else. */
  #mergeIfMany(): void {
    try {
      this.#packs.merge(this.layout.tmp, AUTO_MERGE_PACKS);
    } catch {
      // e.g. the disk is full: the objects are all still where they were
    }
  }

  delete(digest: Digest): void {
    this.deleteMany([digest]);
  }

  /** Removes objects, loose or packed (packs holding any are rewritten without them); absent ones are fine. */
  deleteMany(digests: Iterable<Digest>): void {
    const dead = new Set<Digest>();
    for (const digest of digests) {
      const path = this.pathOf(digest);
      dead.add(digest);
      try {
        rmSync(path, { force: true });
      } catch (e) {
        throw ioError('delete', path, e);
      }
    }
    if (dead.size > 0) this.#packs.remove(dead, this.layout.tmp);
  }

  *list(): Iterable<Digest> {
    const packed = new Set(this.#packs.digests());
    yield* packed;
    for (const shard of readDirOrEmpty(this.layout.objects)) {
      if (!SHARD_RE.test(shard)) continue;
      for (const name of readDirOrEmpty(join(this.layout.objects, shard))) {
        // Anything else in a shard (a stray file, a wrongly placed object) is
        // not an object of this store.
        if (HEX_RE.test(name) && name.startsWith(shard) && !packed.has(`sha256:${name}`))
          yield `sha256:${name}`;
      }
    }
  }

  size(digest: Digest): number | null {
    return this.stat(digest)?.size ?? null;
  }

  /** Last write (or re-write) time in ms since the epoch, or null when absent; gc's grace period. */
  modifiedAt(digest: Digest): number | null {
    return this.stat(digest)?.mtimeMs ?? null;
  }

  /**
   * The object's stored size, and the mtime and inode of the file that holds
   * it (its own, or its pack's), or null when absent. A reader that keeps
   * the bytes can tell from these whether the object was rewritten since.
   */
  stat(digest: Digest): { size: number; mtimeMs: number; ino: number } | null {
    const path = this.pathOf(digest);
    const packed = (at: PackedObject | undefined) => {
      const st = at && this.#packs.stat(at);
      return at && st ? { size: at.length, mtimeMs: st.mtimeMs, ino: st.ino } : null;
    };
    return (
      packed(this.#packs.known(digest)) ?? this.#statLoose(path) ?? packed(this.#packs.locate(digest, true))
    );
  }

  /**
   * Where the object's stored bytes are: its own file (offset 0), or a range
   * of a pack file. Null when absent. For tools and tests that look at the
   * bytes on disk.
   */
  locate(digest: Digest): { path: string; offset: number; length: number; packed: boolean } | null {
    const path = this.pathOf(digest);
    const at =
      this.#packs.known(digest) ?? (this.#statLoose(path) ? undefined : this.#packs.locate(digest, true));
    if (at) return { path: at.pack.path, offset: at.offset, length: at.length, packed: true };
    const st = this.#statLoose(path);
    return st ? { path, offset: 0, length: st.size, packed: false } : null;
  }

  /** Pack files whose index is damaged (their objects cannot be read), for `capsule verify`. */
  damagedPacks(): { path: string; why: string }[] {
    return this.#packs.problems();
  }

  #statLoose(path: string): { size: number; mtimeMs: number; ino: number } | null {
    try {
      const st = statSync(path, { throwIfNoEntry: false });
      return st?.isFile() ? st : null;
    } catch (e) {
      if (isCode(e, 'ENOENT', 'ENOTDIR')) return null;
      throw ioError('stat', path, e);
    }
  }
}

function readDirOrEmpty(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (e) {
    if (isCode(e, 'ENOENT', 'ENOTDIR')) return [];
    throw ioError('list', dir, e);
  }
}

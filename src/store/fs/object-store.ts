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
 */
import { readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Digest } from '../../package/types.js';
import { assertDigest, checkBytes, hexOf } from '../digest.js';
import { StoreError, type ObjectBatch, type ObjectStore, type Verifier } from '../types.js';
import { storeLayout, type StoreLayout } from './layout.js';
import { FsObjectBatch } from './object-batch.js';
import { verifySha256 } from './sha256.js';
import { ioError, isCode, touchExisting, writeFileStaged } from './staged-file.js';

const SHARD_RE = /^[0-9a-f]{2}$/;
const HEX_RE = /^[0-9a-f]{64}$/;

export interface FsObjectStoreOptions {
  /** The verifier used when a call passes none; default SHA-256 of the bytes. */
  verify?: Verifier;
}

export class FsObjectStore implements ObjectStore {
  readonly layout: StoreLayout;
  readonly #verify: Verifier;

  /** `root` is the store directory (`$CAPSULE_HOME/store`); it is created on first write. */
  constructor(root: string, options: FsObjectStoreOptions = {}) {
    this.layout = storeLayout(root);
    this.#verify = options.verify ?? verifySha256;
  }

  /** Where `digest` lives on disk (validated first). */
  pathOf(digest: Digest): string {
    assertDigest(digest);
    const hex = hexOf(digest);
    return join(this.layout.objects, hex.slice(0, 2), hex);
  }

  has(digest: Digest): boolean {
    return this.#stat(digest) !== null;
  }

  read(digest: Digest, verify: Verifier = this.#verify): Uint8Array {
    const path = this.pathOf(digest);
    let buf: Buffer;
    try {
      buf = readFileSync(path);
    } catch (e) {
      if (isCode(e, 'ENOENT'))
        throw new StoreError('NOT_FOUND', `object ${digest} is not in the store`, digest);
      throw ioError('read', path, e);
    }
    const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
    checkBytes(verify, digest, bytes, path);
    return bytes;
  }

  write(digest: Digest, bytes: Uint8Array, verify: Verifier = this.#verify): void {
    const path = this.pathOf(digest);
    checkBytes(verify, digest, bytes, 'refused on write');
    if (touchExisting(path)) return;
    try {
      // 0444: objects are immutable; a stray write by another tool fails loudly.
      writeFileStaged(this.layout.tmp, path, bytes, 0o444);
    } catch (e) {
      // Where rename cannot replace a read-only file (Windows), losing the
      // race to another writer of the same object is still success.
      if (this.#stat(digest) === null) throw e;
    }
  }

  /**
   * A batch of writes (object-batch.ts): staged without fsync, then made
   * durable together and renamed into place on commit.
   */
  beginBatch(): ObjectBatch {
    return new FsObjectBatch(this.layout, (d) => this.pathOf(d), this.#verify);
  }

  delete(digest: Digest): void {
    const path = this.pathOf(digest);
    try {
      rmSync(path, { force: true });
    } catch (e) {
      throw ioError('delete', path, e);
    }
  }

  *list(): Iterable<Digest> {
    for (const shard of readDirOrEmpty(this.layout.objects)) {
      if (!SHARD_RE.test(shard)) continue;
      for (const name of readDirOrEmpty(join(this.layout.objects, shard))) {
        // Anything else in a shard (a stray file, a wrongly placed object) is
        // not an object of this store.
        if (HEX_RE.test(name) && name.startsWith(shard)) yield `sha256:${name}`;
      }
    }
  }

  size(digest: Digest): number | null {
    return this.#stat(digest)?.size ?? null;
  }

  /** Last write (or re-write) time in ms since the epoch, or null when absent; gc's grace period. */
  modifiedAt(digest: Digest): number | null {
    return this.#stat(digest)?.mtimeMs ?? null;
  }

  #stat(digest: Digest): { size: number; mtimeMs: number } | null {
    const path = this.pathOf(digest);
    try {
      const st = statSync(path);
      return st.isFile() ? st : null;
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

/**
 * Batched writes to the disk store. A batch of two or more objects becomes
 * one pack file (packs.ts): each object is appended to a staged pack in tmp/
 * as it is written (on libuv's thread pool, so the caller, a pack chunking on
 * the main thread, never waits for the disk), and commit ends the pack with
 * its index, fsyncs it once and renames it into packs/. A batch of one object
 * (a streamed chunk) becomes a loose object the same way, staged and fsync'd
 * on the thread pool and renamed into its shard on commit.
 *
 * An object gets its name only by a rename after its bytes are durable, so a
 * crash or `kill -9` at any point leaves whole objects or tmp/ leftovers
 * (which gc removes), never a partial object. A crash between a rename and
 * its directory's fsync can lose the rename: the object is then missing,
 * which the pack protocol checks under the store lock before setting a ref.
 *
 * fsync, not fdatasync: for a new file fdatasync must flush the same
 * allocation metadata, and measured no faster here (ext4).
 */
import { rmSync } from 'node:fs';
import { mkdir, open, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Digest } from '../../package/types.js';
import { checkBytes } from '../digest.js';
import { StoreError, type ObjectBatch, type Verifier } from '../types.js';
import type { StoreLayout } from './layout.js';
import { PackWriter } from './packs.js';
import { ioError, isCode, stagedName, touchExisting } from './staged-file.js';

/** What a batch needs from its store. */
export interface BatchHost {
  layout: StoreLayout;
  /** The loose path of an object (validates the digest). */
  pathOf(digest: Digest): string;
  /** True when the object is stored (loose or packed), its mtime refreshed. */
  touch(digest: Digest): boolean;
  /** Makes a pack just published visible to the store's readers in this process. */
  adoptPack(name: string): void;
}

type BatchState = 'open' | 'committing' | 'closed';

export class FsObjectBatch implements ObjectBatch {
  readonly #digests = new Set<Digest>();
  /** The first object, held until a second one decides between a pack and a loose file. */
  #first: { digest: Digest; bytes: Uint8Array } | undefined;
  #pack: PackWriter | undefined;
  #state: BatchState = 'open';

  constructor(
    private readonly host: BatchHost,
    private readonly defaultVerify: Verifier,
  ) {}

  get staged(): number {
    return this.#digests.size;
  }

  write(digest: Digest, bytes: Uint8Array, verify: Verifier = this.defaultVerify, absent = false): void {
    this.#assertOpen('write to');
    this.host.pathOf(digest);
    checkBytes(verify, digest, bytes, 'refused on write');
    if (this.#digests.has(digest) || (!absent && this.host.touch(digest))) return;
    this.#digests.add(digest);
    if (!this.#pack && !this.#first) {
      this.#first = { digest, bytes };
      return;
    }
    if (!this.#pack) {
      this.#pack = new PackWriter(this.host.layout.tmp, this.host.layout.packs);
      this.#pack.add(this.#first!.digest, this.#first!.bytes);
      this.#first = undefined;
    }
    this.#pack.add(digest, bytes);
  }

  async commit(): Promise<void> {
    this.#assertOpen('commit');
    this.#state = 'committing';
    try {
      if (this.#pack) {
        const { name } = await this.#pack.finish();
        this.host.adoptPack(name);
      } else if (this.#first) {
        await this.#commitLoose(this.#first.digest, this.#first.bytes);
      }
    } catch (e) {
      throw ioError('commit', this.host.layout.root, e);
    } finally {
      this.#first = undefined;
      this.#pack = undefined;
      this.#state = 'closed';
    }
  }

  async abort(): Promise<void> {
    if (this.#state !== 'open') return;
    this.#state = 'closed';
    this.#first = undefined;
    await this.#pack?.abort();
    this.#pack = undefined;
  }

  /** One object as a loose file: staged and fsync'd, renamed into its shard, the shard fsync'd. */
  async #commitLoose(digest: Digest, bytes: Uint8Array): Promise<void> {
    const target = this.host.pathOf(digest);
    const path = join(this.host.layout.tmp, stagedName());
    await stageAndSync(this.host.layout.tmp, path, bytes);
    const shard = dirname(target);
    const dirs = [shard];
    try {
      try {
        await rename(path, target);
      } catch (e) {
        if (!isCode(e, 'ENOENT')) throw e;
        const created = await mkdir(shard, { recursive: true });
        // Each directory made now is an entry in its parent, up to the first one made.
        if (created !== undefined) {
          for (let d = shard; d !== dirname(created) && d !== dirname(d);) dirs.push((d = dirname(d)));
        }
        await rename(path, target);
      }
    } catch (e) {
      rmSync(path, { force: true });
      // Where rename cannot replace a read-only file (Windows), losing the
      // race to another writer of the same object is still success.
      if (touchExisting(target)) return;
      throw e;
    }
    for (const d of dirs) await syncDir(d);
  }

  #assertOpen(what: string): void {
    if (this.#state !== 'open')
      throw new StoreError('CLOSED', `cannot ${what} a batch that was already committed or aborted`);
  }
}

/** Creates `path` (mode 0444, never over an existing file), writes `bytes`, fsyncs and closes it. */
async function stageAndSync(tmpDir: string, path: string, bytes: Uint8Array): Promise<void> {
  let fh;
  try {
    fh = await open(path, 'wx', 0o444);
  } catch (e) {
    if (!isCode(e, 'ENOENT')) throw e;
    await mkdir(tmpDir, { recursive: true });
    fh = await open(path, 'wx', 0o444);
  }
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => {});
    rmSync(path, { force: true });
    throw e;
  }
  await fh.close();
}

/** As staged-file.ts fsyncDir: platforms that cannot fsync a directory are skipped. */
async function syncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
  } catch {
    return;
  }
  try {
    await fh.sync();
  } catch (e) {
    if (!isCode(e, 'EISDIR', 'EINVAL', 'EPERM', 'EBADF')) throw e;
  } finally {
    await fh.close();
  }
}

/**
 * Batched writes to the disk store: the same staged-write protocol as
 * staged-file.ts, with the slow part (one fsync per file, then one per
 * directory, in turn) replaced by concurrent fsyncs on libuv's thread pool.
 *
 *   write   verify; skip objects present (mtime refreshed, as `write` does)
 *           or already staged; write the bytes to a new file in tmp/
 *           (O_EXCL) and start its fsync on the thread pool at once, so the
 *           data goes to disk while the caller keeps working.
 *   commit  wait for every fsync; rename each staged file onto its object
 *           path; fsync each directory that gained an entry (the shards, and
 *           the parents of directories made now) once.
 *
 * An object gets its name only by rename, after its bytes are durable, so a
 * crash or `kill -9` at any point leaves whole objects or tmp/ leftovers
 * (which gc removes), never a partial object. A crash between a rename and
 * its directory's fsync can lose the rename: the object is then missing,
 * which the pack protocol checks under the store lock before setting a ref.
 *
 * fsync, not fdatasync: for a new file fdatasync must flush the same
 * allocation metadata, and measured no faster here (ext4).
 */
import { closeSync, fsync, rmSync } from 'node:fs';
import { mkdir, open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Digest } from '../../package/types.js';
import { checkBytes } from '../digest.js';
import { StoreError, type ObjectBatch, type Verifier } from '../types.js';
import type { StoreLayout } from './layout.js';
import { ioError, isCode, stageUnsynced, touchExisting } from './staged-file.js';

/**
 * Staged files whose fd is kept open until its fsync is done. Beyond this,
 * a file is closed at once and reopened for its fsync at commit, so a large
 * batch cannot run out of file descriptors.
 */
const MAX_OPEN_FILES = 256;

interface Staged {
  path: string;
  target: string;
  /** The fsync started at write time, or null when it waits for commit. */
  synced: Promise<void> | null;
}

type BatchState = 'open' | 'committing' | 'closed';

export class FsObjectBatch implements ObjectBatch {
  readonly #staged = new Map<Digest, Staged>();
  #state: BatchState = 'open';
  #openFiles = 0;

  constructor(
    private readonly layout: StoreLayout,
    private readonly pathOf: (digest: Digest) => string,
    private readonly defaultVerify: Verifier,
  ) {}

  get staged(): number {
    return this.#staged.size;
  }

  write(digest: Digest, bytes: Uint8Array, verify: Verifier = this.defaultVerify): void {
    this.#assertOpen('write to');
    const target = this.pathOf(digest);
    checkBytes(verify, digest, bytes, 'refused on write');
    if (this.#staged.has(digest) || touchExisting(target)) return;
    // 0444: objects are immutable; a stray write by another tool fails loudly.
    const { path, fd } = stageUnsynced(this.layout.tmp, bytes, 0o444);
    let synced: Promise<void> | null = null;
    if (this.#openFiles < MAX_OPEN_FILES) {
      this.#openFiles++;
      synced = syncAndClose(fd).finally(() => this.#openFiles--);
      // Failures are reported by commit; until then they must not be unhandled.
      synced.catch(() => {});
    } else {
      closeSync(fd);
    }
    this.#staged.set(digest, { path, target, synced });
  }

  async commit(): Promise<void> {
    this.#assertOpen('commit');
    this.#state = 'committing';
    const staged = [...this.#staged.values()];
    try {
      await settleAll(staged.map((s) => s.synced ?? syncPath(s.path)));
      const dirs = new Set<string>();
      await settleAll(staged.map((s) => this.#publish(s, dirs)));
      await settleAll([...dirs].map(syncDir));
    } catch (e) {
      // Renamed files are gone from tmp/; this removes only what did not land.
      for (const s of staged) rmSync(s.path, { force: true });
      throw ioError('commit', this.layout.objects, e);
    } finally {
      this.#state = 'closed';
    }
  }

  async abort(): Promise<void> {
    if (this.#state !== 'open') return;
    this.#state = 'closed';
    const staged = [...this.#staged.values()];
    // Let the fsyncs in flight finish, so every fd is closed before the files go.
    await Promise.allSettled(staged.map((s) => s.synced));
    for (const s of staged) rmSync(s.path, { force: true });
  }

  /** Renames one staged file into its shard, making the shard when missing. */
  async #publish(s: Staged, dirs: Set<string>): Promise<void> {
    const shard = dirname(s.target);
    try {
      try {
        await rename(s.path, s.target);
      } catch (e) {
        if (!isCode(e, 'ENOENT')) throw e;
        const created = await mkdir(shard, { recursive: true });
        // Each directory made now is an entry in its parent, up to the first one made.
        if (created !== undefined) {
          for (let d = shard; d !== dirname(created) && d !== dirname(d);) dirs.add((d = dirname(d)));
        }
        await rename(s.path, s.target);
      }
    } catch (e) {
      // Where rename cannot replace a read-only file (Windows), losing the
      // race to another writer of the same object is still success.
      if (!touchExisting(s.target)) throw e;
      return;
    }
    dirs.add(shard);
  }

  #assertOpen(what: string): void {
    if (this.#state !== 'open')
      throw new StoreError('CLOSED', `cannot ${what} a batch that was already committed or aborted`);
  }
}

function syncAndClose(fd: number): Promise<void> {
  return new Promise((resolve, reject) => {
    fsync(fd, (e) => {
      try {
        closeSync(fd);
      } catch (closeError) {
        e ??= closeError as NodeJS.ErrnoException;
      }
      if (e) reject(e);
      else resolve();
    });
  });
}

/** fsync by path: a read-only fd is enough for fsync on Linux and macOS. */
async function syncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
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

/** Waits for every promise, then throws the first failure: nothing is left running. */
async function settleAll(promises: Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(promises);
  for (const r of results) if (r.status === 'rejected') throw r.reason;
}

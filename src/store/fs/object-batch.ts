/**
 * Batched writes to the disk store: the same staged-write protocol as
 * staged-file.ts, with the slow part (one fsync per file, then one per
 * directory, in turn) replaced by concurrent fsyncs on libuv's thread pool.
 *
 *   write   verify; skip objects present (mtime refreshed, as `write` does)
 *           or already staged; then, on the thread pool, create a new file
 *           in tmp/ (O_EXCL), write the bytes and fsync it, so the caller
 *           (a pack, chunking on the main thread) never waits for the disk.
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
import { rmSync } from 'node:fs';
import { mkdir, open, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Digest } from '../../package/types.js';
import { checkBytes } from '../digest.js';
import { StoreError, type ObjectBatch, type Verifier } from '../types.js';
import type { StoreLayout } from './layout.js';
import { ioError, isCode, stagedName, touchExisting } from './staged-file.js';

/**
 * Staged files whose fd is kept open until its fsync is done. Beyond this,
 * a file is closed at once and reopened for its fsync at commit, so a large
 * batch cannot run out of file descriptors.
 */
const MAX_IN_FLIGHT = 64;

interface Staged {
  path: string;
  target: string;
  /** Creating, writing and syncing the staged file, started at write time. */
  synced: Promise<void>;
}

type BatchState = 'open' | 'committing' | 'closed';

export class FsObjectBatch implements ObjectBatch {
  readonly #staged = new Map<Digest, Staged>();
  #state: BatchState = 'open';
  #inFlight = 0;
  readonly #waiting: (() => void)[] = [];

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
    // Creating, writing and syncing the staged file all happen on libuv's
    // thread pool: the caller (a pack chunking on the main thread) never
    // waits for the disk. At most MAX_IN_FLIGHT files are open at once.
    const path = join(this.layout.tmp, stagedName());
    const synced = this.#throttle(() => stageAndSync(this.layout.tmp, path, bytes));
    // Failures are reported by commit; until then they must not be unhandled.
    synced.catch(() => {});
    this.#staged.set(digest, { path, target, synced });
  }

  /** Runs `job` when fewer than MAX_IN_FLIGHT staged files are being written. */
  #throttle(job: () => Promise<void>): Promise<void> {
    const run = async (): Promise<void> => {
      this.#inFlight++;
      try {
        await job();
      } finally {
        this.#inFlight--;
        this.#waiting.shift()?.();
      }
    };
    if (this.#inFlight < MAX_IN_FLIGHT) return run();
    return new Promise<void>((resolve) => this.#waiting.push(resolve)).then(run);
  }

  async commit(): Promise<void> {
    this.#assertOpen('commit');
    this.#state = 'committing';
    const staged = [...this.#staged.values()];
    try {
      await settleAll(staged.map((s) => s.synced));
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

/** Waits for every promise, then throws the first failure: nothing is left running. */
async function settleAll(promises: Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(promises);
  for (const r of results) if (r.status === 'rejected') throw r.reason;
}

/**
 * Staged writes: the one way a file appears in the store. The bytes go to a
 * fresh file in tmp/ (O_EXCL, unique name), are fsync'd, and the file is
 * renamed onto its final name; then the directory is fsync'd so the rename
 * itself survives a power cut. Any failure removes the staged file. A crash
 * or `kill -9` can leave a file in tmp/, never a partial file under its final
 * name; gc removes old tmp/ leftovers.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  renameSync,
  statSync,
  unlinkSync,
  utimesSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { StoreError } from '../types.js';

/** Unique among processes (pid) and within one (random); `.tmp` marks it as staged. */
export function stagedName(): string {
  return `${process.pid}-${randomBytes(8).toString('hex')}.tmp`;
}

/** Replaces (or creates) `target` with `bytes`, atomically. Throws StoreError IO. */
export function writeFileStaged(tmpDir: string, target: string, bytes: Uint8Array, mode = 0o644): void {
  const staged = stageFile(tmpDir, bytes, mode);
  try {
    const dir = dirname(target);
    const created = mkdirSync(dir, { recursive: true });
    renameSync(staged, target);
    fsyncDir(dir);
    // A directory made just now is itself an entry in its parent.
    if (created !== undefined) fsyncDir(dirname(created));
  } catch (e) {
    removeQuietly(staged);
    throw ioError('commit', target, e);
  }
}

/**
 * Replaces (or creates) `target` with `bytes` atomically but not durably: no
 * fsync, so after a power cut the file may be missing or empty. For files
 * that only matter while this process runs (leases), which readers must
 * tolerate being damaged. Throws StoreError IO.
 */
export function writeFileVolatile(tmpDir: string, target: string, bytes: Uint8Array, mode = 0o644): void {
  const { path, fd } = stageUnsynced(tmpDir, bytes, mode);
  try {
    closeSync(fd);
    try {
      renameSync(path, target);
    } catch (e) {
      if (!isCode(e, 'ENOENT')) throw e;
      mkdirSync(dirname(target), { recursive: true });
      renameSync(path, target);
    }
  } catch (e) {
    removeQuietly(path);
    throw ioError('commit', target, e);
  }
}

/** Writes bytes to a new file in tmpDir, fsync'd; returns its path. Throws StoreError IO. */
export function stageFile(tmpDir: string, bytes: Uint8Array, mode = 0o644): string {
  const { path, fd } = stageUnsynced(tmpDir, bytes, mode);
  try {
    fsyncSync(fd);
    closeSync(fd);
    return path;
  } catch (e) {
    closeQuietly(fd);
    removeQuietly(path);
    throw ioError('stage', path, e);
  }
}

/**
 * Writes bytes to a new file in tmpDir and leaves it open and not yet
 * durable: the caller fsyncs and closes `fd` (batches do it on the thread
 * pool). Throws StoreError IO.
 */
export function stageUnsynced(tmpDir: string, bytes: Uint8Array, mode = 0o644): { path: string; fd: number } {
  const path = join(tmpDir, stagedName());
  let fd: number | undefined;
  try {
    try {
      fd = openSync(path, 'wx', mode);
    } catch (e) {
      if (!isCode(e, 'ENOENT')) throw e;
      mkdirSync(tmpDir, { recursive: true });
      fd = openSync(path, 'wx', mode);
    }
    for (let off = 0; off < bytes.length;) off += writeSync(fd, bytes, off, bytes.length - off);
    return { path, fd };
  } catch (e) {
    if (fd !== undefined) closeQuietly(fd);
    removeQuietly(path);
    throw ioError('stage', path, e);
  }
}

/**
 * True when a file exists at path, its mtime now refreshed (gc's grace
 * period reads it); false when absent.
 */
export function touchExisting(path: string): boolean {
  try {
    // The common case, absent, without the cost of building an ENOENT error.
    if (statSync(path, { throwIfNoEntry: false }) === undefined) return false;
    const now = new Date();
    utimesSync(path, now, now);
    return true;
  } catch (e) {
    if (isCode(e, 'ENOENT', 'ENOTDIR')) return false;
    // Owned by another user (a shared store): it exists, which is what counts.
    if (isCode(e, 'EPERM', 'EACCES')) return true;
    throw ioError('update', path, e);
  }
}

/**
 * fsync on a directory makes its entries durable on Linux and macOS. Some
 * platforms (Windows) cannot open a directory for it; there rename is
 * durable on its own, so that failure is ignored.
 */
export function fsyncDir(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, 'r');
  } catch {
    return;
  }
  try {
    fsyncSync(fd);
  } catch (e) {
    if (!isCode(e, 'EISDIR', 'EINVAL', 'EPERM', 'EBADF')) throw e;
  } finally {
    closeQuietly(fd);
  }
}

/**
 * Removes a file; absent is fine. unlink(2) directly: rmSync's recursive
 * machinery is loaded on first use, a cost on every run's lease and lock.
 * Other failures are thrown as they are.
 */
export function removeFile(path: string): void {
  try {
    unlinkSync(path);
  } catch (e) {
    if (!isCode(e, 'ENOENT')) throw e;
  }
}

/** removeFile for cleanup paths that are already failing: never throws. */
export function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already failing or already gone; the first error is the one to report
  }
}

export function ioError(op: string, path: string, e: unknown): StoreError {
  if (e instanceof StoreError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new StoreError('IO', `cannot ${op} ${path}: ${msg}`, undefined, { cause: e });
}

export function isCode(e: unknown, ...codes: string[]): boolean {
  return typeof e === 'object' && e !== null && codes.includes((e as { code?: unknown }).code as string);
}

export function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already failing; the first error is the one to report
  }
}

/**
 * A FileSystem in which some paths are locked by an administrator: reads pass
 * through, and every change to a locked path or to anything under it fails
 * with EACCES. The settings system puts it around a running app's whole view
 * (see delivery/local/settings-layer.ts) so a locked config file or env-like
 * directory shows the admin's value, whatever the app tries.
 *
 * Why EACCES and not EROFS: EROFS says "this filesystem is read-only", and a
 * guest (or libc) may reasonably conclude that nothing anywhere on it can be
 * written and stop trying. Here the filesystem is writable and only these
 * entries are refused, which is what EACCES ("you may not change this one")
 * says. ReadOnlyFileSystem is the EROFS counterpart.
 *
 * What counts as a change of a locked path L (a contract path: no leading
 * "/", and never the root):
 * - open with write, create or truncate at or under L; setTimes at or under L;
 * - unlink, rmdir, mkdir, symlink at or under L;
 * - rename when either end is at or under L, or when either end *contains* L
 *   (moving or replacing an ancestor would take the locked entry with it and
 *   let the app put something else in its place);
 * - rmdir of an ancestor of L, for the same reason (it is non-empty anyway
 *   when L exists; when L does not exist nothing is lost by refusing);
 * - link from or to L: a link *from* L is refused too, because in a union
 *   view linking copies L up and the new name would then write the very
 *   bytes shown at L.
 * A handle opened read-only on a locked file cannot change its times or size
 * either (in a union, that would copy the file up).
 */
import type { DirEntry, FileHandle, FileKind, FileSystem, OpenFlags, Stat, TimeSpec } from './types.js';
import { Errno, fsError } from './errno.js';
import { isWithin } from './path.js';

export class LockedPathsFileSystem implements FileSystem {
  private readonly locked: readonly string[];

  /** `lockedPaths` are contract paths (no leading "/"); each locks itself and its subtree. */
  constructor(
    private readonly inner: FileSystem,
    lockedPaths: readonly string[],
  ) {
    for (const p of lockedPaths) {
      if (p.startsWith('/') || p.endsWith('/') || p.includes('\0') || p.split('/').some(badComponent)) {
        throw new TypeError(`not a contract path: ${JSON.stringify(p)}`);
      }
    }
    this.locked = [...lockedPaths];
  }

  get readOnly(): boolean {
    return this.inner.readOnly;
  }

  /** True when path is a locked path or lies under one. */
  isLocked(path: string): boolean {
    return this.locked.some((l) => isWithin(path, l));
  }

  /** True when some locked path is path itself, lies under it, or contains it. */
  private touchesLock(path: string): boolean {
    return this.locked.some((l) => isWithin(path, l) || isWithin(l, path));
  }

  private guard(path: string): void {
    if (this.isLocked(path)) throw fsError(Errno.ACCES, `${path} is locked by policy`);
  }

  private guardTree(path: string): void {
    // The root contains every lock, but it can be neither removed nor moved: the inner fs says EBUSY.
    if (path !== '' && this.touchesLock(path))
      throw fsError(Errno.ACCES, `${path} holds a path locked by policy`);
  }

  kind(path: string): FileKind | null {
    return this.inner.kind(path);
  }
  stat(path: string): Stat {
    return this.inner.stat(path);
  }
  readlink(path: string): string {
    return this.inner.readlink(path);
  }
  readdir(path: string): DirEntry[] {
    return this.inner.readdir(path);
  }

  open(path: string, flags: OpenFlags): FileHandle {
    if (!this.isLocked(path)) return this.inner.open(path, flags);
    if (flags.write || flags.create || flags.truncate) this.guard(path);
    return new LockedHandle(this.inner.open(path, flags), path);
  }

  mkdir(path: string): void {
    this.guard(path);
    this.inner.mkdir(path);
  }
  rmdir(path: string): void {
    this.guardTree(path);
    this.inner.rmdir(path);
  }
  unlink(path: string): void {
    this.guard(path);
    this.inner.unlink(path);
  }
  rename(from: string, to: string): void {
    this.guardTree(from);
    this.guardTree(to);
    this.inner.rename(from, to);
  }
  link(from: string, to: string): void {
    this.guard(from);
    this.guard(to);
    this.inner.link(from, to);
  }
  symlink(target: string, path: string): void {
    this.guard(path);
    this.inner.symlink(target, path);
  }
  setTimes(path: string, atime: TimeSpec, mtime: TimeSpec): void {
    this.guard(path);
    this.inner.setTimes(path, atime, mtime);
  }
}

function badComponent(c: string): boolean {
  return c === '' || c === '.' || c === '..';
}

/** A handle on a locked entry: reads pass, anything that would change it is refused. */
class LockedHandle implements FileHandle {
  constructor(
    private readonly inner: FileHandle,
    private readonly path: string,
  ) {}

  private refuse(): never {
    throw fsError(Errno.ACCES, `${this.path} is locked by policy`);
  }

  get kind(): FileKind {
    return this.inner.kind;
  }
  read(buf: Uint8Array, position: number): number {
    return this.inner.read(buf, position);
  }
  write(): number {
    this.refuse();
  }
  stat(): Stat {
    return this.inner.stat();
  }
  setSize(): void {
    this.refuse();
  }
  allocate(): void {
    this.refuse();
  }
  setTimes(): void {
    this.refuse();
  }
  sync(): void {
    this.inner.sync();
  }
  datasync(): void {
    this.inner.datasync();
  }
  close(): void {
    this.inner.close();
  }
}

/**
 * Any FileSystem made read-only: lookups pass through, every mutation (and an
 * open asking to write, create or truncate) fails with EROFS. Handles are
 * wrapped so a handle cannot change times or size either.
 */
import type { DirEntry, FileHandle, FileKind, FileSystem, OpenFlags, Stat, TimeSpec } from './types.js';
import { Errno, fsError } from './errno.js';

function refuse(): never {
  throw fsError(Errno.ROFS);
}

export class ReadOnlyFileSystem implements FileSystem {
  readonly readOnly = true;

  constructor(private readonly inner: FileSystem) {}

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
    if (flags.write || flags.create || flags.truncate) refuse();
    return new ReadOnlyHandle(this.inner.open(path, flags));
  }
  mkdir(): void {
    refuse();
  }
  rmdir(): void {
    refuse();
  }
  unlink(): void {
    refuse();
  }
  rename(): void {
    refuse();
  }
  link(): void {
    refuse();
  }
  symlink(): void {
    refuse();
  }
  setTimes(): void {
    refuse();
  }
}

class ReadOnlyHandle implements FileHandle {
  constructor(private readonly inner: FileHandle) {}

  get kind(): FileKind {
    return this.inner.kind;
  }
  read(buf: Uint8Array, position: number): number {
    return this.inner.read(buf, position);
  }
  write(): number {
    refuse();
  }
  stat(): Stat {
    return this.inner.stat();
  }
  setSize(): void {
    refuse();
  }
  allocate(): void {
    refuse();
  }
  setTimes(_atime: TimeSpec, _mtime: TimeSpec): void {
    refuse();
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

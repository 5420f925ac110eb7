/**
 * A read-only handle on an entry that lives in a lower layer. Reads go to the
 * lower; setting times (the one change a read-only handle may make) copies the
 * entry up and continues on an upper handle.
 */
import type { FileHandle, FileKind, Stat, TimeSpec } from './types.js';

export class LowerFileHandle implements FileHandle {
  readonly kind: FileKind;

  constructor(
    private inner: FileHandle,
    private readonly copyUp: () => FileHandle,
  ) {
    this.kind = inner.kind;
  }

  read(buf: Uint8Array, position: number): number {
    return this.inner.read(buf, position);
  }
  write(buf: Uint8Array, position: number): number {
    return this.inner.write(buf, position);
  }
  stat(): Stat {
    return this.inner.stat();
  }
  setSize(size: number): void {
    this.inner.setSize(size);
  }
  allocate(offset: number, length: number): void {
    this.inner.allocate(offset, length);
  }
  setTimes(atime: TimeSpec, mtime: TimeSpec): void {
    this.inner.stat(); // EBADF if closed, before touching the upper
    const upper = this.copyUp();
    this.inner.close();
    this.inner = upper;
    upper.setTimes(atime, mtime);
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

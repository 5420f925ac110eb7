/** A FileHandle over a host file descriptor, positional I/O only. */
import * as nfs from 'node:fs';
import { Errno, fsError } from '../errno.js';
import type { FileHandle, FileKind, Stat, TimeSpec } from '../types.js';
import { hostError, kindOfMode } from './errors.js';
import { TimeOverrides, toSeconds } from './times.js';

export class HostFileHandle implements FileHandle {
  /** -1 once closed: the number may already belong to another open file. */
  private fd: number;
  private knownKind: FileKind | undefined;

  constructor(
    fd: number,
    kind: FileKind | undefined,
    private readonly readable: boolean,
    private readonly writable: boolean,
    private readonly readOnlyFs: boolean,
    private readonly times: TimeOverrides,
  ) {
    this.fd = fd;
    this.knownKind = kind;
  }

  /** Looked up lazily: open() does not fstat, so the common open+read+close costs no extra syscall. */
  get kind(): FileKind {
    if (this.knownKind === undefined) {
      try {
        this.knownKind = kindOfMode(nfs.fstatSync(this.live()).mode);
      } catch (e) {
        throw hostError(e);
      }
    }
    return this.knownKind;
  }

  read(buf: Uint8Array, position: number): number {
    const fd = this.live();
    if (!this.readable) throw fsError(Errno.BADF, 'not open for reading');
    checkPosition(position);
    try {
      return nfs.readSync(fd, buf, 0, buf.length, position);
    } catch (e) {
      throw hostError(e);
    }
  }

  write(buf: Uint8Array, position: number): number {
    const fd = this.live();
    if (!this.writable) throw fsError(this.readOnlyFs ? Errno.ROFS : Errno.BADF, 'not open for writing');
    checkPosition(position);
    try {
      return nfs.writeSync(fd, buf, 0, buf.length, position);
    } catch (e) {
      throw hostError(e);
    }
  }

  stat(): Stat {
    const fd = this.live();
    try {
      return this.times.toStat(nfs.fstatSync(fd, { bigint: true }));
    } catch (e) {
      throw hostError(e);
    }
  }

  setSize(size: number): void {
    const fd = this.live();
    if (this.kind === 'dir') throw fsError(Errno.ISDIR);
    if (!this.writable) throw fsError(this.readOnlyFs ? Errno.ROFS : Errno.INVAL, 'not open for writing');
    checkPosition(size);
    try {
      nfs.ftruncateSync(fd, size);
    } catch (e) {
      throw hostError(e);
    }
  }

  /** Node has no fallocate; growing with ftruncate gives the same visible result (a sparse tail). */
  allocate(offset: number, length: number): void {
    const fd = this.live();
    if (this.kind === 'dir') throw fsError(Errno.ISDIR);
    if (!this.writable) throw fsError(this.readOnlyFs ? Errno.ROFS : Errno.BADF, 'not open for writing');
    checkPosition(offset);
    if (!(length >= 0)) throw fsError(Errno.INVAL, 'negative length');
    try {
      if (offset + length > nfs.fstatSync(fd).size) nfs.ftruncateSync(fd, offset + length);
    } catch (e) {
      throw hostError(e);
    }
  }

  setTimes(atime: TimeSpec, mtime: TimeSpec): void {
    const fd = this.live();
    if (this.readOnlyFs) throw fsError(Errno.ROFS);
    try {
      const [a, m] = TimeOverrides.target(atime, mtime, () => this.stat());
      nfs.futimesSync(fd, toSeconds(a), toSeconds(m));
      this.times.record(nfs.fstatSync(fd, { bigint: true }), a, m);
    } catch (e) {
      throw hostError(e);
    }
  }

  sync(): void {
    try {
      nfs.fsyncSync(this.live());
    } catch (e) {
      throw hostError(e);
    }
  }

  datasync(): void {
    try {
      nfs.fdatasyncSync(this.live());
    } catch (e) {
      throw hostError(e);
    }
  }

  close(): void {
    const fd = this.live();
    this.fd = -1;
    try {
      nfs.closeSync(fd);
    } catch (e) {
      throw hostError(e);
    }
  }

  private live(): number {
    if (this.fd < 0) throw fsError(Errno.BADF, 'handle is closed');
    return this.fd;
  }
}

// Node treats a null or negative position as "use the fd's cursor"; the
// contract is positional only, so refuse those rather than reading elsewhere.
function checkPosition(position: number): void {
  if (!(position >= 0) || !Number.isSafeInteger(position)) throw fsError(Errno.INVAL, 'bad position');
}

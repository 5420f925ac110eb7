import { Errno, Filetype, Rights, FILE_RIGHTS, DIR_RIGHTS, STDIO_RIGHTS } from './abi.js';
import { fsError } from '../vfs/errno.js';
import type { DirEntry, FileHandle, FileKind, FileSystem, Stat, TimeSpec } from '../vfs/types.js';

/**
 * A stdio endpoint as the runtime provides it (a terminal, a pipe, a file,
 * or nothing). `read` blocks until data or EOF; the Node runtime implements
 * it over the SharedArrayBuffer bridge, the browser over its own.
 */
export interface StdioStream {
  readonly isTTY: boolean;
  read?(buf: Uint8Array): number;
  write?(buf: Uint8Array): number;
  /** Waits up to timeoutMs (or forever when null) for input; true when a read would not block. */
  waitReadable?(timeoutMs: number | null): boolean;
}

export function filetypeOf(kind: FileKind): number {
  switch (kind) {
    case 'file':
      return Filetype.REGULAR_FILE;
    case 'dir':
      return Filetype.DIRECTORY;
    case 'symlink':
      return Filetype.SYMBOLIC_LINK;
    case 'chardev':
      return Filetype.CHARACTER_DEVICE;
    case 'blockdev':
      return Filetype.BLOCK_DEVICE;
    case 'socket':
      return Filetype.SOCKET_STREAM;
    default:
      return Filetype.UNKNOWN;
  }
}

const badf = (): never => {
  throw fsError(Errno.BADF);
};

/**
 * One entry of the fd table. Each operation defaults to the errno the kind
 * of descriptor gets when it cannot do it; subclasses override what they can.
 */
export abstract class Descriptor {
  flags = 0;
  constructor(
    public rightsBase: number,
    public rightsInheriting: number,
  ) {}
  abstract readonly filetype: number;

  read(_bufs: Uint8Array[]): number {
    return badf();
  }
  write(_bufs: Uint8Array[]): number {
    return badf();
  }
  pread(_bufs: Uint8Array[], _pos: number): number {
    return badf();
  }
  pwrite(_bufs: Uint8Array[], _pos: number): number {
    return badf();
  }
  seek(_offset: bigint, _whence: number): bigint {
    return badf();
  }
  tell(): bigint {
    return badf();
  }
  stat(): Stat {
    return badf();
  }
  setSize(_size: number): void {
    badf();
  }
  allocate(_offset: number, _len: number): void {
    badf();
  }
  setTimes(_atime: TimeSpec, _mtime: TimeSpec): void {
    badf();
  }
  sync(): void {}
  datasync(): void {}
  close(): void {}
  /** Bytes a read would return at once, for poll_oneoff; null means "would block". */
  readable(): bigint | null {
    return 0n;
  }
  protected need(right: number): void {
    if ((this.rightsBase & right) === 0) throw fsError(Errno.BADF);
  }
}

/** An open regular file (or device) with its own cursor over a positional handle. */
export class FileDescriptor extends Descriptor {
  position = 0;
  constructor(
    readonly handle: FileHandle,
    rightsBase: number,
    rightsInheriting: number,
    /**
     * Where it was opened. path_open does not ask the host whether it opened
     * a file or a directory (that is one more syscall per open); if it was a
     * directory after all, the fd table turns this into a DirectoryDescriptor
     * the first time it is used as one (WasiContext.dir).
     */
    readonly origin: { fs: FileSystem; path: string; rootedView: boolean; rightsBase: number } | null = null,
  ) {
    super(rightsBase & FILE_RIGHTS, rightsInheriting & FILE_RIGHTS);
  }

  get filetype(): number {
    return filetypeOf(this.handle.kind);
  }

  override read(bufs: Uint8Array[]): number {
    this.need(Rights.FD_READ);
    const n = this.readAt(bufs, this.position);
    this.position += n;
    return n;
  }
  override pread(bufs: Uint8Array[], pos: number): number {
    this.need(Rights.FD_READ);
    return this.readAt(bufs, pos);
  }
  private readAt(bufs: Uint8Array[], pos: number): number {
    let total = 0;
    for (const b of bufs) {
      if (b.length === 0) continue;
      const n = this.handle.read(b, pos + total);
      total += n;
      if (n < b.length) break;
    }
    return total;
  }
  override write(bufs: Uint8Array[]): number {
    this.need(Rights.FD_WRITE);
    if (this.flags & 1 /* APPEND */) this.position = Number(this.handle.stat().size);
    const n = this.writeAt(bufs, this.position);
    this.position += n;
    return n;
  }
  override pwrite(bufs: Uint8Array[], pos: number): number {
    this.need(Rights.FD_WRITE);
    // POSIX (and wasmtime) ignore the offset of pwrite on an append-mode file.
    if (this.flags & 1) pos = Number(this.handle.stat().size);
    return this.writeAt(bufs, pos);
  }
  private writeAt(bufs: Uint8Array[], pos: number): number {
    let total = 0;
    for (const b of bufs) {
      if (b.length === 0) continue;
      total += this.handle.write(b, pos + total);
    }
    return total;
  }
  override seek(offset: bigint, whence: number): bigint {
    let base: bigint;
    if (whence === 0) base = 0n;
    else if (whence === 1) base = BigInt(this.position);
    else if (whence === 2) base = this.handle.stat().size;
    else throw fsError(Errno.INVAL);
    const next = base + offset;
    if (next < 0n) throw fsError(Errno.INVAL);
    if (next > BigInt(Number.MAX_SAFE_INTEGER)) throw fsError(Errno.OVERFLOW);
    this.position = Number(next);
    return next;
  }
  override tell(): bigint {
    return BigInt(this.position);
  }
  override stat(): Stat {
    return this.handle.stat();
  }
  override setSize(size: number): void {
    this.need(Rights.FD_FILESTAT_SET_SIZE);
    this.handle.setSize(size);
  }
  override allocate(offset: number, len: number): void {
    this.need(Rights.FD_ALLOCATE);
    this.handle.allocate(offset, len);
  }
  override setTimes(atime: TimeSpec, mtime: TimeSpec): void {
    this.handle.setTimes(atime, mtime);
  }
  override sync(): void {
    this.handle.sync();
  }
  override datasync(): void {
    this.handle.datasync();
  }
  override close(): void {
    this.handle.close();
  }
  override readable(): bigint {
    const size = this.handle.stat().size - BigInt(this.position);
    return size > 0n ? size : 0n;
  }
}

/**
 * An open directory: a filesystem plus the resolved path inside it. Preopens
 * are directories too, with the guest path they are mounted at.
 */
export class DirectoryDescriptor extends Descriptor {
  readonly filetype = Filetype.DIRECTORY;
  /** Listing taken at cookie 0 and reused while the guest pages through it. */
  listing: DirEntry[] | null = null;
  constructor(
    readonly fs: FileSystem,
    readonly path: string,
    readonly handle: FileHandle | null,
    rightsBase: number,
    rightsInheriting: number,
    /** Guest path of a preopen ("/", "/data"); null for directories opened later. */
    readonly preopenName: string | null = null,
    /** Absolute symlinks inside resolve against this fs's root (the view is mounted at "/"). */
    readonly rootedView = false,
  ) {
    super(rightsBase & DIR_RIGHTS, rightsInheriting);
  }
  override stat(): Stat {
    return this.handle ? this.handle.stat() : this.fs.stat(this.path);
  }
  override setTimes(atime: TimeSpec, mtime: TimeSpec): void {
    if (this.handle) this.handle.setTimes(atime, mtime);
    else this.fs.setTimes(this.path, atime, mtime);
  }
  override close(): void {
    this.handle?.close();
  }
}

/** stdin, stdout or stderr. */
export class StdioDescriptor extends Descriptor {
  readonly filetype: number;
  constructor(readonly stream: StdioStream) {
    const rights =
      (stream.read ? Rights.FD_READ : 0) |
      (stream.write ? Rights.FD_WRITE : 0) |
      (STDIO_RIGHTS & ~(Rights.FD_READ | Rights.FD_WRITE));
    super(rights, 0);
    // wasi-libc's isatty() is "a character device without seek/tell rights";
    // a pipe or file is reported as unknown, as wasmtime does.
    this.filetype = stream.isTTY ? Filetype.CHARACTER_DEVICE : Filetype.UNKNOWN;
  }
  override read(bufs: Uint8Array[]): number {
    this.need(Rights.FD_READ);
    const first = bufs.find((b) => b.length > 0);
    if (!first || !this.stream.read) return 0;
    return this.stream.read(first);
  }
  override write(bufs: Uint8Array[]): number {
    this.need(Rights.FD_WRITE);
    let total = 0;
    for (const b of bufs) if (b.length > 0) total += this.stream.write!(b);
    return total;
  }
  override pread(): number {
    throw fsError(Errno.SPIPE);
  }
  override pwrite(): number {
    throw fsError(Errno.SPIPE);
  }
  override seek(): bigint {
    throw fsError(Errno.SPIPE);
  }
  override tell(): bigint {
    throw fsError(Errno.SPIPE);
  }
  override stat(): Stat {
    return {
      dev: 0n,
      ino: 0n,
      kind: this.stream.isTTY ? 'chardev' : 'unknown',
      nlink: 1n,
      size: 0n,
      atimeNs: 0n,
      mtimeNs: 0n,
      ctimeNs: 0n,
      mode: 0o620,
    };
  }
  override setTimes(): void {}
  override setSize(): void {
    throw fsError(Errno.INVAL);
  }
  override readable(): bigint | null {
    if (!this.stream.read) return 0n;
    return this.stream.waitReadable?.(0) === false ? null : 1n;
  }
}

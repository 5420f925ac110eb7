/**
 * An in-memory filesystem: an inode tree with hard links, symlinks and
 * nanosecond times. It backs tests, package layers materialized in memory and
 * the browser runtime, so it is platform-neutral and behaves like Linux where
 * the contract leaves room (errno choices are checked against a real host by
 * the shared contract suite).
 */
import { GuardedHandle } from './handle-guard.js';
import type { DirEntry, FileHandle, FileKind, FileSystem, OpenFlags, Stat, TimeSpec } from './types.js';
import { Errno, fsError } from './errno.js';
import { baseName, compareNames, isWithin, nowNs, parentOf } from './path.js';
import { populate, type TreeSpec } from './populate.js';

interface InodeBase {
  readonly ino: bigint;
  /** Names pointing at a file or symlink; for a directory 2 + its subdirectories. */
  nlink: number;
  atimeNs: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  mode: number;
}
interface FileInode extends InodeBase {
  readonly kind: 'file';
  /** Capacity grows by doubling; bytes past `size` are always zero. */
  data: Uint8Array;
  size: number;
}
interface DirInode extends InodeBase {
  readonly kind: 'dir';
  readonly entries: Map<string, Inode>;
}
interface LinkInode extends InodeBase {
  readonly kind: 'symlink';
  readonly target: string;
}
type Inode = FileInode | DirInode | LinkInode;

// Every instance gets its own device number so (dev, ino) identifies a file
// across all mounted filesystems. Host mounts report the host's st_dev, which
// on Linux stays far below 2^40.
let nextDev = 1n << 40n;

export class MemoryFileSystem implements FileSystem {
  readonly readOnly: boolean;
  readonly dev = nextDev++;
  private nextIno = 2n;
  private readonly root: DirInode;

  /** `tree` is written before the filesystem turns read-only, the way to fill a read-only instance. */
  constructor(opts: { readOnly?: boolean; tree?: TreeSpec } = {}) {
    this.readOnly = false;
    this.root = this.newDir();
    if (opts.tree) populate(this, opts.tree);
    this.readOnly = opts.readOnly ?? false;
  }

  kind(path: string): FileKind | null {
    return this.lookup(path)?.kind ?? null;
  }

  stat(path: string): Stat {
    return this.statOf(this.existing(path));
  }

  readlink(path: string): string {
    const node = this.existing(path);
    if (node.kind !== 'symlink') throw fsError(Errno.INVAL, path);
    return node.target;
  }

  open(path: string, flags: OpenFlags): FileHandle {
    if (this.readOnly && (flags.write || flags.create || flags.truncate)) throw fsError(Errno.ROFS, path);
    if (flags.truncate && !flags.write) throw fsError(Errno.INVAL, 'truncate needs write');
    if (flags.create && flags.directory) throw fsError(Errno.INVAL, 'create with directory');
    let node: Inode | undefined;
    if (path === '') node = this.root;
    else {
      const parent = this.dirAt(parentOf(path));
      const name = baseName(path);
      node = parent.entries.get(name);
      if (!node) {
        if (!flags.create) throw fsError(Errno.NOENT, path);
        node = this.newFile();
        this.attach(parent, name, node);
      } else if (flags.create && flags.exclusive) throw fsError(Errno.EXIST, path);
    }
    if (node.kind === 'symlink') throw fsError(flags.directory ? Errno.NOTDIR : Errno.LOOP, path);
    if (node.kind === 'dir') {
      if (flags.write || flags.create || flags.truncate) throw fsError(Errno.ISDIR, path);
    } else {
      if (flags.directory) throw fsError(Errno.NOTDIR, path);
      if (flags.truncate && node.size > 0) {
        resize(node, 0);
        node.mtimeNs = node.ctimeNs = nowNs();
      }
    }
    return new MemoryFileHandle(this, node, flags.read, flags.write);
  }

  readdir(path: string): DirEntry[] {
    const dir = this.existing(path);
    if (dir.kind !== 'dir') throw fsError(Errno.NOTDIR, path);
    const out: DirEntry[] = [];
    for (const [name, node] of dir.entries) out.push({ name, kind: node.kind, ino: node.ino });
    return out.sort((a, b) => compareNames(a.name, b.name));
  }

  mkdir(path: string): void {
    this.writable(path);
    if (path === '') throw fsError(Errno.EXIST, path);
    const parent = this.dirAt(parentOf(path));
    const name = baseName(path);
    if (parent.entries.has(name)) throw fsError(Errno.EXIST, path);
    this.attach(parent, name, this.newDir());
  }

  rmdir(path: string): void {
    this.writable(path);
    if (path === '') throw fsError(Errno.BUSY, 'the root');
    const parent = this.dirAt(parentOf(path));
    const name = baseName(path);
    const node = parent.entries.get(name);
    if (!node) throw fsError(Errno.NOENT, path);
    if (node.kind !== 'dir') throw fsError(Errno.NOTDIR, path);
    if (node.entries.size > 0) throw fsError(Errno.NOTEMPTY, path);
    this.detach(parent, name, node);
  }

  unlink(path: string): void {
    this.writable(path);
    if (path === '') throw fsError(Errno.ISDIR, 'the root');
    const parent = this.dirAt(parentOf(path));
    const name = baseName(path);
    const node = parent.entries.get(name);
    if (!node) throw fsError(Errno.NOENT, path);
    if (node.kind === 'dir') throw fsError(Errno.ISDIR, path);
    this.detach(parent, name, node);
  }

  rename(from: string, to: string): void {
    this.writable(from);
    if (from === '' || to === '') throw fsError(Errno.BUSY, 'the root');
    const fromDir = this.dirAt(parentOf(from));
    const fromName = baseName(from);
    const node = fromDir.entries.get(fromName);
    if (!node) throw fsError(Errno.NOENT, from);
    const toDir = this.dirAt(parentOf(to));
    const toName = baseName(to);
    if (from === to) return;
    if (node.kind === 'dir' && isWithin(to, from)) throw fsError(Errno.INVAL, 'rename into itself');
    const old = toDir.entries.get(toName);
    if (old) {
      if (old === node) return; // two names of one inode: POSIX says do nothing
      if (node.kind === 'dir') {
        if (old.kind !== 'dir') throw fsError(Errno.NOTDIR, to);
        if (old.entries.size > 0) throw fsError(Errno.NOTEMPTY, to);
      } else if (old.kind === 'dir') throw fsError(Errno.ISDIR, to);
      this.detach(toDir, toName, old);
    }
    this.detach(fromDir, fromName, node);
    this.attach(toDir, toName, node);
  }

  link(from: string, to: string): void {
    this.writable(to);
    const node = this.existing(from);
    if (node.kind === 'dir') throw fsError(Errno.PERM, from);
    const toDir = this.dirAt(parentOf(to));
    const toName = baseName(to);
    if (toDir.entries.has(toName)) throw fsError(Errno.EXIST, to);
    this.attach(toDir, toName, node);
  }

  symlink(target: string, path: string): void {
    this.writable(path);
    if (path === '') throw fsError(Errno.EXIST, path);
    const parent = this.dirAt(parentOf(path));
    const name = baseName(path);
    if (parent.entries.has(name)) throw fsError(Errno.EXIST, path);
    const t = nowNs();
    const node: LinkInode = {
      kind: 'symlink',
      ino: this.nextIno++,
      nlink: 0,
      target,
      atimeNs: t,
      mtimeNs: t,
      ctimeNs: t,
      mode: 0o777,
    };
    this.attach(parent, name, node);
  }

  setTimes(path: string, atime: TimeSpec, mtime: TimeSpec): void {
    this.writable(path);
    this.applyTimes(this.existing(path), atime, mtime);
  }

  /** @internal shared with handles */
  applyTimes(node: Inode, atime: TimeSpec, mtime: TimeSpec): void {
    const t = nowNs();
    if (atime !== null) node.atimeNs = atime === 'now' ? t : atime;
    if (mtime !== null) node.mtimeNs = mtime === 'now' ? t : mtime;
    node.ctimeNs = t;
  }

  /** @internal shared with handles */
  statOf(node: Inode): Stat {
    return {
      dev: this.dev,
      ino: node.ino,
      kind: node.kind,
      nlink: BigInt(node.nlink),
      size: BigInt(
        node.kind === 'file' ? node.size : node.kind === 'dir' ? node.entries.size : node.target.length,
      ),
      atimeNs: node.atimeNs,
      mtimeNs: node.mtimeNs,
      ctimeNs: node.ctimeNs,
      mode: node.mode,
    };
  }

  /** Walks the path; undefined when a component is missing, ENOTDIR through a non-directory. */
  private lookup(path: string): Inode | undefined {
    let node: Inode = this.root;
    if (path === '') return node;
    let start = 0;
    for (;;) {
      if (node.kind !== 'dir') throw fsError(Errno.NOTDIR, path);
      const end = path.indexOf('/', start);
      const child: Inode | undefined = node.entries.get(end < 0 ? path.slice(start) : path.slice(start, end));
      if (!child || end < 0) return child;
      node = child;
      start = end + 1;
    }
  }

  private existing(path: string): Inode {
    const node = this.lookup(path);
    if (!node) throw fsError(Errno.NOENT, path);
    return node;
  }

  private dirAt(path: string): DirInode {
    const node = this.existing(path);
    if (node.kind !== 'dir') throw fsError(Errno.NOTDIR, path);
    return node;
  }

  private writable(path: string): void {
    if (this.readOnly) throw fsError(Errno.ROFS, path);
  }

  private attach(dir: DirInode, name: string, node: Inode): void {
    dir.entries.set(name, node);
    if (node.kind === 'dir') dir.nlink++;
    else node.nlink++;
    const t = nowNs();
    dir.mtimeNs = dir.ctimeNs = node.ctimeNs = t;
  }

  private detach(dir: DirInode, name: string, node: Inode): void {
    dir.entries.delete(name);
    if (node.kind === 'dir') dir.nlink--;
    else node.nlink--;
    const t = nowNs();
    dir.mtimeNs = dir.ctimeNs = node.ctimeNs = t;
  }

  private newFile(): FileInode {
    const t = nowNs();
    const ino = this.nextIno++;
    return {
      kind: 'file',
      ino,
      nlink: 0,
      data: new Uint8Array(0),
      size: 0,
      atimeNs: t,
      mtimeNs: t,
      ctimeNs: t,
      mode: 0o644,
    };
  }

  private newDir(): DirInode {
    const t = nowNs();
    const ino = this.nextIno++;
    return {
      kind: 'dir',
      ino,
      nlink: 2,
      entries: new Map(),
      atimeNs: t,
      mtimeNs: t,
      ctimeNs: t,
      mode: 0o755,
    };
  }
}

/** Sets the logical size, zeroing what a shrink leaves behind so a later grow reads zeros. */
function resize(node: FileInode, size: number): void {
  if (size > node.data.length) {
    let cap = Math.max(64, node.data.length * 2);
    while (cap < size) cap *= 2;
    let data: Uint8Array;
    try {
      data = new Uint8Array(cap);
    } catch {
      try {
        data = new Uint8Array(size);
      } catch {
        throw fsError(Errno.FBIG, `cannot hold ${size} bytes in memory`);
      }
    }
    data.set(node.data.subarray(0, node.size));
    node.data = data;
  } else if (size < node.size) node.data.fill(0, size, node.size);
  node.size = size;
}

class MemoryFileHandle extends GuardedHandle implements FileHandle {
  readonly kind: FileKind;

  constructor(
    private readonly fs: MemoryFileSystem,
    private readonly node: Inode,
    private readonly readable: boolean,
    private readonly writable: boolean,
  ) {
    super();
    this.kind = node.kind;
  }

  read(buf: Uint8Array, position: number): number {
    const node = this.file(position);
    if (!this.readable) throw fsError(Errno.BADF, 'not open for reading');
    if (position >= node.size) return 0;
    const n = Math.min(buf.length, node.size - position);
    buf.set(node.data.subarray(position, position + n));
    return n;
  }

  write(buf: Uint8Array, position: number): number {
    const node = this.file(position);
    if (!this.writable) throw fsError(Errno.BADF, 'not open for writing');
    const end = position + buf.length;
    if (end > node.size) resize(node, end);
    node.data.set(buf, position);
    node.mtimeNs = node.ctimeNs = nowNs();
    return buf.length;
  }

  stat(): Stat {
    this.check();
    return this.fs.statOf(this.node);
  }

  setSize(size: number): void {
    const node = this.file(size);
    if (!this.writable) throw fsError(Errno.INVAL, 'not open for writing');
    resize(node, size);
    node.mtimeNs = node.ctimeNs = nowNs();
  }

  allocate(offset: number, length: number): void {
    const node = this.file(offset);
    if (!this.writable) throw fsError(Errno.BADF, 'not open for writing');
    if (length < 0) throw fsError(Errno.INVAL, 'negative length');
    if (offset + length > node.size) {
      resize(node, offset + length);
      node.ctimeNs = nowNs();
    }
  }

  setTimes(atime: TimeSpec, mtime: TimeSpec): void {
    this.check();
    if (this.fs.readOnly) throw fsError(Errno.ROFS);
    this.fs.applyTimes(this.node, atime, mtime);
  }

  private file(position: number): FileInode {
    this.checkFileAt(position);
    return this.node as FileInode;
  }
}

/**
 * A host directory as a FileSystem (Node only). Contract paths map to
 * `hostRoot/path`; nothing here resolves a path by itself, so a guest reaches
 * the host only through components the resolver has walked with `kind`.
 *
 * Final symlinks are never followed: open uses O_NOFOLLOW, metadata uses
 * lstat, times use lutimes, and readdir checks the directory first (readdirSync
 * would follow). Intermediate components are real directories because the
 * resolver verified each one.
 *
 * TOCTOU limit: between the resolver's check and the syscall, a *concurrent
 * host process* could replace a verified directory with a symlink, and the
 * kernel would follow it (the directory cache below widens that window to the
 * whole run). Closing it needs openat2(RESOLVE_BENEATH) or fd-relative walks,
 * which node:fs does not offer. The guest itself cannot exploit it: it cannot
 * replace a directory with a symlink except through this instance, and every
 * such mutation invalidates the cache.
 */
import * as nfs from 'node:fs';
import { Errno, fsError } from '../errno.js';
import type { DirEntry, FileHandle, FileKind, FileSystem, OpenFlags, Stat, TimeSpec } from '../types.js';
import { compareNames } from '../path.js';
import { hostError, kindOfMode } from './errors.js';
import { HostFileHandle } from './handle.js';
import { TimeOverrides, toSeconds } from './times.js';

const { O_RDONLY, O_WRONLY, O_RDWR, O_CREAT, O_EXCL, O_TRUNC, O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK } =
  nfs.constants;

/** Matches anything that is not a resolved contract path: empty, "." or ".." components, a leading or trailing "/", NUL. */
const UNRESOLVED = /(?:^|\/)\.{0,2}(?:\/|$)|\0/;

/** Bound on cached directory paths; clearing is cheap, so no LRU. */
const DIR_CACHE_LIMIT = 65536;

export class HostFileSystem implements FileSystem {
  readonly readOnly: boolean;
  private readonly rootPath: string;
  private readonly prefix: string;
  /** Paths known to be real directories (not symlinks to one). */
  private readonly dirs = new Set<string>();
  private readonly times = new TimeOverrides();

  constructor(hostRoot: string, opts: { readOnly?: boolean } = {}) {
    this.readOnly = opts.readOnly ?? false;
    const trimmed = hostRoot.replace(/\/+$/, '');
    this.rootPath = trimmed === '' ? '/' : trimmed;
    this.prefix = trimmed + '/';
  }

  kind(path: string): FileKind | null {
    if (path === '' || this.dirs.has(path)) return 'dir';
    let st: nfs.Stats | undefined;
    try {
      st = nfs.lstatSync(this.host(path), { throwIfNoEntry: false });
    } catch (e) {
      throw hostError(e, path);
    }
    if (st === undefined) return null;
    const kind = kindOfMode(st.mode);
    if (kind === 'dir') this.remember(path);
    return kind;
  }

  stat(path: string): Stat {
    try {
      return this.times.toStat(nfs.lstatSync(this.host(path), { bigint: true }));
    } catch (e) {
      throw hostError(e, path);
    }
  }

  tryStat(path: string): Stat | null {
    let st: nfs.BigIntStats | undefined;
    try {
      st = nfs.lstatSync(this.host(path), { bigint: true, throwIfNoEntry: false });
    } catch (e) {
      throw hostError(e, path);
    }
    if (st === undefined) return null;
    const out = this.times.toStat(st);
    if (out.kind === 'dir') this.remember(path);
    return out;
  }

  readlink(path: string): string {
    try {
      return nfs.readlinkSync(this.host(path), 'utf8');
    } catch (e) {
      throw hostError(e, path);
    }
  }

  open(path: string, flags: OpenFlags): FileHandle {
    const { write, create, truncate, directory } = flags;
    if (this.readOnly && (write || create || truncate)) throw fsError(Errno.ROFS, path);
    if (truncate && !write) throw fsError(Errno.INVAL, 'truncate needs write');
    if (create && directory) throw fsError(Errno.INVAL, 'create with directory');
    // O_NONBLOCK only matters for FIFOs and devices: a FIFO planted in a mount
    // must not hang the open. Regular files ignore it.
    let mode = (write ? (flags.read ? O_RDWR : O_WRONLY) : O_RDONLY) | O_NOFOLLOW | O_NONBLOCK;
    if (create) mode |= O_CREAT;
    if (create && flags.exclusive) mode |= O_EXCL;
    if (truncate) mode |= O_TRUNC;
    if (directory) mode |= O_DIRECTORY;
    let fd: number;
    try {
      fd = nfs.openSync(this.host(path), mode, 0o666);
    } catch (e) {
      throw hostError(e, path);
    }
    return new HostFileHandle(
      fd,
      directory ? 'dir' : undefined,
      flags.read,
      write,
      this.readOnly,
      this.times,
    );
  }

  readdir(path: string): DirEntry[] {
    // readdirSync follows a final symlink; the contract never does.
    const kind = this.kind(path);
    if (kind === null) throw fsError(Errno.NOENT, path);
    if (kind !== 'dir') throw fsError(Errno.NOTDIR, path);
    const dir = this.host(path);
    let names: string[];
    try {
      names = nfs.readdirSync(dir);
    } catch (e) {
      throw hostError(e, path);
    }
    names.sort(compareNames);
    const out: DirEntry[] = [];
    for (const name of names) {
      // One lstat per entry for the inode number (Dirent has none); it also
      // gives the kind on filesystems whose d_type is DT_UNKNOWN.
      let st: nfs.BigIntStats | undefined;
      try {
        st = nfs.lstatSync(dir === '/' ? '/' + name : dir + '/' + name, {
          bigint: true,
          throwIfNoEntry: false,
        });
      } catch {
        st = undefined;
      }
      if (st === undefined) continue; // removed meanwhile
      out.push({ name, kind: kindOfMode(Number(st.mode)), ino: st.ino });
    }
    return out;
  }

  mkdir(path: string): void {
    this.writable(path);
    if (path === '') throw fsError(Errno.EXIST, 'the root');
    try {
      nfs.mkdirSync(this.host(path), 0o777);
    } catch (e) {
      throw hostError(e, path);
    }
    this.remember(path);
  }

  rmdir(path: string): void {
    this.writable(path);
    if (path === '') throw fsError(Errno.BUSY, 'the root');
    this.dirs.clear();
    try {
      nfs.rmdirSync(this.host(path));
    } catch (e) {
      throw hostError(e, path);
    }
  }

  unlink(path: string): void {
    this.writable(path);
    if (path === '') throw fsError(Errno.ISDIR, 'the root');
    this.dirs.delete(path);
    try {
      nfs.unlinkSync(this.host(path));
    } catch (e) {
      throw hostError(e, path);
    }
  }

  rename(from: string, to: string): void {
    this.writable(from);
    if (from === '' || to === '') throw fsError(Errno.BUSY, 'the root');
    this.dirs.clear();
    try {
      nfs.renameSync(this.host(from), this.host(to));
    } catch (e) {
      throw hostError(e, from);
    }
  }

  link(from: string, to: string): void {
    this.writable(to);
    if (to === '') throw fsError(Errno.EXIST, 'the root');
    if (from === '') throw fsError(Errno.PERM, 'the root');
    try {
      // link(2) on Linux does not follow a symlink in `from`, as the contract wants.
      nfs.linkSync(this.host(from), this.host(to));
    } catch (e) {
      throw hostError(e, to);
    }
  }

  symlink(target: string, path: string): void {
    this.writable(path);
    if (path === '') throw fsError(Errno.EXIST, 'the root');
    try {
      nfs.symlinkSync(target, this.host(path));
    } catch (e) {
      throw hostError(e, path);
    }
  }

  setTimes(path: string, atime: TimeSpec, mtime: TimeSpec): void {
    this.writable(path);
    const host = this.host(path);
    try {
      const [a, m] = TimeOverrides.target(atime, mtime, () => this.stat(path));
      nfs.lutimesSync(host, toSeconds(a), toSeconds(m));
      // "now" for both is what the host stores anyway (to its own precision):
      // nothing to remember, and a stale override no longer matches the host.
      if (atime !== 'now' || mtime !== 'now') this.times.record(nfs.lstatSync(host, { bigint: true }), a, m);
    } catch (e) {
      throw hostError(e, path);
    }
  }

  /**
   * The host path for a contract path. The check is defence in depth: a
   * caller bug passing "../x" must not become a host escape.
   */
  private host(path: string): string {
    if (path === '') return this.rootPath;
    if (UNRESOLVED.test(path)) throw fsError(Errno.INVAL, `not a resolved path: ${JSON.stringify(path)}`);
    return this.prefix + path;
  }

  private remember(path: string): void {
    if (this.dirs.size >= DIR_CACHE_LIMIT) this.dirs.clear();
    this.dirs.add(path);
  }

  private writable(path: string): void {
    if (this.readOnly) throw fsError(Errno.ROFS, path);
  }
}

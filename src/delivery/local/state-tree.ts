/**
 * Host-directory helpers for state layers (Node): a durable deep copy, a
 * usage walk, and a walk in archive order. A state layer holds only what a
 * guest can make through HostFileSystem: directories, regular files and
 * symlinks. Symlinks are copied as links and never followed.
 *
 * Concurrency limit: a guest running on the generation being copied can
 * rename entries while the copy walks. Files are opened with O_NOFOLLOW, so
 * a final component swapped for a symlink is refused rather than followed;
 * a *directory* swapped for a symlink between the walk's lstat and its
 * readdir is caught by comparing inode numbers, which narrows the window but
 * cannot close it without openat(2), which node:fs lacks.
 */
import {
  chmodSync,
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readSync,
  readdirSync,
  readlinkSync,
  symlinkSync,
  utimesSync,
  lutimesSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { join } from 'node:path';
import { fsyncDir, isCode } from '../../store/fs/staged-file.js';
import { StateError, ioFailure } from './errors.js';

/** Crash leftovers of the union's atomic copy-up; never part of a state's content. */
export const SCRATCH_PREFIX = '.wh..wh..tmp.';

export type TreeEntryType = 'file' | 'dir' | 'symlink';

export interface TreeEntry {
  /** Relative to the walked root, "/"-separated. */
  path: string;
  type: TreeEntryType;
  stat: Stats;
}

function typeOf(st: Stats, path: string): TreeEntryType {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  throw new StateError('CORRUPT', `${path}: a state layer holds only files, directories and symlinks`);
}

function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function children(dir: string, before: Stats): string[] {
  const names = readdirSync(dir).sort(byName);
  const after = lstatSync(dir);
  if (!after.isDirectory() || after.ino !== before.ino || after.dev !== before.dev) {
    throw new StateError('IO', `${dir} changed while it was read (is the app running?)`);
  }
  return names;
}

/** Every entry under root in pre-order (a directory before its children), names sorted; scratch leftovers skipped. */
export function* walkTree(root: string): Generator<TreeEntry> {
  function* visit(dir: string, rel: string, st: Stats): Generator<TreeEntry> {
    for (const name of children(dir, st)) {
      if (name.startsWith(SCRATCH_PREFIX)) continue;
      const host = join(dir, name);
      const path = rel === '' ? name : `${rel}/${name}`;
      const cst = lstatSync(host);
      const type = typeOf(cst, host);
      yield { path, type, stat: cst };
      if (type === 'dir') yield* visit(host, path, cst);
    }
  }
  yield* visit(root, '', lstatSync(root));
}

export interface TreeUsage {
  /** Regular files and symlinks, whiteout markers not counted. */
  files: number;
  /** Bytes of regular files. */
  bytes: number;
  /** `.wh.` markers: deletions the state records. */
  whiteouts: number;
}

/** What a state directory holds; a directory that vanished meanwhile counts as empty. */
export function treeUsage(root: string): TreeUsage {
  const usage: TreeUsage = { files: 0, bytes: 0, whiteouts: 0 };
  try {
    for (const e of walkTree(root)) {
      const name = e.path.slice(e.path.lastIndexOf('/') + 1);
      if (name.startsWith('.wh.')) usage.whiteouts++;
      else if (e.type !== 'dir') usage.files++;
      if (e.type === 'file') usage.bytes += e.stat.size;
    }
  } catch (e) {
    if (!isCode(e, 'ENOENT')) throw ioFailure('read', root, e);
  }
  return usage;
}

/** Copies one regular file's bytes (fsync'd) without following a final symlink. */
export function copyFileBytes(from: string, to: string, mode: number): void {
  const src = openSync(from, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    if (!fstatSync(src).isFile()) throw new StateError('IO', `${from} is no longer a regular file`);
    const dst = openSync(to, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode & 0o777);
    try {
      const buf = Buffer.allocUnsafe(256 * 1024);
      for (;;) {
        const n = readSync(src, buf, 0, buf.length, null);
        if (n === 0) break;
        for (let off = 0; off < n;) off += writeSync(dst, buf, off, n - off);
      }
      fsyncSync(dst);
    } finally {
      closeSync(dst);
    }
  } finally {
    closeSync(src);
  }
}

/**
 * Copies the tree at `from` to a new directory `to` (which must not exist):
 * contents, modes and mtimes; every file and directory fsync'd, so a later
 * rename of `to` into place publishes a durable copy.
 */
export function copyTree(from: string, to: string): void {
  try {
    const rootStat = lstatSync(from);
    mkdirSync(to, { mode: 0o700 });
    const dirs: { host: string; stat: Stats }[] = [{ host: to, stat: rootStat }];
    for (const e of walkTree(from)) {
      const src = join(from, e.path);
      const dst = join(to, e.path);
      const mode = e.stat.mode & 0o777;
      if (e.type === 'dir') {
        mkdirSync(dst, { mode: 0o700 });
        dirs.push({ host: dst, stat: e.stat });
      } else if (e.type === 'symlink') {
        symlinkSync(readlinkSync(src), dst);
        lutimesSync(dst, e.stat.atime, e.stat.mtime);
      } else {
        copyFileBytes(src, dst, mode);
        utimesSync(dst, e.stat.atime, e.stat.mtime);
      }
    }
    finishDirs(dirs);
  } catch (e) {
    throw ioFailure('copy', `${from} to ${to}`, e);
  }
}

/**
 * Sets directory modes and times once their children are written (deepest
 * first, so writing a child does not bump its parent's mtime again) and
 * fsyncs each directory.
 */
export function finishDirs(dirs: { host: string; stat: Pick<Stats, 'mode' | 'atime' | 'mtime'> }[]): void {
  for (const d of [...dirs].reverse()) {
    fsyncDir(d.host);
    utimesSync(d.host, d.stat.atime, d.stat.mtime);
  }
  for (const d of dirs) {
    // Owner rwx stays: the state must stay writable by the guest's host process.
    chmodSync(d.host, (d.stat.mode & 0o777) | 0o700);
  }
}

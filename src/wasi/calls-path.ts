import { Errno, Fdflags, Lookupflags, Oflags, Rights } from './abi.js';
import { fsError } from '../vfs/errno.js';
import { resolvePath, type Resolved } from '../vfs/resolve.js';
import type { OpenFlags } from '../vfs/types.js';
import type { WasiContext } from './context.js';
import { DirectoryDescriptor, FileDescriptor } from './fd.js';
import { timeArgs, writeFilestat } from './calls-fd.js';

function lastComponent(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}

export function pathCalls(ctx: WasiContext) {
  const fail = (e: unknown) => ctx.errnoOf(e);
  const mem = () => ctx.memory;

  const resolve = (dir: DirectoryDescriptor, path: string, follow: boolean): Resolved =>
    resolvePath(dir.fs, dir.path, path, { followFinal: follow, absoluteSymlinksFromRoot: dir.rootedView });

  /** A name that is about to be created: with a trailing slash it must not be taken (EEXIST) and cannot be made (ENOENT). */
  const newName = (dir: DirectoryDescriptor, path: string): Resolved => {
    const r = resolve(dir, path, false);
    if (r.trailingSlash) {
      const kind = r.kind === undefined ? dir.fs.kind(r.path) : r.kind;
      throw fsError(kind === null ? Errno.NOENT : Errno.EXIST);
    }
    return r;
  };

  /** The two directories and paths of link and rename; across filesystems is EXDEV. */
  const pathPair = (
    oldFd: number,
    oldPtr: number,
    oldLen: number,
    newFd: number,
    newPtr: number,
    newLen: number,
  ) => {
    const from = ctx.dir(oldFd);
    const oldPath = ctx.path(oldPtr, oldLen);
    const to = ctx.dir(newFd);
    const newPath = ctx.path(newPtr, newLen);
    if (from.fs !== to.fs) throw fsError(Errno.XDEV);
    return { from, oldPath, to, newPath };
  };

  return {
    path_open(
      dirfd: number,
      dirflags: number,
      pathPtr: number,
      pathLen: number,
      oflags: number,
      rightsBase: bigint,
      rightsInheriting: bigint,
      fdflags: number,
      fdPtr: number,
    ): number {
      try {
        const dir = ctx.dir(dirfd);
        const path = ctx.path(pathPtr, pathLen);
        mem().check(fdPtr, 4);
        if (oflags & ~0xf || fdflags & ~0x1f) throw fsError(Errno.INVAL);
        const base = Number(BigInt.asUintN(30, rightsBase));
        const inheriting = Number(BigInt.asUintN(30, rightsInheriting));
        const wantsDir = (oflags & Oflags.DIRECTORY) !== 0;
        const create = (oflags & Oflags.CREAT) !== 0;
        const truncate = (oflags & Oflags.TRUNC) !== 0;
        if (wantsDir && (create || truncate)) throw fsError(Errno.INVAL);
        const write = (base & Rights.FD_WRITE) !== 0 || (fdflags & Fdflags.APPEND) !== 0 || truncate;
        const flags: OpenFlags = {
          read: (base & Rights.FD_READ) !== 0 || !write,
          write,
          create,
          exclusive: (oflags & Oflags.EXCL) !== 0,
          truncate,
          directory: wantsDir,
        };
        const follow = (dirflags & Lookupflags.SYMLINK_FOLLOW) !== 0;
        // Resolve without looking at the final component: the open itself
        // refuses a symlink (ELOOP), and only then is it followed. That keeps
        // the common case to one host call.
        let r = resolve(dir, path, false);
        if (r.trailingSlash && create && r.kind === null) throw fsError(Errno.ISDIR);
        let handle;
        try {
          handle = dir.fs.open(r.path, flags);
        } catch (e) {
          // A final symlink shows as ELOOP (or ENOTDIR with O_DIRECTORY, as
          // Linux reports it); only then is it worth following.
          const errno = (e as { errno?: number }).errno;
          const symlinkLike = errno === Errno.LOOP || (errno === Errno.NOTDIR && wantsDir);
          if (!follow || !symlinkLike || flags.exclusive) throw e;
          r = resolve(dir, path, true);
          handle = dir.fs.open(r.path, flags);
        }
        const inherit = dir.rightsInheriting;
        // Ask the handle what it opened only when that decides something now;
        // otherwise a directory is recognised on first use (FileDescriptor.origin).
        const known = wantsDir || r.trailingSlash ? handle.kind : null;
        if (known === 'dir') {
          const d = new DirectoryDescriptor(
            dir.fs,
            r.path,
            handle,
            (base | Rights.FD_READDIR) & inherit,
            inheriting & inherit,
            null,
            dir.rootedView,
          );
          mem().setU32(fdPtr, ctx.allocate(d));
          return 0;
        }
        if (r.trailingSlash) {
          handle.close();
          throw fsError(Errno.NOTDIR);
        }
        const f = new FileDescriptor(handle, base & inherit, inheriting & inherit, {
          fs: dir.fs,
          path: r.path,
          rootedView: dir.rootedView,
          rightsBase: base & inherit,
        });
        f.flags = fdflags;
        mem().setU32(fdPtr, ctx.allocate(f));
        return 0;
      } catch (e) {
        return fail(e);
      }
    },

    path_filestat_get(
      dirfd: number,
      flags: number,
      pathPtr: number,
      pathLen: number,
      bufPtr: number,
    ): number {
      try {
        const dir = ctx.dir(dirfd);
        const path = ctx.path(pathPtr, pathLen);
        mem().check(bufPtr, 64);
        const follow = (flags & Lookupflags.SYMLINK_FOLLOW) !== 0;
        const r = resolvePath(dir.fs, dir.path, path, {
          followFinal: follow,
          absoluteSymlinksFromRoot: dir.rootedView,
          statFinal: true,
        });
        if (r.kind === null) throw fsError(Errno.NOENT);
        writeFilestat(ctx, bufPtr, r.stat ?? dir.fs.stat(r.path));
        return 0;
      } catch (e) {
        return fail(e);
      }
    },

    path_filestat_set_times(
      dirfd: number,
      flags: number,
      pathPtr: number,
      pathLen: number,
      atim: bigint,
      mtim: bigint,
      fstflags: number,
    ): number {
      try {
        const dir = ctx.dir(dirfd);
        const path = ctx.path(pathPtr, pathLen);
        const [a, m] = timeArgs(atim, mtim, fstflags);
        const r = resolve(dir, path, (flags & Lookupflags.SYMLINK_FOLLOW) !== 0);
        dir.fs.setTimes(r.path, a, m);
        return 0;
      } catch (e) {
        return fail(e);
      }
    },

    path_create_directory(dirfd: number, pathPtr: number, pathLen: number): number {
      try {
        const dir = ctx.dir(dirfd);
        const path = ctx.path(pathPtr, pathLen);
        const r = resolve(dir, path, false);
        dir.fs.mkdir(r.path);
        return 0;
      } catch (e) {
        return fail(e);
      }
    },

    path_remove_directory(dirfd: number, pathPtr: number, pathLen: number): number {
      try {
        const dir = ctx.dir(dirfd);
        const path = ctx.path(pathPtr, pathLen);
        const last = lastComponent(path);
        if (last === '.') throw fsError(Errno.INVAL);
        if (last === '..') throw fsError(Errno.NOTEMPTY);
        const r = resolve(dir, path, false);
        if (r.path === '') throw fsError(Errno.BUSY);
        dir.fs.rmdir(r.path);
        return 0;
      } catch (e) {
        return fail(e);
      }
    },

    path_unlink_file(dirfd: number, pathPtr: number, pathLen: number): number {
      try {
        const dir = ctx.dir(dirfd);
        const path = ctx.path(pathPtr, pathLen);
        const r = resolve(dir, path, false);
        if (r.trailingSlash) {
          const kind = r.kind === undefined ? dir.fs.kind(r.path) : r.kind;
          if (kind === null) throw fsError(Errno.NOENT);
          throw fsError(kind === 'dir' ? Errno.ISDIR : Errno.NOTDIR);
        }
        dir.fs.unlink(r.path);
        return 0;
      } catch (e) {
        return fail(e);
      }
    },

    path_readlink(
      dirfd: number,
      pathPtr: number,
      pathLen: number,
      buf: number,
      bufLen: number,
      bufUsedPtr: number,
    ): number {
      try {
        const dir = ctx.dir(dirfd);
        const path = ctx.path(pathPtr, pathLen);
        mem().check(buf, bufLen);
        mem().check(bufUsedPtr, 4);
        const r = resolve(dir, path, false);
        const target = mem().encode(dir.fs.readlink(r.path));
        // Like readlink(2) and wasmtime: a short buffer gets a truncated target.
        const n = Math.min(target.length, bufLen >>> 0);
        mem().u8.set(target.subarray(0, n), buf >>> 0);
        mem().setU32(bufUsedPtr, n);
        return 0;
      } catch (e) {
        return fail(e);
      }
    },

    path_symlink(oldPtr: number, oldLen: number, dirfd: number, newPtr: number, newLen: number): number {
      try {
        const target = ctx.path(oldPtr, oldLen);
        const dir = ctx.dir(dirfd);
        const path = ctx.path(newPtr, newLen);
        if (target === '') throw fsError(Errno.NOENT);
        const r = newName(dir, path);
        dir.fs.symlink(target, r.path);
        return 0;
      } catch (e) {
        return fail(e);
      }
    },

    path_link(
      oldFd: number,
      oldFlags: number,
      oldPtr: number,
      oldLen: number,
      newFd: number,
      newPtr: number,
      newLen: number,
    ): number {
      try {
        const { from, oldPath, to, newPath } = pathPair(oldFd, oldPtr, oldLen, newFd, newPtr, newLen);
        const a = resolve(from, oldPath, (oldFlags & Lookupflags.SYMLINK_FOLLOW) !== 0);
        const b = newName(to, newPath);
        from.fs.link(a.path, b.path);
        return 0;
      } catch (e) {
        return fail(e);
      }
    },

    path_rename(
      oldFd: number,
      oldPtr: number,
      oldLen: number,
      newFd: number,
      newPtr: number,
      newLen: number,
    ): number {
      try {
        const { from, oldPath, to, newPath } = pathPair(oldFd, oldPtr, oldLen, newFd, newPtr, newLen);
        const a = resolve(from, oldPath, false);
        const b = resolve(to, newPath, false);
        if (a.path === '' || b.path === '') throw fsError(Errno.BUSY);
        if (a.trailingSlash || b.trailingSlash) {
          // A trailing slash on either side demands that the source is a directory.
          const kind = from.fs.kind(a.path);
          if (kind === null) throw fsError(Errno.NOENT);
          if (kind !== 'dir') throw fsError(Errno.NOTDIR);
        }
        from.fs.rename(a.path, b.path);
        return 0;
      } catch (e) {
        return fail(e);
      }
    },
  };
}

import { Advice, Dirent, Errno, Fdflags, Fdstat, Filestat, Fstflags, Prestat, Whence } from './abi.js';
import { fsError } from '../vfs/errno.js';
import type { Stat, TimeSpec } from '../vfs/types.js';
import type { WasiContext } from './context.js';
import { DirectoryDescriptor, FileDescriptor, StdioDescriptor, filetypeOf } from './fd.js';

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** A u64 argument (it arrives as a signed i64) that must fit a JS number: EINVAL when negative, EFBIG when huge. */
export function sizeArg(v: bigint): number {
  if (v < 0n) throw fsError(Errno.INVAL);
  if (v > MAX_SAFE) throw fsError(Errno.FBIG);
  return Number(v);
}

/** Decodes fstflags into the contract's TimeSpec pair; both "set" and "now" for one time is EINVAL. */
export function timeArgs(atim: bigint, mtim: bigint, flags: number): [TimeSpec, TimeSpec] {
  if (flags & ~0xf) throw fsError(Errno.INVAL);
  if (flags & Fstflags.ATIM && flags & Fstflags.ATIM_NOW) throw fsError(Errno.INVAL);
  if (flags & Fstflags.MTIM && flags & Fstflags.MTIM_NOW) throw fsError(Errno.INVAL);
  const a = flags & Fstflags.ATIM ? BigInt.asUintN(64, atim) : flags & Fstflags.ATIM_NOW ? 'now' : null;
  const m = flags & Fstflags.MTIM ? BigInt.asUintN(64, mtim) : flags & Fstflags.MTIM_NOW ? 'now' : null;
  return [a, m];
}

export function writeFilestat(ctx: WasiContext, ptr: number, st: Stat): void {
  const mem = ctx.memory;
  mem.check(ptr, Filestat.SIZE);
  const v = mem.view;
  const p = ptr >>> 0;
  v.setBigUint64(p + Filestat.DEV, st.dev, true);
  v.setBigUint64(p + Filestat.INO, st.ino, true);
  v.setUint8(p + Filestat.FILETYPE, filetypeOf(st.kind));
  v.setBigUint64(p + Filestat.NLINK, st.nlink, true);
  v.setBigUint64(p + Filestat.FILESIZE, st.size, true);
  v.setBigUint64(p + Filestat.ATIM, st.atimeNs, true);
  v.setBigUint64(p + Filestat.MTIM, st.mtimeNs, true);
  v.setBigUint64(p + Filestat.CTIM, st.ctimeNs, true);
}

export function fdCalls(ctx: WasiContext) {
  const fail = (e: unknown) => ctx.errnoOf(e);
  const mem = () => ctx.memory;

  return {
    fd_read(fd: number, iovs: number, iovsLen: number, nreadPtr: number): number {
      try {
        const d = ctx.fd(fd);
        const bufs = mem().iovecs(iovs, iovsLen);
        mem().check(nreadPtr, 4);
        mem().setU32(nreadPtr, d.read(bufs));
        return 0;
      } catch (e) {
        return fail(e);
      }
    },

    fd_write(fd: number, iovs: number, iovsLen: number, nwrittenPtr: number): number {
      try {
        const d = ctx.fd(fd);
        const bufs = mem().iovecs(iovs, iovsLen);
        mem().check(nwrittenPtr, 4);
        mem().setU32(nwrittenPtr, d.write(bufs));
        return 0;
      } catch (e) {
        return fail(e);
      }
    },

    fd_pread(fd: number, iovs: number, iovsLen: number, offset: bigint, nreadPtr: number): number {
      try {
        const d = ctx.fd(fd);
        const bufs = mem().iovecs(iovs, iovsLen);
        mem().check(nreadPtr, 4);
        const pos = sizeArg(offset);
        mem().setU32(nreadPtr, d.pread(bufs, pos));
        return 0;
      } catch (e) {
        return fail(e);
      }
    },

    fd_pwrite(fd: number, iovs: number, iovsLen: number, offset: bigint, nwrittenPtr: number): number {
      try {
        const d = ctx.fd(fd);
        const bufs = mem().iovecs(iovs, iovsLen);
        mem().check(nwrittenPtr, 4);
        const pos = sizeArg(offset);
        mem().setU32(nwrittenPtr, d.pwrite(bufs, pos));
        return 0;
      } catch (e) {
        return fail(e);
      }
    },

    fd_seek(fd: number, offset: bigint, whence: number, newOffsetPtr: number): number {
      try {
        const d = ctx.fd(fd);
        mem().check(newOffsetPtr, 8);
        if (whence !== Whence.SET && whence !== Whence.CUR && whence !== Whence.END)
          throw fsError(Errno.INVAL);
        mem().setU64(newOffsetPtr, d.seek(offset, whence));
        return 0;
      } catch (e) {
        return fail(e);
      }
    },

    fd_tell(fd: number, offsetPtr: number): number {
      try {
        const d = ctx.fd(fd);
        mem().check(offsetPtr, 8);
        mem().setU64(offsetPtr, d.tell());
        return 0;
      } catch (e) {
        return fail(e);
      }
    },

    fd_close(fd: number): number {
      try {
        const d = ctx.fd(fd);
        ctx.fds[fd] = undefined;
        d.close();
        return 0;
      } catch (e) {
        return fail(e);
      }
    },

    fd_renumber(from: number, to: number): number {
      try {
        const d = ctx.fd(from);
        // The target need not be open: programs save stdout with
        // renumber(1, spare) and restore it later (Yosys does, around ABC),
        // and wasmtime accepts that. A negative fd number is still EBADF.
        if (to < 0 || to >= 1 << 16) throw fsError(Errno.BADF);
        if (from === to) return 0;
        const target = ctx.fds[to];
        ctx.fds[to] = d;
        ctx.fds[from] = undefined;
        target?.close();
        return 0;
      } catch (e) {
        return fail(e);
      }
    },

    fd_fdstat_get(fd: number, ptr: number): number {
      try {
        const d = ctx.fd(fd);
        mem().check(ptr, Fdstat.SIZE);
        const v = mem().view;
        const p = ptr >>> 0;
        v.setUint8(p + Fdstat.FILETYPE, d.filetype);
        v.setUint8(p + 1, 0);
        v.setUint16(p + Fdstat.FLAGS, d.flags, true);
        v.setUint32(p + 4, 0, true);
        v.setBigUint64(p + Fdstat.RIGHTS_BASE, BigInt(d.rightsBase), true);
        v.setBigUint64(p + Fdstat.RIGHTS_INHERITING, BigInt(d.rightsInheriting), true);
        return 0;
      } catch (e) {
        return fail(e);
      }
    },

    fd_fdstat_set_flags(fd: number, flags: number): number {
      try {
        const d = ctx.fd(fd);
        if (flags & ~0x1f) throw fsError(Errno.INVAL);
        // Synchronous-I/O flags cannot be changed after open (as on Linux and in wasmtime).
        if (flags & (Fdflags.DSYNC | Fdflags.RSYNC | Fdflags.SYNC)) throw fsError(Errno.NOTSUP);
        d.flags = flags;
        return 0;
      } catch (e) {
        return fail(e);
      }
    },

    fd_fdstat_set_rights(fd: number, base: bigint, inheriting: bigint): number {
      try {
        const d = ctx.fd(fd);
        const b = Number(BigInt.asUintN(32, base));
        const i = Number(BigInt.asUintN(32, inheriting));
        // Rights can only be dropped, never gained.
        if ((b & ~d.rightsBase) !== 0 || (i & ~d.rightsInheriting) !== 0) throw fsError(Errno.NOTCAPABLE);
        d.rightsBase = b;
        d.rightsInheriting = i;
        return 0;
      } catch (e) {
        return fail(e);
      }
    },

    fd_filestat_get(fd: number, ptr: number): number {
      try {
        const d = ctx.fd(fd);
        mem().check(ptr, Filestat.SIZE);
        writeFilestat(ctx, ptr, d.stat());
        return 0;
      } catch (e) {
        return fail(e);
      }
    },

    fd_filestat_set_size(fd: number, size: bigint): number {
      try {
        const d = ctx.fd(fd);
        d.setSize(sizeArg(size));
        return 0;
      } catch (e) {
        return fail(e);
      }
    },

    fd_filestat_set_times(fd: number, atim: bigint, mtim: bigint, flags: number): number {
      try {
        const d = ctx.fd(fd);
        const [a, m] = timeArgs(atim, mtim, flags);
        d.setTimes(a, m);
        return 0;
      } catch (e) {
        return fail(e);
      }
    },

    fd_advise(fd: number, offset: bigint, len: bigint, advice: number): number {
      try {
        const d = ctx.fd(fd);
        if (advice < Advice.NORMAL || advice > Advice.NOREUSE) throw fsError(Errno.INVAL);
        sizeArg(offset);
        sizeArg(len);
        if (d instanceof StdioDescriptor) throw fsError(Errno.SPIPE);
        if (!(d instanceof FileDescriptor)) throw fsError(Errno.BADF);
        // Advice is a hint; the filesystems here have nothing to gain from it.
        return 0;
      } catch (e) {
        return fail(e);
      }
    },

    fd_allocate(fd: number, offset: bigint, len: bigint): number {
      try {
        const d = ctx.fd(fd);
        const o = sizeArg(offset);
        const l = sizeArg(len);
        if (l === 0) throw fsError(Errno.INVAL);
        if (o + l > Number.MAX_SAFE_INTEGER) throw fsError(Errno.FBIG);
        d.allocate(o, l);
        return 0;
      } catch (e) {
        return fail(e);
      }
    },

    fd_sync(fd: number): number {
      try {
        ctx.fd(fd).sync();
        return 0;
      } catch (e) {
        return fail(e);
      }
    },

    fd_datasync(fd: number): number {
      try {
        ctx.fd(fd).datasync();
        return 0;
      } catch (e) {
        return fail(e);
      }
    },

    fd_prestat_get(fd: number, ptr: number): number {
      try {
        const d = ctx.fd(fd);
        if (!(d instanceof DirectoryDescriptor) || d.preopenName === null) throw fsError(Errno.BADF);
        mem().check(ptr, Prestat.SIZE);
        mem().setU32(ptr, 0); // tag DIR and padding
        mem().setU32((ptr >>> 0) + Prestat.NAME_LEN, mem().encode(d.preopenName).length);
        return 0;
      } catch (e) {
        return fail(e);
      }
    },

    fd_prestat_dir_name(fd: number, ptr: number, len: number): number {
      try {
        const d = ctx.fd(fd);
        if (!(d instanceof DirectoryDescriptor) || d.preopenName === null) throw fsError(Errno.BADF);
        const name = mem().encode(d.preopenName);
        mem().check(ptr, len);
        if (len >>> 0 < name.length) throw fsError(Errno.NAMETOOLONG);
        mem().u8.set(name, ptr >>> 0);
        return 0;
      } catch (e) {
        return fail(e);
      }
    },

    fd_readdir(fd: number, buf: number, bufLen: number, cookie: bigint, bufUsedPtr: number): number {
      try {
        const d = ctx.dir(fd);
        mem().check(buf, bufLen);
        mem().check(bufUsedPtr, 4);
        const c = BigInt.asUintN(64, cookie);
        if (c === 0n || d.listing === null) d.listing = d.fs.readdir(d.path);
        const listing = d.listing;
        const self = d.stat().ino;
        const parent =
          d.path === '' ? self : d.fs.stat(d.path.slice(0, Math.max(0, d.path.lastIndexOf('/')))).ino;
        const total = listing.length + 2;
        const u8 = mem().u8;
        const v = mem().view;
        const end = (buf >>> 0) + (bufLen >>> 0);
        let at = buf >>> 0;
        const header = new Uint8Array(Dirent.SIZE);
        const hv = new DataView(header.buffer);
        for (let i = Number(c > BigInt(total) ? BigInt(total) : c); i < total && at < end; i++) {
          const name = i === 0 ? '.' : i === 1 ? '..' : listing[i - 2]!.name;
          const ino = i === 0 ? self : i === 1 ? parent : listing[i - 2]!.ino;
          const type = i < 2 ? 3 : filetypeOf(listing[i - 2]!.kind);
          const nameBytes = mem().encode(name);
          hv.setBigUint64(Dirent.NEXT, BigInt(i + 1), true);
          hv.setBigUint64(Dirent.INO, ino, true);
          hv.setUint32(Dirent.NAMLEN, nameBytes.length, true);
          hv.setUint32(Dirent.TYPE, type, true); // type byte plus zero padding
          // An entry that does not fit is cut short; the guest sees bufused == buf_len and asks again.
          const h = Math.min(Dirent.SIZE, end - at);
          u8.set(header.subarray(0, h), at);
          at += h;
          const n = Math.min(nameBytes.length, end - at);
          u8.set(nameBytes.subarray(0, n), at);
          at += n;
        }
        v.setUint32(bufUsedPtr >>> 0, at - (buf >>> 0), true);
        return 0;
      } catch (e) {
        return fail(e);
      }
    },
  };
}

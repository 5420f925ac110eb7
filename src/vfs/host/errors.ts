/** Node's error codes (err.code) mapped to the runtime's errno values. */
import { Errno, FsError, fsError } from '../errno.js';
import type { FileKind } from '../types.js';
import { constants } from 'node:fs';

const byCode: Record<string, number> = {
  ENOENT: Errno.NOENT,
  EEXIST: Errno.EXIST,
  ENOTDIR: Errno.NOTDIR,
  EISDIR: Errno.ISDIR,
  ENOTEMPTY: Errno.NOTEMPTY,
  ELOOP: Errno.LOOP,
  EACCES: Errno.ACCES,
  EPERM: Errno.PERM,
  EINVAL: Errno.INVAL,
  EXDEV: Errno.XDEV,
  EMLINK: Errno.MLINK,
  ENAMETOOLONG: Errno.NAMETOOLONG,
  ENOSPC: Errno.NOSPC,
  EDQUOT: Errno.DQUOT,
  EROFS: Errno.ROFS,
  EBADF: Errno.BADF,
  EBUSY: Errno.BUSY,
  EMFILE: Errno.MFILE,
  ENFILE: Errno.NFILE,
  EFBIG: Errno.FBIG,
  ERR_FS_FILE_TOO_LARGE: Errno.FBIG,
  ESPIPE: Errno.SPIPE,
  ENXIO: Errno.NXIO,
  ENODEV: Errno.NODEV,
  ETXTBSY: Errno.TXTBSY,
  EAGAIN: Errno.AGAIN,
  EINTR: Errno.INTR,
  EOVERFLOW: Errno.OVERFLOW,
  ENOMEM: Errno.NOMEM,
  ENOTSUP: Errno.NOTSUP,
  EOPNOTSUPP: Errno.NOTSUP,
  ENOSYS: Errno.NOSYS,
  EIO: Errno.IO,
  // Node's own argument validation (a position past 2^53, say).
  ERR_OUT_OF_RANGE: Errno.INVAL,
  ERR_INVALID_ARG_VALUE: Errno.INVAL,
};

/** Any throwable from node:fs as an FsError; unknown failures become EIO. */
export function hostError(err: unknown, path?: string): FsError {
  if (FsError.is(err)) return err;
  const code = (err as { code?: unknown } | null)?.code;
  const errno = typeof code === 'string' ? (byCode[code] ?? Errno.IO) : Errno.IO;
  return fsError(errno, path === undefined ? code?.toString() : `${path} (${String(code)})`);
}

const { S_IFMT, S_IFREG, S_IFDIR, S_IFLNK, S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK } = constants;

/** The file kind encoded in a stat mode. */
export function kindOfMode(mode: number): FileKind {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return 'file';
    case S_IFDIR:
      return 'dir';
    case S_IFLNK:
      return 'symlink';
    case S_IFCHR:
      return 'chardev';
    case S_IFBLK:
      return 'blockdev';
    case S_IFIFO:
      return 'fifo';
    case S_IFSOCK:
      return 'socket';
    default:
      return 'unknown';
  }
}

/**
 * The filesystem contract: what the WASI layer (and later the package layers)
 * call. It is synchronous because the guest is synchronous; anything that is
 * not local yet is fetched behind it through the runtime's sync bridge.
 *
 * Paths. Every path given to a FileSystem is *already resolved* by the caller
 * (see resolve.ts): relative to the filesystem's root, components joined by
 * "/", no leading or trailing slash, no "", "." or ".." components, no NUL.
 * The root itself is "". No component except possibly the last one is a
 * symlink; a filesystem never follows a symlink in the last component
 * (lstat semantics everywhere, O_NOFOLLOW on open). A filesystem therefore
 * never resolves a path by itself, which is what makes a host mount
 * impossible to escape: the caller walks every component through `kind`.
 *
 * Errors. Every failure throws FsError with an errno from errno.ts. Nothing
 * else may escape a method (a host I/O error becomes EIO).
 */

export type FileKind = 'file' | 'dir' | 'symlink' | 'chardev' | 'blockdev' | 'socket' | 'fifo' | 'unknown';

/** Times are nanoseconds since the Unix epoch. */
export interface Stat {
  /** Device id; distinct per filesystem instance. */
  dev: bigint;
  /** Inode number, stable for the life of the file within this filesystem. */
  ino: bigint;
  kind: FileKind;
  nlink: bigint;
  size: bigint;
  atimeNs: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  /** Permission bits (0o777 mask); informational, WASI has no modes. */
  mode: number;
}

export interface DirEntry {
  name: string;
  kind: FileKind;
  ino: bigint;
}

export interface OpenFlags {
  read: boolean;
  write: boolean;
  /** O_CREAT: create a regular file if the last component does not exist. */
  create?: boolean;
  /** O_EXCL: with create, fail with EEXIST if it exists (symlinks included). */
  exclusive?: boolean;
  /** O_TRUNC: truncate a regular file to 0 (requires write). */
  truncate?: boolean;
  /** O_DIRECTORY: fail with ENOTDIR unless the path is a directory. */
  directory?: boolean;
}

/** A time update: a value in ns, "now", or null to leave it unchanged. */
export type TimeSpec = bigint | 'now' | null;

/**
 * An open file or directory. Positions are plain numbers (files beyond 2^53
 * bytes are not a concern); the WASI layer keeps the cursor, so handles are
 * positional only (pread/pwrite), which is also what makes dup/renumber cheap.
 */
export interface FileHandle {
  readonly kind: FileKind;
  /** Reads up to buf.length bytes at position; returns the count (0 at EOF). Directories: EISDIR. */
  read(buf: Uint8Array, position: number): number;
  /** Writes buf at position (extending the file); returns the count. Directories: EISDIR. Read-only: EBADF/EROFS. */
  write(buf: Uint8Array, position: number): number;
  stat(): Stat;
  /** ftruncate. Directories: EISDIR; not open for writing: EINVAL/EBADF. */
  setSize(size: number): void;
  /** posix_fallocate: grows the file to at least offset+length. */
  allocate(offset: number, length: number): void;
  setTimes(atime: TimeSpec, mtime: TimeSpec): void;
  sync(): void;
  datasync(): void;
  close(): void;
}

export interface FileSystem {
  /** True when every mutating call fails with EROFS. */
  readonly readOnly: boolean;

  /**
   * The kind of the entry at path without following a final symlink, or null
   * if nothing is there. Called for every path component during resolution,
   * so implementations make it cheap (a host mount may cache directories).
   * Throws ENOTDIR if a parent is not a directory.
   */
  kind(path: string): FileKind | null;

  /** lstat. ENOENT if missing. */
  stat(path: string): Stat;

  /**
   * Optional: lstat that returns null instead of throwing ENOENT. A host
   * mount implements it because a failing host lstat builds an exception
   * (message, stack) that costs several times the syscall; the resolver
   * uses it to look up a final component and hand the result back.
   */
  tryStat?(path: string): Stat | null;

  /** The target of the symlink at path. EINVAL if not a symlink. */
  readlink(path: string): string;

  /**
   * Opens the entry at path. The last component is never followed: a symlink
   * gives ELOOP. A directory opens only without write (else EISDIR).
   * create/exclusive/truncate act as in POSIX; creating in a missing parent
   * gives ENOENT. Any write on a read-only filesystem gives EROFS.
   */
  open(path: string, flags: OpenFlags): FileHandle;

  /** Entries of a directory, without "." and "..", in a stable order. */
  readdir(path: string): DirEntry[];

  /** EEXIST if anything (a dangling symlink too) is at path. */
  mkdir(path: string): void;
  /** ENOTEMPTY, ENOTDIR, ENOENT as in POSIX; the root gives EBUSY. */
  rmdir(path: string): void;
  /** Removes a non-directory; a directory gives EISDIR (Linux gives that; WASI expects it). */
  unlink(path: string): void;
  /**
   * POSIX rename: replaces a file by a file, an empty directory by a
   * directory; dir onto file gives ENOTDIR, file onto dir gives EISDIR, a
   * directory into its own subtree gives EINVAL, a non-empty target dir
   * gives ENOTEMPTY.
   */
  rename(from: string, to: string): void;
  /** Hard link; EEXIST if `to` exists, EPERM if `from` is a directory. */
  link(from: string, to: string): void;
  /** Creates a symlink at path whose target is stored verbatim. EEXIST if path exists. */
  symlink(target: string, path: string): void;
  /** utimensat with AT_SYMLINK_NOFOLLOW semantics. */
  setTimes(path: string, atime: TimeSpec, mtime: TimeSpec): void;
}

/**
 * The state archive: one user's state of one app in a single file, for
 * `capsule state export|import`. Whiteout markers (`.wh.*`) are ordinary
 * empty files in it: they are part of the state (the deletions the user made).
 *
 * Format, version 1. Integers are unsigned big-endian.
 *
 *   magic    8 bytes   "CAPSTAT1"
 *   record*  zero or more, in pre-order (a directory before its contents):
 *     hlen   u32       length of the header, 1..65536
 *     header hlen bytes UTF-8 JSON object with exactly these keys:
 *              path    string: relative, "/"-separated; no leading "/", no "", "."
 *                      or ".." component, no NUL; at most 4096 UTF-8 bytes, 255 per
 *                      component. The root itself is not a record.
 *              type    "file" | "dir" | "symlink"
 *              mode    integer 0..511 (permission bits)
 *              size    integer: the length of `data` for a file, 0 otherwise
 *              mtime   integer: milliseconds since the Unix epoch
 *              target  string, symlinks only: the link target verbatim, 1..4096 bytes, no NUL
 *     data   size bytes (files only)
 *   end      u32       0
 *   digest   32 bytes  SHA-256 of every byte before it (magic through end)
 *   Nothing may follow the digest.
 *
 * Reading refuses (BAD_ARCHIVE) a wrong magic, a truncated file, trailing
 * bytes, a digest mismatch, unknown keys or types, an unsafe path, a path
 * given twice, and any entry whose parent is not a directory record seen
 * before it: that last rule is what stops "symlink a -> /etc, then file
 * a/passwd" from writing through the link. Files are created with O_EXCL |
 * O_NOFOLLOW inside a fresh staging directory, and nothing is published
 * unless the whole archive, digest included, checked out.
 */
import { createHash, randomBytes, type Hash } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { fsyncDir } from '../../store/fs/staged-file.js';
import { StateError, ioFailure } from './errors.js';
import { finishDirs, walkTree } from './state-tree.js';
import {
  ARCHIVE_MAGIC,
  ArchiveOrder,
  MAX_HEADER,
  badArchive as bad,
  encodeHeader,
  parseHeader,
  type ArchiveHeader as Header,
} from './state-archive-format.js';

const MAGIC = Buffer.from(ARCHIVE_MAGIC);
const IO_CHUNK = 256 * 1024;

export interface ArchiveStats {
  entries: number;
  files: number;
  bytes: number;
}

/** Appends bytes to an fd while hashing them. */
class HashingWriter {
  readonly hash: Hash = createHash('sha256');
  constructor(private readonly fd: number) {}

  write(bytes: Uint8Array, hashed = true): void {
    if (hashed) this.hash.update(bytes);
    for (let off = 0; off < bytes.length;) off += writeSync(this.fd, bytes, off, bytes.length - off);
  }

  u32(n: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    this.write(b);
  }
}

/** Writes the tree at `root` to `file` (via a temporary file beside it, renamed at the end). */
export function writeArchive(root: string, file: string): ArchiveStats {
  const tmp = `${file}.tmp-${randomBytes(6).toString('hex')}`;
  const stats: ArchiveStats = { entries: 0, files: 0, bytes: 0 };
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', 0o600);
    const out = new HashingWriter(fd);
    out.write(MAGIC);
    for (const e of walkTree(root)) {
      const header: Header = {
        path: e.path,
        type: e.type,
        mode: e.stat.mode & 0o777,
        size: e.type === 'file' ? e.stat.size : 0,
        mtime: Math.floor(e.stat.mtimeMs),
      };
      const host = join(root, e.path);
      if (e.type === 'symlink') header.target = readlinkSync(host);
      if (e.type === 'file') copyInto(out, host, header);
      else writeHeader(out, header);
      stats.entries++;
      if (e.type === 'file') {
        stats.files++;
        stats.bytes += header.size;
      }
    }
    out.u32(0);
    out.write(out.hash.digest(), false);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, file);
    fsyncDir(dirname(file));
    return stats;
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    throw ioFailure('export state to', file, e);
  }
}

function writeHeader(out: HashingWriter, header: Header): void {
  const bytes = encodeHeader(header);
  out.u32(bytes.length);
  out.write(bytes);
}

/** A file record: the size is taken from the open file, and the bytes must match it. */
function copyInto(out: HashingWriter, host: string, header: Header): void {
  const src = openSync(host, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const st = fstatSync(src);
    if (!st.isFile())
      throw new StateError('IO', `${host} changed while it was exported (is the app running?)`);
    header.size = st.size;
    writeHeader(out, header);
    const buf = Buffer.allocUnsafe(IO_CHUNK);
    let left = st.size;
    while (left > 0) {
      const n = readSync(src, buf, 0, Math.min(buf.length, left), null);
      if (n === 0) throw new StateError('IO', `${host} shrank while it was exported (is the app running?)`);
      out.write(buf.subarray(0, n));
      left -= n;
    }
  } finally {
    closeSync(src);
  }
}

/** Reads an fd sequentially, hashing what it hands out. */
class HashingReader {
  readonly hash: Hash = createHash('sha256');
  private readonly buf = Buffer.allocUnsafe(IO_CHUNK);
  private start = 0;
  private end = 0;

  constructor(private readonly fd: number) {}

  private fill(): boolean {
    if (this.start < this.end) return true;
    this.start = 0;
    this.end = readSync(this.fd, this.buf, 0, this.buf.length, null);
    return this.end > 0;
  }

  /** Hands `n` bytes to sink in pieces; BAD_ARCHIVE if the file ends first. */
  pump(n: number, sink: (piece: Buffer) => void, hashed = true): void {
    while (n > 0) {
      if (!this.fill()) throw bad('truncated');
      const take = Math.min(n, this.end - this.start);
      const piece = this.buf.subarray(this.start, this.start + take);
      if (hashed) this.hash.update(piece);
      sink(piece);
      this.start += take;
      n -= take;
    }
  }

  take(n: number, hashed = true): Buffer {
    const parts: Buffer[] = [];
    this.pump(n, (p) => parts.push(Buffer.from(p)), hashed);
    return Buffer.concat(parts, n);
  }

  atEnd(): boolean {
    return !this.fill();
  }
}

/**
 * Unpacks and verifies the archive in `file` into `staged`, a directory that
 * must not exist yet. Throws BAD_ARCHIVE on any problem; the caller discards
 * `staged` then.
 */
export function readArchive(file: string, staged: string): ArchiveStats {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    throw ioFailure('open', file, e);
  }
  try {
    mkdirSync(staged, { mode: 0o700 });
    const input = new HashingReader(fd);
    if (!input.take(MAGIC.length).equals(MAGIC)) throw bad('wrong magic (not made by capsule state export)');
    const stats: ArchiveStats = { entries: 0, files: 0, bytes: 0 };
    const order = new ArchiveOrder();
    const finished: { host: string; stat: { mode: number; atime: Date; mtime: Date } }[] = [];
    for (;;) {
      const hlen = input.take(4).readUInt32BE(0);
      if (hlen === 0) break;
      if (hlen > MAX_HEADER) throw bad(`header of ${hlen} bytes`);
      const header = parseHeader(input.take(hlen));
      order.check(header);
      const host = join(staged, header.path);
      const time = new Date(header.mtime);
      if (header.type === 'dir') {
        mkdirSync(host, { mode: 0o700 });
        finished.push({ host, stat: { mode: header.mode, atime: time, mtime: time } });
      } else if (header.type === 'symlink') {
        symlinkSync(header.target!, host);
        lutimesSync(host, time, time);
      } else {
        unpackFile(input, host, header);
        utimesSync(host, time, time);
        stats.files++;
        stats.bytes += header.size;
      }
      stats.entries++;
    }
    const expected = input.hash.digest();
    const digest = input.take(32, false);
    if (!input.atEnd()) throw bad('bytes after the digest');
    if (!digest.equals(expected)) throw bad('checksum mismatch (the file is corrupt or was altered)');
    finishDirs(finished);
    return stats;
  } catch (e) {
    if (e instanceof StateError) throw e;
    throw ioFailure('import state from', file, e);
  } finally {
    closeSync(fd);
  }
}

function unpackFile(input: HashingReader, host: string, header: Header): void {
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  const out = openSync(host, flags, header.mode);
  try {
    input.pump(header.size, (piece) => {
      for (let off = 0; off < piece.length;) off += writeSync(out, piece, off, piece.length - off);
    });
    fsyncSync(out);
  } finally {
    closeSync(out);
  }
}

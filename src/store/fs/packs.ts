/**
 * The pack files of a disk store (format: pack-file.ts): which objects they
 * hold, reading them, writing new ones, and rewriting them without objects gc
 * removed.
 *
 * Other processes add packs (a `capsule pack` beside a running app) and gc
 * rewrites them, so the in-memory map of digests is a cache of packs/:
 *   - a lookup that misses re-reads packs/ when the directory changed since
 *     it was last read (one stat), so new packs are found without a listing
 *     per miss; `locate(d, true)` re-reads it regardless, for reads about to
 *     fail with NOT_FOUND;
 *   - a pack that vanished (gc rewrote it) is dropped from the map on the
 *     next listing, and a read that finds it gone re-lists and retries.
 * Pack names are random and never reused, so a cached file descriptor always
 * refers to the bytes the map describes, even after the file is unlinked.
 */
import {
  fstatSync,
  mkdirSync,
  openSync,
  readSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
} from 'node:fs';
import { open, rename, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Digest } from '../../package/types.js';
import {
  BadPackError,
  PACK_FOOTER_SIZE,
  PACK_ENTRY_SIZE,
  PACK_HEADER_SIZE,
  PACK_NAME_RE,
  newPackName,
  packHeader,
  packTrailer,
  parsePackFooter,
  parsePackIndex,
  type PackEntry,
} from './pack-file.js';
import { closeQuietly, fsyncDir, ioError, isCode, stageFile, stagedName } from './staged-file.js';

export interface Pack {
  name: string;
  path: string;
  entries: PackEntry[];
}

export interface PackedObject {
  pack: Pack;
  offset: number;
  length: number;
}

/** Open descriptors kept for reading; beyond this the least recently opened is closed. */
const MAX_OPEN = 32;

export class PackSet {
  readonly #byDigest = new Map<Digest, PackedObject>();
  readonly #packs = new Map<string, Pack>();
  /** Packs that failed to load, by name: why. Retried only when their name reappears after vanishing. */
  readonly #bad = new Map<string, string>();
  readonly #fds = new Map<string, number>();
  /** packs/'s mtime and change time when last listed; undefined before the first listing. */
  #stamp: string | undefined;

  constructor(readonly dir: string) {}

  /** Where `digest` is packed as far as this process knows, without looking at the disk. */
  known(digest: Digest): PackedObject | undefined {
    return this.#byDigest.get(digest);
  }

  /**
   * Where `digest` is packed, checked against the disk: a pack this process
   * knows is confirmed to still exist (gc in another process may have
   * rewritten it), so that a store never claims an object it lost.
   */
  present(digest: Digest): PackedObject | undefined {
    const known = this.#byDigest.get(digest);
    if (known && statSync(known.pack.path, { throwIfNoEntry: false })) return known;
    return this.locate(digest, known !== undefined);
  }

  /** Where `digest` is packed, or undefined. `fresh` re-lists packs/ even if it looks unchanged. */
  locate(digest: Digest, fresh = false): PackedObject | undefined {
    const hit = this.#byDigest.get(digest);
    if (hit && !fresh) return hit;
    this.refresh(fresh);
    return this.#byDigest.get(digest);
  }

  /** Every packed digest (each once), after re-listing packs/. */
  digests(): Digest[] {
    this.refresh(true);
    return [...this.#byDigest.keys()];
  }

  /** Every pack, after re-listing packs/. */
  all(): Pack[] {
    this.refresh(true);
    return [...this.#packs.values()];
  }

  /** Packs whose footer or index is damaged: their objects are not readable. */
  problems(): { path: string; why: string }[] {
    this.refresh(true);
    return [...this.#bad].map(([name, why]) => ({ path: join(this.dir, name), why }));
  }

  /** The stored bytes of a packed object, unverified (the store verifies). Re-locates once if its pack is gone. */
  read(digest: Digest, at: PackedObject): Uint8Array | undefined {
    for (let attempt = 0; ; attempt++) {
      try {
        return this.#readAt(at);
      } catch (e) {
        if (!isCode(e, 'ENOENT') || attempt > 0) throw ioError('read', at.pack.path, e);
        const moved = this.locate(digest, true);
        if (!moved) return undefined;
        at = moved;
      }
    }
  }

  /** Refreshes the pack's mtime (gc's grace period); false when the pack is gone. */
  touch(at: PackedObject): boolean {
    try {
      const now = new Date();
      utimesSync(at.pack.path, now, now);
      return true;
    } catch (e) {
      if (isCode(e, 'ENOENT')) return false;
      if (isCode(e, 'EPERM', 'EACCES')) return true; // a shared store owned by another user
      throw ioError('update', at.pack.path, e);
    }
  }

  /** The pack's file status (mtime, inode), or null when it is gone. */
  stat(at: PackedObject): { mtimeMs: number; ino: number } | null {
    const st = statSync(at.pack.path, { throwIfNoEntry: false });
    return st ? { mtimeMs: st.mtimeMs, ino: st.ino } : null;
  }

  /** Makes a pack this process just published visible at once, without a listing. */
  adopt(name: string, entries: PackEntry[]): void {
    this.#add({ name, path: join(this.dir, name), entries });
  }

  /**
   * Removes `dead` objects from every pack that holds one: a pack left with
   * none is deleted; any other is rewritten with its survivors (a new pack,
   * published before the old one goes, so a survivor is never unreadable).
   * Synchronous, like gc, which holds the store lock around it. `tmpDir` is
   * where the new packs are staged.
   */
  remove(dead: ReadonlySet<Digest>, tmpDir: string): void {
    let changed = false;
    for (const pack of this.all()) {
      const keep = pack.entries.filter((e) => !dead.has(e.digest));
      if (keep.length === pack.entries.length) continue;
      if (keep.length > 0) {
        const objects = keep.map((e) => ({
          digest: e.digest,
          bytes: this.#readAt({ pack, offset: e.offset, length: e.length }),
        }));
        const written = writePackSync(tmpDir, this.dir, objects);
        this.adopt(written.name, written.entries);
      }
      this.#drop(pack.name);
      changed = true;
      try {
        rmSync(pack.path, { force: true });
      } catch (e) {
        // Windows refuses to delete a file another process has open: its
        // survivors are in the new pack already, so a later gc retries.
        if (!isCode(e, 'EPERM', 'EBUSY')) throw ioError('delete', pack.path, e);
      }
    }
    if (changed) fsyncDir(this.dir);
  }

  /** Closes every cached descriptor. */
  close(): void {
    for (const fd of this.#fds.values()) closeQuietly(fd);
    this.#fds.clear();
  }

  /** Re-lists packs/ if it changed (or always, when `force`): loads new packs, forgets vanished ones. */
  refresh(force = false): void {
    const st = statSync(this.dir, { throwIfNoEntry: false });
    const stamp = st ? `${st.mtimeMs}/${st.ctimeMs}/${st.ino}` : 'absent';
    if (!force && stamp === this.#stamp) return;
    this.#stamp = stamp;
    let names: string[];
    try {
      names = st ? readdirSync(this.dir) : [];
    } catch (e) {
      if (!isCode(e, 'ENOENT', 'ENOTDIR')) throw ioError('list', this.dir, e);
      names = [];
    }
    const present = new Set(names.filter((n) => PACK_NAME_RE.test(n)));
    for (const name of [...this.#packs.keys()]) if (!present.has(name)) this.#drop(name);
    for (const name of this.#bad.keys()) if (!present.has(name)) this.#bad.delete(name);
    for (const name of present) {
      if (this.#packs.has(name) || this.#bad.has(name)) continue;
      try {
        this.#add({ name, path: join(this.dir, name), entries: this.#load(name) });
      } catch (e) {
        const fd = this.#fds.get(name);
        if (fd !== undefined) {
          this.#fds.delete(name);
          closeQuietly(fd);
        }
        if (isCode(e, 'ENOENT')) continue; // removed while listing
        // Damaged, or unreadable (permissions, I/O): reported, and the other packs still serve.
        this.#bad.set(
          name,
          e instanceof BadPackError ? e.message : `cannot read it: ${(e as Error).message}`,
        );
      }
    }
  }

  #load(name: string): PackEntry[] {
    const fd = this.#fd(name);
    const size = fstatSync(fd).size;
    if (size < PACK_HEADER_SIZE + PACK_FOOTER_SIZE)
      throw new BadPackError(`too short to be a pack (${size} bytes)`);
    const footer = readExactly(fd, PACK_FOOTER_SIZE, size - PACK_FOOTER_SIZE);
    const { indexOffset, count } = parsePackFooter(footer, size);
    const index = readExactly(fd, count * PACK_ENTRY_SIZE, indexOffset);
    return parsePackIndex(index, footer, indexOffset);
  }

  #add(pack: Pack): void {
    this.#packs.set(pack.name, pack);
    for (const e of pack.entries) {
      if (!this.#byDigest.has(e.digest))
        this.#byDigest.set(e.digest, { pack, offset: e.offset, length: e.length });
    }
  }

  #drop(name: string): void {
    const pack = this.#packs.get(name);
    if (!pack) return;
    this.#packs.delete(name);
    for (const e of pack.entries) {
      if (this.#byDigest.get(e.digest)?.pack !== pack) continue;
      this.#byDigest.delete(e.digest);
      // Another pack may hold the same object (two processes packed it at once).
      for (const other of this.#packs.values()) {
        const again = other.entries.find((o) => o.digest === e.digest);
        if (again) {
          this.#byDigest.set(e.digest, { pack: other, offset: again.offset, length: again.length });
          break;
        }
      }
    }
    const fd = this.#fds.get(name);
    if (fd !== undefined) {
      this.#fds.delete(name);
      closeQuietly(fd);
    }
  }

  #readAt(at: PackedObject): Uint8Array {
    return readExactly(this.#fd(at.pack.name), at.length, at.offset);
  }

  #fd(name: string): number {
    let fd = this.#fds.get(name);
    if (fd !== undefined) return fd;
    fd = openSync(join(this.dir, name), 'r');
    if (this.#fds.size >= MAX_OPEN) {
      const [oldest, oldFd] = this.#fds.entries().next().value as [string, number];
      this.#fds.delete(oldest);
      closeQuietly(oldFd);
    }
    this.#fds.set(name, fd);
    return fd;
  }
}

function readExactly(fd: number, length: number, position: number): Uint8Array {
  const buf = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, done, length - done, position + done);
    if (n === 0) throw new BadPackError(`the pack ends before byte ${position + length}`);
    done += n;
  }
  return new Uint8Array(buf.buffer, buf.byteOffset, length);
}

/** Writes a whole pack at once (gc's rewrites): staged, fsync'd, renamed into packsDir. */
export function writePackSync(
  tmpDir: string,
  packsDir: string,
  objects: { digest: Digest; bytes: Uint8Array }[],
): { name: string; entries: PackEntry[] } {
  const entries: PackEntry[] = [];
  const parts: Uint8Array[] = [packHeader()];
  let end = PACK_HEADER_SIZE;
  for (const o of objects) {
    entries.push({ digest: o.digest, offset: end, length: o.bytes.length });
    parts.push(o.bytes);
    end += o.bytes.length;
  }
  parts.push(packTrailer(entries, end));
  const staged = stageFile(tmpDir, Buffer.concat(parts), 0o444);
  const name = newPackName();
  const target = join(packsDir, name);
  try {
    mkdirSync(packsDir, { recursive: true });
    renameSync(staged, target);
  } catch (e) {
    rmSync(staged, { force: true });
    throw ioError('commit', target, e);
  }
  return { name, entries };
}

/** Buffered bytes written to the staged pack in one go once they reach this. */
const FLUSH_BYTES = 1024 * 1024;

/**
 * Writes one pack: objects are appended to a staged file in tmp/ as they are
 * added (written on libuv's thread pool, never blocking the caller), and
 * `finish` ends it with its index, fsyncs it and renames it into packs/.
 */
export class PackWriter {
  readonly #path: string;
  readonly #entries: PackEntry[] = [];
  #file: Promise<FileHandle> | undefined;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  /** Where the pending bytes start in the file. */
  #pendingAt = 0;
  #end = PACK_HEADER_SIZE;
  #writes: Promise<unknown> = Promise.resolve();
  #failed: unknown;

  constructor(
    private readonly tmpDir: string,
    private readonly packsDir: string,
  ) {
    this.#path = join(tmpDir, stagedName());
    this.#pending.push(packHeader());
    this.#pendingBytes = PACK_HEADER_SIZE;
  }

  get count(): number {
    return this.#entries.length;
  }

  add(digest: Digest, bytes: Uint8Array): void {
    this.#entries.push({ digest, offset: this.#end, length: bytes.length });
    this.#end += bytes.length;
    this.#pending.push(bytes);
    this.#pendingBytes += bytes.length;
    if (this.#pendingBytes >= FLUSH_BYTES) this.#flush();
  }

  /** Writes the index, makes the pack durable and visible; returns its name and entries. */
  async finish(): Promise<{ name: string; entries: PackEntry[] }> {
    this.#pending.push(packTrailer(this.#entries, this.#end));
    this.#flush();
    await this.#writes;
    const fh = await this.#file!.catch((e: unknown) => {
      this.#failed ??= e;
      return undefined;
    });
    try {
      if (this.#failed !== undefined) throw this.#failed;
      await fh!.sync();
    } catch (e) {
      // A full disk or a failing device: nothing of the pack is left behind.
      await fh?.close().catch(() => {});
      rmSync(this.#path, { force: true });
      throw ioError('write', this.#path, e);
    }
    await fh!.close();
    const name = newPackName();
    const target = join(this.packsDir, name);
    try {
      try {
        await rename(this.#path, target);
      } catch (e) {
        if (!isCode(e, 'ENOENT')) throw e;
        mkdirSync(this.packsDir, { recursive: true });
        fsyncDir(join(this.packsDir, '..'));
        await rename(this.#path, target);
      }
      fsyncDir(this.packsDir);
    } catch (e) {
      rmSync(this.#path, { force: true });
      throw ioError('commit', target, e);
    }
    return { name, entries: this.#entries };
  }

  /** Drops the staged file. */
  async abort(): Promise<void> {
    await this.#writes;
    if (this.#file) await (await this.#file.catch(() => undefined))?.close().catch(() => {});
    rmSync(this.#path, { force: true });
  }

  #flush(): void {
    if (this.#pending.length === 0) return;
    const chunks = this.#pending;
    const at = this.#pendingAt;
    this.#pendingAt += this.#pendingBytes;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#file ??= openStaged(this.tmpDir, this.#path);
    const file = this.#file;
    this.#writes = this.#writes.then(async () => {
      if (this.#failed !== undefined) return;
      try {
        const fh = await file;
        let position = at;
        let list = chunks;
        while (list.length > 0) {
          const { bytesWritten } = await fh.writev(list, position);
          position += bytesWritten;
          list = skipWritten(list, bytesWritten);
        }
      } catch (e) {
        this.#failed = e;
      }
    });
  }
}

/** The buffers left once `n` bytes of `list` are written. */
function skipWritten(list: Uint8Array[], n: number): Uint8Array[] {
  let i = 0;
  while (i < list.length && n >= list[i]!.length) n -= list[i++]!.length;
  if (i === list.length) return [];
  const rest = list.slice(i);
  rest[0] = rest[0]!.subarray(n);
  return rest;
}

async function openStaged(tmpDir: string, path: string): Promise<FileHandle> {
  try {
    return await open(path, 'wx', 0o444);
  } catch (e) {
    if (!isCode(e, 'ENOENT')) throw e;
    mkdirSync(tmpDir, { recursive: true });
    return await open(path, 'wx', 0o444);
  }
}

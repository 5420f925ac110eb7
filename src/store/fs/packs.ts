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
  checkPackIndex,
  parsePackFooter,
  parsePackIndex,
  type PackEntry,
} from './pack-file.js';
import { closeQuietly, fsyncDir, ioError, isCode, stageFile, stagedName } from './staged-file.js';

export interface Pack {
  name: string;
  path: string;
  /** The raw index: 44-byte entries sorted by digest (pack-file.ts), searched in place. */
  index: Buffer;
  /** Where the object area ends (the index's offset): no entry may reach past it. */
  end: number;
}

export interface PackedObject {
  pack: Pack;
  offset: number;
  length: number;
}

/** Open descriptors kept for reading; beyond this the least recently opened is closed. */
const MAX_OPEN = 32;

/** A merged pack is at most this large (merging reads it whole into memory). */
const MERGE_MAX_BYTES = 64 * 1024 * 1024;

/**
 * The entry for `key` (a digest's 32 bytes) in a pack's index, by binary
 * search; 'bad' when the entry points outside the object area (a hostile
 * index whose checksum was made to match).
 */
function find(pack: Pack, key: Buffer): { offset: number; length: number } | 'bad' | undefined {
  const ix = pack.index;
  let lo = 0;
  let hi = ix.length / PACK_ENTRY_SIZE - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const at = mid * PACK_ENTRY_SIZE;
    const c = ix.compare(key, 0, 32, at, at + 32);
    if (c < 0) lo = mid + 1;
    else if (c > 0) hi = mid - 1;
    else {
      const offset = Number(ix.readBigUInt64LE(at + 32));
      const length = ix.readUInt32LE(at + 40);
      if (offset < PACK_HEADER_SIZE || offset + length > pack.end) return 'bad';
      return { offset, length };
    }
  }
  return undefined;
}

/** Every entry of a pack, fully checked (order, bounds); for gc and listings. */
function entriesOf(pack: Pack): PackEntry[] {
  return parsePackIndex(pack.index, pack.end);
}

export class PackSet {
  /** Objects found so far, by digest: later lookups of the same object cost one Map lookup. */
  readonly #found = new Map<Digest, PackedObject>();
  readonly #packs = new Map<string, Pack>();
  /** Packs that failed to load, by name: why. Retried only when their name reappears after vanishing. */
  readonly #bad = new Map<string, string>();
  readonly #fds = new Map<string, number>();
  /** packs/'s mtime and change time when last listed; undefined before the first listing. */
  #stamp: string | undefined;

  constructor(readonly dir: string) {}

  /** Where `digest` is packed as far as this process has looked, without looking at the disk. */
  known(digest: Digest): PackedObject | undefined {
    return this.#found.get(digest);
  }

  /**
   * Where `digest` is packed, checked against the disk: a pack this process
   * knows is confirmed to still exist (gc in another process may have
   * rewritten it), so that a store never claims an object it lost.
   */
  present(digest: Digest): PackedObject | undefined {
    const known = this.#found.get(digest);
    if (known && statSync(known.pack.path, { throwIfNoEntry: false })) return known;
    return this.locate(digest, known !== undefined);
  }

  /** Where `digest` is packed, or undefined. `fresh` re-lists packs/ even if it looks unchanged. */
  locate(digest: Digest, fresh = false): PackedObject | undefined {
    if (!fresh) {
      const hit = this.#found.get(digest);
      if (hit) return hit;
    }
    this.refresh(fresh);
    return this.#search(digest);
  }

  /** Every packed digest (each once), after re-listing packs/. */
  digests(): Digest[] {
    const all = new Set<Digest>();
    for (const pack of this.all()) for (const e of this.#entries(pack) ?? []) all.add(e.digest);
    return [...all];
  }

  /** Every pack, after re-listing packs/. */
  all(): Pack[] {
    this.refresh(true);
    return [...this.#packs.values()];
  }

  /** Packs whose footer or index is damaged: their objects are not readable. */
  problems(): { path: string; why: string }[] {
    for (const pack of this.all()) this.#entries(pack); // an index's order and bounds are checked in full here
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
  adopt(name: string): void {
    this.#packs.set(name, this.#load(name));
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
      const entries = this.#entries(pack);
      if (!entries) continue;
      const keep = entries.filter((e) => !dead.has(e.digest));
      if (keep.length === entries.length) continue;
      if (keep.length > 0) {
        const objects = keep.map((e) => ({
          digest: e.digest,
          bytes: this.#readAt({ pack, offset: e.offset, length: e.length }),
        }));
        this.adopt(writePackSync(tmpDir, this.dir, objects).name);
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

  /**
   * Merges the smallest packs into one when there are more than `maxPacks`,
   * so that lookups (which search every pack on a miss, and load every
   * pack's index once per process) stay cheap however many packages were
   * packed or imported one by one. Packs are taken smallest first, until
   * half of `maxPacks` would be left or the merged pack would pass
   * `maxBytes`. The merged pack is published before the packs it replaces
   * are deleted, so an object is always readable from one of them; another
   * process reading a deleted pack keeps its open descriptor or re-lists.
   * An object in two merged packs is kept once. Damaged packs are left
   * alone. Returns how many packs were merged (0: nothing to do).
   */
  merge(tmpDir: string, maxPacks: number, maxBytes = MERGE_MAX_BYTES): number {
    const packs = this.all().sort((a, b) => a.end - b.end);
    if (packs.length <= maxPacks) return 0;
    const leave = Math.max(1, maxPacks >> 1);
    const chosen: Pack[] = [];
    let bytes = 0;
    for (const pack of packs) {
      if (chosen.length >= 2 && (packs.length - chosen.length + 1 <= leave || bytes + pack.end > maxBytes))
        break;
      chosen.push(pack);
      bytes += pack.end;
    }
    if (chosen.length < 2) return 0;
    const seen = new Set<Digest>();
    const objects: { digest: Digest; bytes: Uint8Array }[] = [];
    const merged: Pack[] = [];
    for (const pack of chosen) {
      const entries = this.#entries(pack);
      if (!entries) continue;
      merged.push(pack);
      for (const e of entries) {
        if (seen.has(e.digest)) continue;
        seen.add(e.digest);
        objects.push({ digest: e.digest, bytes: this.#readAt({ pack, offset: e.offset, length: e.length }) });
      }
    }
    if (merged.length < 2) return 0;
    this.adopt(writePackSync(tmpDir, this.dir, objects).name);
    for (const pack of merged) {
      this.#drop(pack.name);
      try {
        rmSync(pack.path, { force: true });
      } catch (e) {
        // Windows: open in another process. Its objects are in the merged pack; a later merge retries.
        if (!isCode(e, 'EPERM', 'EBUSY')) throw ioError('delete', pack.path, e);
      }
    }
    fsyncDir(this.dir);
    return merged.length;
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
        this.#packs.set(name, this.#load(name));
      } catch (e) {
        this.#closeFd(name);
        if (isCode(e, 'ENOENT')) continue; // removed while listing
        // Damaged, or unreadable (permissions, I/O): reported, and the other packs still serve.
        this.#bad.set(
          name,
          e instanceof BadPackError ? e.message : `cannot read it: ${(e as Error).message}`,
        );
      }
    }
  }

  /** The first pack (in the order they were found) that holds `digest`. */
  #search(digest: Digest): PackedObject | undefined {
    const key = Buffer.from(digest.slice('sha256:'.length), 'hex');
    for (const pack of this.#packs.values()) {
      const hit = find(pack, key);
      if (hit === 'bad') {
        this.#markBad(pack, 'the index places an object outside the object area');
        continue;
      }
      if (hit) {
        const at = { pack, ...hit };
        this.#found.set(digest, at);
        return at;
      }
    }
    return undefined;
  }

  /** A pack's entries, or undefined (and the pack set aside as damaged) when its index is not well formed. */
  #entries(pack: Pack): PackEntry[] | undefined {
    try {
      return entriesOf(pack);
    } catch (e) {
      if (!(e instanceof BadPackError)) throw e;
      this.#markBad(pack, e.message);
      return undefined;
    }
  }

  #markBad(pack: Pack, why: string): void {
    this.#drop(pack.name);
    this.#bad.set(pack.name, why);
  }

  /** Reads a pack's footer and index (checked against its checksum); entries are searched in place. */
  #load(name: string): Pack {
    const fd = this.#fd(name);
    const size = fstatSync(fd).size;
    if (size < PACK_HEADER_SIZE + PACK_FOOTER_SIZE)
      throw new BadPackError(`too short to be a pack (${size} bytes)`);
    const footer = readExactly(fd, PACK_FOOTER_SIZE, size - PACK_FOOTER_SIZE);
    const { indexOffset, count } = parsePackFooter(footer, size);
    const index = readExactly(fd, count * PACK_ENTRY_SIZE, indexOffset);
    checkPackIndex(index, footer);
    return {
      name,
      path: join(this.dir, name),
      index: Buffer.from(index.buffer, index.byteOffset, index.length),
      end: indexOffset,
    };
  }

  #drop(name: string): void {
    if (!this.#packs.delete(name)) return;
    for (const [d, at] of this.#found) if (at.pack.name === name) this.#found.delete(d);
    this.#closeFd(name);
  }

  #closeFd(name: string): void {
    const fd = this.#fds.get(name);
    if (fd === undefined) return;
    this.#fds.delete(name);
    closeQuietly(fd);
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

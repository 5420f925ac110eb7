/**
 * The entry cache: the plain bytes of entry modules this user has run, so
 * that the next launch reads one file instead of decoding a few hundred
 * chunks out of the store (`$CAPSULE_HOME/cache/entries/`).
 *
 * It adds no trust. A cached file holds the entry's first chunks, whole and
 * in order: the chunks up to the one where the runnable sections end (the
 * custom sections after the data section are left out, as in every run). A
 * run checks each chunk's range of the file against the chunk's digest from
 * the package's layer index, exactly as reading the chunk out of the store
 * would (SHA-256 of the plain bytes); only the zstd decode and the per-object
 * reads are saved. A file that does not match is removed and the run reads
 * the store instead, so a damaged cache costs time, never correctness.
 *
 * Files are named by the SHA-256 of the entry's chunk list (digests and
 * sizes), which determines its bytes. They are written after a run has
 * verified every chunk, staged and renamed into place (no fsync: a file torn
 * by a crash fails the check). The cache is bounded: when it grows past its
 * limit, the least recently used files go; `capsule gc` removes the files of
 * entries no package in the store has.
 */
import { createHash } from 'node:crypto';
import { readdirSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import type { ChunkRef } from '../../package/types.js';
import type { CapsuleHome } from '../../store/home.js';
import { removeFile, removeQuietly, stagedName } from '../../store/fs/staged-file.js';

const KEY_RE = /^[0-9a-f]{64}$/;

/** Default bound on the cache's size: a few dozen large apps. */
export const ENTRY_CACHE_LIMIT = 1024 * 1024 * 1024;

/** The cache file's name for an entry made of `chunks`: 64 hex digits. */
export function entryCacheKey(chunks: readonly ChunkRef[]): string {
  const h = createHash('sha256');
  for (const c of chunks) h.update(`${c.digest} ${c.size}\n`);
  return h.digest('hex');
}

/** The entry cache of a Capsule home. */
export function entryCacheOf(home: CapsuleHome): EntryCache {
  return new EntryCache(join(home.cache, 'entries'));
}

export class EntryCache {
  constructor(
    readonly dir: string,
    private readonly limit = ENTRY_CACHE_LIMIT,
  ) {}

  pathOf(key: string): string {
    return join(this.dir, key);
  }

  /**
   * How many of `chunks` the cached file for `key` holds (0 when there is no
   * usable file: absent, or not ending on a chunk boundary, which is then
   * removed). Its bytes are not read here, nor verified.
   */
  covered(key: string, chunks: readonly ChunkRef[]): number {
    const st = statSync(this.pathOf(key), { throwIfNoEntry: false });
    if (!st?.isFile()) return 0;
    let covered = 0;
    let end = 0;
    while (covered < chunks.length && end < st.size) end += chunks[covered++]!.size;
    if (st.size === 0 || end !== st.size) {
      this.remove(key);
      return 0;
    }
    return covered;
  }

  /** Marks a file as used now (least recently used files are evicted first). */
  touch(key: string): void {
    try {
      const now = new Date();
      utimesSync(this.pathOf(key), now, now);
    } catch {
      // gone, or not ours: the cache is best effort
    }
  }

  /** Removes a file whose bytes did not match; absent is fine. */
  remove(key: string): void {
    try {
      removeFile(this.pathOf(key));
    } catch {
      // a cache: a file that cannot be removed is checked, and refused, again next time
    }
  }

  /**
   * Stores `bytes` (verified plain bytes of the entry's first chunks) under
   * `key`, evicting the least recently used files past the limit first.
   * Failures are ignored: the cache is an accelerator.
   */
  async write(key: string, bytes: Uint8Array): Promise<void> {
    if (bytes.length === 0 || bytes.length > this.limit) return;
    const { mkdir, writeFile, rename } = await import('node:fs/promises');
    const staged = join(this.dir, stagedName());
    try {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      this.evict(bytes.length);
      await writeFile(staged, bytes, { flag: 'wx', mode: 0o600 });
      await rename(staged, this.pathOf(key));
    } catch {
      removeQuietly(staged);
    }
  }

  /**
   * Removes the files whose key is not in `keep` (gc keeps the entries of
   * the packages in the store), and staged files left by a crash; returns
   * how many bytes that freed.
   */
  prune(keep: ReadonlySet<string>): number {
    let freed = 0;
    for (const f of this.files()) {
      if (keep.has(f.name) && KEY_RE.test(f.name)) continue;
      try {
        removeFile(f.path);
        freed += f.size;
      } catch {
        // in use elsewhere (Windows) or not ours: left for the next gc
      }
    }
    return freed;
  }

  /** Makes room for `incoming` bytes: least recently used first; staged files of dead writers go too. */
  private evict(incoming: number): void {
    const files = this.files().sort((a, b) => a.mtimeMs - b.mtimeMs);
    let total = files.reduce((s, f) => s + f.size, 0) + incoming;
    for (const f of files) {
      if (total <= this.limit) break;
      removeQuietly(f.path);
      total -= f.size;
    }
  }

  private files(): { name: string; path: string; size: number; mtimeMs: number }[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    const out: { name: string; path: string; size: number; mtimeMs: number }[] = [];
    for (const name of names) {
      const path = join(this.dir, name);
      const st = statSync(path, { throwIfNoEntry: false });
      if (st?.isFile()) out.push({ name, path, size: st.size, mtimeMs: st.mtimeMs });
    }
    return out;
  }
}

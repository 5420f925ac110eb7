/**
 * Node adapter: packs a host directory into a layer in an ObjectStore.
 *
 * Pipeline: scan (tree-scan.ts) -> per file, read through a window ->
 * FastCDC boundaries -> SHA-256 of each chunk -> new chunks are encoded by
 * the worker pool -> stored, in store batches committed in the background
 * (ChunkSink), all durable before the layer index is written. Chunks already
 * in the store (or already on their way in) are only referenced: that is the
 * dedup. The index lists chunks in file order, so the result does not depend
 * on which worker finishes first.
 */
import { closeSync, constants, openSync, readSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { ObjectBatch, ObjectStore, Verifier } from '../store/types.js';
import { Chunker, DEFAULT_CHUNK_PARAMS, type ChunkParams } from './chunker.js';
import { DEFAULT_ZSTD_LEVEL, type EncodeCodec } from './codec-node.js';
import { EncoderPool } from './encoder-pool.js';
import { PackageError } from './errors.js';
import { nodeHasher, sha256Digest } from './hash-node.js';
import type { Hasher } from './hash.js';
import { encodeLayerIndex, writeManifest as writeManifestWith } from './objects.js';
import { scanTree } from './tree-scan.js';
import {
  LAYER_SCHEMA,
  type ChunkRef,
  type Digest,
  type LayerEntry,
  type LayerRef,
  type Manifest,
} from './types.js';

export interface PackOptions {
  chunking?: ChunkParams;
  codec?: EncodeCodec;
  /** zstd level (gzip: clamped to 9). */
  level?: number;
  /** Compression threads; 0 compresses on the calling thread. Default: the number of cores. */
  workers?: number;
  /** Called as bytes are chunked and stored; `total` is the sum of file sizes. */
  onProgress?: (done: number, total: number) => void;
}

export interface PackStats {
  files: number;
  /** Plain bytes of all files. */
  bytes: number;
  /** Chunk references in the index. */
  chunks: number;
  /** Chunks that were not in the store before (each counted once). */
  newChunks: number;
  /** Plain bytes of the new chunks. */
  newBytes: number;
  /** Stored (encoded) bytes of the new chunks. */
  storedBytes: number;
}

export interface PackResult {
  layer: LayerRef;
  stats: PackStats;
}

/**
 * Our own chunks, hashed here and round-trip-checked by the encoder: the
 * store need not decode them again to check them.
 */
const TRUSTED: Verifier = () => true;

/** File bytes are read in blocks of this size (at least 2 * max chunk). */
const BLOCK = 8 * 1024 * 1024;

function sharedBytes(n: number): Uint8Array<SharedArrayBuffer> {
  return new Uint8Array(new SharedArrayBuffer(n));
}

/** Bytes of new chunks allowed to wait for the encoders before reading pauses. */
const MAX_IN_FLIGHT = 96 * 1024 * 1024;

/** Below this many bytes, compression stays on the calling thread by default. */
const SMALL_TREE = 16 * 1024 * 1024;

/**
 * A store batch is committed (in the background) once it holds this many
 * stored bytes or objects: bounds tmp/ usage and lets commits overlap packing.
 */
const BATCH_BYTES = 32 * 1024 * 1024;
const BATCH_OBJECTS = 2048;

/**
 * Where new chunks go: the store's batches when it has them (committed in
 * the background as they fill), else one `write` each. `flush` resolves when
 * every chunk written so far is durable and visible.
 */
class ChunkSink {
  #batch: ObjectBatch | undefined;
  #bytes = 0;
  readonly #commits: Promise<void>[] = [];
  #failure: Error | undefined;
  #aborted = false;

  constructor(private readonly store: ObjectStore) {
    this.#batch = store.beginBatch?.();
  }

  /** `absent`: the store was just asked (`has`) and does not hold it. */
  write(digest: Digest, stored: Uint8Array, absent = false): void {
    // Encoders still running when a pack fails deliver here after the abort: dropped.
    if (this.#aborted) return;
    if (this.#failure) throw this.#failure;
    const batch = this.#batch;
    if (!batch) {
      this.store.write(digest, stored, TRUSTED);
      return;
    }
    batch.write(digest, stored, TRUSTED, absent);
    this.#bytes += stored.length;
    if (this.#bytes >= BATCH_BYTES || batch.staged >= BATCH_OBJECTS) this.#rotate();
  }

  async flush(): Promise<void> {
    this.#rotate();
    await this.settle();
  }

  /** Waits for the batches committed so far (not the open one). */
  async settle(): Promise<void> {
    const results = await Promise.allSettled(this.#commits);
    this.#commits.length = 0;
    for (const r of results) if (r.status === 'rejected') this.#failure ??= r.reason as Error;
    if (this.#failure) throw this.#failure;
  }

  /** Drops what is staged and waits for commits in flight (their objects may land). */
  async abort(): Promise<void> {
    this.#aborted = true;
    const batch = this.#batch;
    this.#batch = undefined;
    await Promise.allSettled([...this.#commits, batch?.abort()]);
  }

  #rotate(): void {
    const batch = this.#batch;
    if (!batch || batch.staged === 0) return;
    const commit = batch.commit();
    commit.catch((e: Error) => (this.#failure ??= e));
    this.#commits.push(commit);
    this.#batch = this.store.beginBatch!();
    this.#bytes = 0;
  }
}

export async function packTree(dir: string, store: ObjectStore, opts: PackOptions = {}): Promise<PackResult> {
  const chunker = new Chunker(opts.chunking ?? DEFAULT_CHUNK_PARAMS);
  const max = chunker.params.max;
  if (BLOCK < 2 * max) throw new RangeError(`chunk max ${max} is too large for ${BLOCK}-byte blocks`);
  const scanned = scanTree(dir);
  const total = scanned.reduce((s, e) => s + e.size, 0);
  // Starting workers costs ~30 ms of CPU each (loading libzstd): not worth it for small trees
  // (measured on the 8.6 MB Yosys share/ tree: 62-96 ms inline, 91-105 ms with two workers;
  // with one worker that took over once ready, 89-118 against 120-174 MB/s inline).
  const workers = opts.workers ?? (total < SMALL_TREE ? 0 : availableParallelism());
  const pool = new EncoderPool(workers, opts.codec ?? 'zstd', opts.level ?? DEFAULT_ZSTD_LEVEL);
  const stats: PackStats = { files: 0, bytes: 0, chunks: 0, newChunks: 0, newBytes: 0, storedBytes: 0 };
  /** Digests new in this pack (encoding, staged or stored): a chunk seen twice is encoded once. */
  const pending = new Set<Digest>();
  const sink = new ChunkSink(store);
  const jobs = new Set<Promise<void>>();
  let inFlightBytes = 0;
  let failure: Error | undefined;
  let done = 0;
  let reported = -1;
  const progress = (n: number): void => {
    done += n;
    if (opts.onProgress && (done - reported >= 1 << 20 || done === total)) {
      reported = done;
      opts.onProgress(done, total);
    }
  };

  /** Sends the new chunks of one block to the encoders; their results go to the store. */
  const submit = (block: Uint8Array, ranges: number[], digests: Digest[]): void => {
    let bytes = 0;
    for (let i = 1; i < ranges.length; i += 2) bytes += ranges[i]!;
    inFlightBytes += bytes;
    const job = pool.encode(block, ranges).then(
      (stored) => {
        try {
          stored.forEach((s, i) => {
            sink.write(digests[i]!, s, true);
            stats.storedBytes += s.length;
          });
          progress(bytes);
        } catch (e) {
          failure ??= e as Error;
        }
        inFlightBytes -= bytes;
      },
      (e: Error) => {
        failure ??= e;
        inFlightBytes -= bytes;
      },
    );
    jobs.add(job);
    void job.then(() => jobs.delete(job));
  };

  const entries: LayerEntry[] = [];
  let index: { digest: Digest; bytes: Uint8Array };
  const reusable = workers === 0 ? new Uint8Array(BLOCK) : undefined;
  try {
    for (const e of scanned) {
      if (e.type !== 'file') {
        entries.push(
          e.type === 'symlink'
            ? { path: e.path, type: e.type, mode: e.mode, size: 0, target: e.target! }
            : { path: e.path, type: e.type, mode: e.mode, size: 0 },
        );
        continue;
      }
      const chunks: ChunkRef[] = [];
      // O_NOFOLLOW: a file swapped for a symlink after the scan is not followed out of DIR.
      const fd = openSync(e.host, constants.O_RDONLY | constants.O_NOFOLLOW);
      let size = 0;
      try {
        // Blocks are shared with the workers, which read them in place; such a block is
        // never reused, the bytes after its last cut are carried into a fresh one. Without
        // workers a block is done with once submitted (encoded then and there, copied out):
        // one is reused for the whole pack, which saves an allocation and its page faults per file.
        let block: Uint8Array = reusable ?? sharedBytes(e.size < BLOCK ? Math.max(e.size + 1, 4096) : BLOCK);
        let end = 0;
        let eof = false;
        for (;;) {
          while (!eof && end < block.length) {
            const n = readSync(fd, block, end, block.length - end, null);
            if (n === 0) eof = true;
            end += n;
          }
          let pos = 0;
          const ranges: number[] = [];
          const digests: Digest[] = [];
          while (pos < end && (eof || end - pos >= max)) {
            const len = chunker.cut(block, pos, end);
            const digest = sha256Digest(block.subarray(pos, pos + len));
            chunks.push({ digest, size: len });
            stats.chunks++;
            if (pending.has(digest) || store.has(digest)) progress(len);
            else {
              pending.add(digest);
              stats.newChunks++;
              stats.newBytes += len;
              ranges.push(pos, len);
              digests.push(digest);
            }
            pos += len;
          }
          size += pos;
          if (ranges.length > 0) submit(block, ranges, digests);
          while (inFlightBytes > MAX_IN_FLIGHT && !failure) await Promise.race(jobs);
          if (failure) throw failure;
          if (eof && pos >= end) break;
          if (reusable) reusable.copyWithin(0, pos, end);
          else {
            const next = sharedBytes(BLOCK);
            next.set(block.subarray(pos, end));
            block = next;
          }
          end -= pos;
        }
      } finally {
        closeSync(fd);
      }
      if (size !== e.size)
        throw new PackageError('UNSAFE_TREE', `${e.host}: changed while it was being packed`);
      stats.files++;
      stats.bytes += size;
      entries.push({ path: e.path, type: 'file', mode: e.mode, size, chunks });
    }
    while (jobs.size > 0) await Promise.all(jobs);
    if (failure) throw failure;
    // A visible index never names a missing chunk: the batches before the
    // last are durable first, and the index goes into the last one, which
    // becomes visible (one pack file) all at once.
    index = encodeLayerIndex({ schema: LAYER_SCHEMA, entries, whiteouts: [], opaque: [] }, nodeHasher);
    await sink.settle();
    sink.write(index.digest, index.bytes);
    await sink.flush();
  } catch (e) {
    await sink.abort();
    throw e;
  } finally {
    await pool.close();
  }
  return { layer: { digest: index.digest, size: stats.bytes, entries: entries.length }, stats };
}

/** writeManifest with node:crypto as the default hasher. */
export function writeManifest(store: ObjectStore, manifest: Manifest, hasher: Hasher = nodeHasher): Digest {
  return writeManifestWith(store, manifest, hasher);
}

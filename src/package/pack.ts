/**
 * Node adapter: packs a host directory into a layer in an ObjectStore.
 *
 * Pipeline: scan (tree-scan.ts) -> per file, read through a window ->
 * FastCDC boundaries -> SHA-256 of each chunk -> new chunks are encoded by
 * the worker pool -> stored. Chunks already in the store (or already on their
 * way in) are only referenced: that is the dedup. The index lists chunks in
 * file order, so the result does not depend on which worker finishes first.
 */
import { closeSync, constants, openSync, readSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { ObjectStore, Verifier } from '../store/types.js';
import { Chunker, DEFAULT_CHUNK_PARAMS, type ChunkParams } from './chunker.js';
import { DEFAULT_ZSTD_LEVEL, type EncodeCodec } from './codec-node.js';
import { EncoderPool } from './encoder-pool.js';
import { PackageError } from './errors.js';
import { nodeHasher, sha256Digest } from './hash-node.js';
import type { Hasher } from './hash.js';
import { writeLayerIndex, writeManifest as writeManifestWith } from './objects.js';
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

/** Bytes of new chunks allowed to wait for the encoders before reading pauses. */
const MAX_IN_FLIGHT = 64 * 1024 * 1024;

/** Below this many bytes, compression stays on the calling thread by default. */
const SMALL_TREE = 8 * 1024 * 1024;

export async function packTree(dir: string, store: ObjectStore, opts: PackOptions = {}): Promise<PackResult> {
  const chunker = new Chunker(opts.chunking ?? DEFAULT_CHUNK_PARAMS);
  const max = chunker.params.max;
  const scanned = scanTree(dir);
  const total = scanned.reduce((s, e) => s + e.size, 0);
  // Starting a worker costs ~30 ms of CPU (loading libzstd): not worth it for small trees.
  const workers = opts.workers ?? (total < SMALL_TREE ? 0 : availableParallelism());
  const pool = new EncoderPool(workers, opts.codec ?? 'zstd', opts.level ?? DEFAULT_ZSTD_LEVEL);
  const stats: PackStats = { files: 0, bytes: 0, chunks: 0, newChunks: 0, newBytes: 0, storedBytes: 0 };
  const inFlight = new Map<Digest, Promise<void>>();
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

  const addChunk = async (bytes: Uint8Array): Promise<ChunkRef> => {
    const digest = sha256Digest(bytes);
    const ref = { digest, size: bytes.length };
    stats.chunks++;
    if (store.has(digest) || inFlight.has(digest)) {
      progress(bytes.length);
      return ref;
    }
    const plain = bytes.slice(); // the window is reused; the copy is transferred to a worker
    inFlightBytes += plain.length;
    stats.newChunks++;
    stats.newBytes += plain.length;
    const job = pool.encode(plain).then(
      (stored) => {
        store.write(digest, stored, TRUSTED);
        stats.storedBytes += stored.length;
        inFlightBytes -= ref.size;
        inFlight.delete(digest);
        progress(ref.size);
      },
      (e: Error) => {
        failure ??= e;
        inFlightBytes -= ref.size;
      },
    );
    inFlight.set(digest, job);
    while (inFlightBytes > MAX_IN_FLIGHT && !failure) await Promise.race(inFlight.values());
    if (failure) throw failure;
    return ref;
  };

  const window = new Uint8Array(Math.max(8 << 20, 2 * max));
  const entries: LayerEntry[] = [];
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
        let end = 0;
        let eof = false;
        while (!eof || end > 0) {
          while (!eof && end < window.length) {
            const n = readSync(fd, window, end, window.length - end, null);
            if (n === 0) eof = true;
            end += n;
          }
          let pos = 0;
          while (pos < end && (eof || end - pos >= max)) {
            const len = chunker.cut(window, pos, end);
            chunks.push(await addChunk(window.subarray(pos, pos + len)));
            pos += len;
          }
          window.copyWithin(0, pos, end);
          end -= pos;
          size += pos;
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
    await Promise.all(inFlight.values());
    if (failure) throw failure;
  } finally {
    await pool.close();
  }
  const digest = writeLayerIndex(
    store,
    { schema: LAYER_SCHEMA, entries, whiteouts: [], opaque: [] },
    nodeHasher,
  );
  return { layer: { digest, size: stats.bytes, entries: entries.length }, stats };
}

/** writeManifest with node:crypto as the default hasher. */
export function writeManifest(store: ObjectStore, manifest: Manifest, hasher: Hasher = nodeHasher): Digest {
  return writeManifestWith(store, manifest, hasher);
}

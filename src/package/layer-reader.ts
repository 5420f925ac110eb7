/**
 * Reads byte ranges of a layer's files through their chunk lists. Platform-
 * neutral: chunks come from a caller-supplied `fetchChunk`, which must return
 * decoded, verified bytes (chunk-io.ts readChunk, usually behind a cache).
 *
 * Per file, the chunk start offsets are computed once (lazily) and a range is
 * mapped to chunks by binary search, so a read costs O(log chunks) plus the
 * chunks it touches.
 */
import { PackageError } from './errors.js';
import type { ChunkRef, LayerEntry, LayerIndex } from './types.js';

export type FetchChunk = (ref: ChunkRef) => Uint8Array;

export class LayerReader {
  private readonly byPath = new Map<string, LayerEntry>();
  /** Per file: starts[i] is the offset of chunk i; starts[n] is the size. */
  private readonly starts = new WeakMap<LayerEntry, Float64Array>();

  constructor(
    readonly index: LayerIndex,
    private readonly fetchChunk: FetchChunk,
  ) {
    for (const e of index.entries) this.byPath.set(e.path, e);
  }

  /** The entry at a layer path (relative, no leading "/"), if any. */
  entry(path: string): LayerEntry | undefined {
    return this.byPath.get(path);
  }

  private offsets(file: LayerEntry): Float64Array {
    let starts = this.starts.get(file);
    if (!starts) {
      const chunks = file.chunks ?? [];
      starts = new Float64Array(chunks.length + 1);
      for (let i = 0; i < chunks.length; i++) starts[i + 1] = starts[i]! + chunks[i]!.size;
      this.starts.set(file, starts);
    }
    return starts;
  }

  /** Index of the chunk that holds byte `offset` (0 <= offset < size). */
  private chunkAt(starts: Float64Array, offset: number): number {
    let lo = 0;
    let hi = starts.length - 2;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /**
   * Bytes `[offset, offset + length)` of a file, cut short at its end (so a
   * read at or past the end returns an empty array).
   */
  read(fileOrPath: LayerEntry | string, offset: number, length: number): Uint8Array {
    const file = typeof fileOrPath === 'string' ? this.byPath.get(fileOrPath) : fileOrPath;
    if (!file) throw new PackageError('BAD_READ', `no entry ${JSON.stringify(fileOrPath)} in the layer`);
    if (file.type !== 'file')
      throw new PackageError('BAD_READ', `${file.path} is a ${file.type}, not a file`);
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
      throw new PackageError('BAD_READ', `bad range ${offset}+${length}`);
    }
    const end = Math.min(file.size, offset + length);
    if (offset >= end) return new Uint8Array(0);
    const chunks = file.chunks!;
    const starts = this.offsets(file);
    let i = this.chunkAt(starts, offset);
    const first = this.checked(chunks[i]!, file.path);
    const start = starts[i]!;
    // One chunk: a view into it, no copy.
    if (end <= start + first.length) return first.subarray(offset - start, end - start);
    const out = new Uint8Array(end - offset);
    out.set(first.subarray(offset - start), 0);
    let at = start + first.length - offset;
    while (at < out.length) {
      i++;
      const bytes = this.checked(chunks[i]!, file.path);
      const n = Math.min(bytes.length, out.length - at);
      out.set(n === bytes.length ? bytes : bytes.subarray(0, n), at);
      at += n;
    }
    return out;
  }

  private checked(ref: ChunkRef, path: string): Uint8Array {
    const bytes = this.fetchChunk(ref);
    if (bytes.length !== ref.size) {
      throw new PackageError(
        'CORRUPT_CHUNK',
        `${path}: chunk ${ref.digest} has ${bytes.length} bytes, the index says ${ref.size}`,
      );
    }
    return bytes;
  }
}

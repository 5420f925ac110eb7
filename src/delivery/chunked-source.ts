/**
 * A file's bytes as a ModuleSource (runtime/module-stream.ts), from its
 * chunks: fetched in order, a few ahead of the reader but never past the
 * range asked for, and read back verified. Platform-neutral: Node fetches
 * into the local store (module-source.ts), the browser into its page-side
 * cache (web/runtime), each passing its own fetch and read.
 */
import type { ChunkRef, Digest } from '../package/types.js';
import type { ModuleSource } from '../runtime/module-stream.js';

/** Chunks in flight ahead of the one being read: enough to fill a 50 Mbit/s, 20 ms link several times over. */
const AHEAD = 8;

export class ChunkedModuleSource implements ModuleSource {
  readonly size: number;
  private readonly offsets: number[] = [];
  /** The last chunks read: a section header and the range after it often share one. */
  private readonly recent = new Map<number, Uint8Array>();

  constructor(
    private readonly chunks: ChunkRef[],
    private readonly fetch: (digest: Digest) => Promise<void>,
    private readonly readPlain: (chunk: ChunkRef) => Uint8Array,
  ) {
    let at = 0;
    for (const c of chunks) {
      this.offsets.push(at);
      at += c.size;
    }
    this.size = at;
  }

  /** Index of the chunk holding byte `at`. */
  private indexOf(at: number): number {
    let lo = 0;
    let hi = this.chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.offsets[mid]! <= at) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  private plain(k: number): Uint8Array {
    let bytes = this.recent.get(k);
    if (!bytes) {
      bytes = this.readPlain(this.chunks[k]!);
      this.recent.set(k, bytes);
      if (this.recent.size > 4) this.recent.delete(this.recent.keys().next().value!);
    }
    return bytes;
  }

  async *range(start: number, end: number): AsyncIterable<Uint8Array> {
    if (end <= start) return;
    const first = this.indexOf(start);
    const last = this.indexOf(end - 1);
    const pending = new Map<number, Promise<void>>();
    for (let k = first; k <= last; k++) {
      for (let j = k; j <= Math.min(last, k + AHEAD); j++) {
        if (!pending.has(j) && !this.recent.has(j)) {
          const p = this.fetch(this.chunks[j]!.digest);
          p.catch(() => {}); // awaited below, in order
          pending.set(j, p);
        }
      }
      await pending.get(k);
      pending.delete(k);
      const off = this.offsets[k]!;
      const bytes = this.plain(k);
      yield bytes.subarray(Math.max(start - off, 0), Math.min(end - off, bytes.length));
    }
  }
}

/** A web ReadableStream over an async iterator of bytes (for WebAssembly.compileStreaming). */
export function streamOf(pieces: AsyncIterator<Uint8Array>): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { value, done } = await pieces.next();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    async cancel() {
      await pieces.return?.(undefined);
    },
  });
}

/**
 * A package's entry module as a ModuleSource (runtime/module-stream.ts):
 * chunks fetched in order through the streamer, a few ahead of the reader
 * but never past the range asked for, and read back verified from the
 * local store.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { readChunk } from '../package/chunk-io.js';
import { nodeDecoders, nodeHasher } from '../package/node.js';
import type { ChunkRef, Digest } from '../package/types.js';
import { concatBytes } from '../runtime/bytes.js';
import {
  functionNames,
  runnableBytes,
  type ModuleLayout,
  type ModuleSource,
} from '../runtime/module-stream.js';
import type { SessionResult } from '../runtime/node/session.js';
import type { ObjectStore } from '../store/types.js';

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

/**
 * A package's entry module, read chunk by chunk from the store (and fetched
 * first, in a streamed run) and compiled without its custom sections
 * (runtime/module-stream.ts). A trap in a run compiled that way is named
 * afterwards from the name section, read only then.
 */
export class EntryModule {
  private readonly layout: ModuleLayout = { customs: [], tail: 0 };
  readonly source: ChunkedModuleSource;

  constructor(
    chunks: ChunkRef[],
    store: ObjectStore,
    /** Gets a chunk into the store; by default it must be there already. */
    fetch: (digest: Digest) => Promise<void> = async (d) => {
      if (!store.has(d)) throw new Error(`object ${d} is not in the store`);
    },
  ) {
    this.source = new ChunkedModuleSource(chunks, fetch, (c) =>
      readChunk(store, c, nodeDecoders, nodeHasher),
    );
  }

  /**
   * Streaming compiles as the bytes arrive (a download); otherwise the
   * runnable bytes are gathered and compiled whole, which measured faster
   * for local reads (the reads and V8's decoder compete for the cores).
   */
  async compile(memoryPages: number | undefined, streaming: boolean): Promise<WebAssembly.Module> {
    const pieces = runnableBytes(this.source, this.layout, memoryPages);
    if (streaming) {
      const headers = { 'content-type': 'application/wasm' };
      return WebAssembly.compileStreaming(new Response(streamOf(pieces), { headers }));
    }
    const parts: Uint8Array[] = [];
    for await (const p of pieces) parts.push(p);
    return WebAssembly.compile(concatBytes(parts) as Uint8Array<ArrayBuffer>);
  }

  /** The result with the trapping function named, when the compiled module could not name it. */
  async nameTrap(result: SessionResult): Promise<SessionResult> {
    if (result.kind !== 'trap') return result;
    const unnamed = /^function (\d+) at (0x[0-9a-f]+)$/.exec(result.func ?? '');
    if (!unnamed) return result;
    const names = await Promise.race([
      functionNames(this.source, this.layout).catch(() => null),
      delay(10_000, null, { ref: false }),
    ]);
    const name = names?.get(Number(unnamed[1]));
    return name ? { ...result, func: `${name} (function ${unnamed[1]}, offset ${unnamed[2]})` } : result;
  }
}

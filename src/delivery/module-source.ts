/**
 * A package's entry module as a ModuleSource (runtime/module-stream.ts):
 * chunks fetched in order through the streamer (chunked-source.ts) and read
 * back verified from the local store.
 */
import { readChunk } from '../package/chunk-io.js';
import { nodeDecoders } from '../package/codec-node.js';
import { nodeHasher } from '../package/hash-node.js';
import type { ChunkRef, Digest } from '../package/types.js';
import { concatBytes } from '../runtime/bytes.js';
import { functionNames, runnableBytes, type ModuleLayout } from '../runtime/module-stream.js';
import { ChunkedModuleSource, streamOf } from './chunked-source.js';
import type { EntryCache } from './local/entry-cache.js';
import { SharedEntryRead, type EntryReadJob } from './local/entry-read.js';
import type { SessionResult } from '../runtime/node/session.js';
import type { ObjectStore } from '../store/types.js';

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
    private readonly chunks: ChunkRef[],
    private readonly store: ObjectStore,
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
    if (this.shared) {
      const shared = this.shared;
      this.shared = null;
      if ('error' in shared) throw shared.error;
      return WebAssembly.compile((await this.sharedBytes(shared, memoryPages)) as Uint8Array<ArrayBuffer>);
    }
    const early = this.early;
    this.early = null;
    const pieces =
      early && early.memoryPages === memoryPages
        ? early.pieces
        : runnableBytes(this.source, this.layout, memoryPages);
    if (streaming) {
      const headers = { 'content-type': 'application/wasm' };
      return WebAssembly.compileStreaming(new Response(streamOf(pieces), { headers }));
    }
    const parts: Uint8Array[] = [];
    for await (const p of pieces) parts.push(p);
    return WebAssembly.compile(concatBytes(parts) as Uint8Array<ArrayBuffer>);
  }

  private early: { memoryPages: number | undefined; pieces: AsyncGenerator<Uint8Array> } | null = null;
  private shared: SharedEntryRead | { error: unknown } | null = null;
  private root = '';
  private cache: EntryCache | undefined;
  /** The entry cache's write, when this run fills it; awaited by `settled`. */
  private caching: Promise<void> = Promise.resolve();

  /**
   * A run from the local store (every chunk is there): hands the read of the
   * runnable chunks to `helper` (the guest's worker, booted and idle) now;
   * `compile` joins in on this thread, into the same shared memory
   * (local/entry-read.ts), and compiles from there. `root` is the store's
   * root. With `cache` (local/entry-cache.ts), a cached copy of the entry is
   * checked instead of reading the store, and a run that read the store
   * leaves one for the next.
   */
  readShared(root: string, helper?: (job: EntryReadJob) => boolean, cache?: EntryCache): void {
    this.root = root;
    this.cache = cache;
    try {
      this.shared = SharedEntryRead.start(this.store, root, this.chunks, this.layout, helper, cache);
    } catch (error) {
      this.shared = { error }; // compile throws it: the guest's view reads the entry and reports
    }
  }

  /** The shared read's runnable bytes; a cached copy that fails its check is dropped and the store read instead. */
  private async sharedBytes(shared: SharedEntryRead, memoryPages: number | undefined): Promise<Uint8Array> {
    const cache = this.cache;
    if (!cache) return shared.bytes(memoryPages);
    const key = shared.cacheKey; // computed once, when the read started
    if (shared.fromCache) {
      try {
        const bytes = await shared.bytes(memoryPages);
        cache.touch(key);
        return bytes;
      } catch {
        cache.remove(key);
        this.layout.customs.length = 0;
        this.layout.tail = 0;
        shared = SharedEntryRead.start(this.store, this.root, this.chunks, this.layout);
      }
    }
    const bytes = await shared.bytes(memoryPages);
    this.caching = cache.write(key, shared.verifiedPrefix());
    return bytes;
  }

  /**
   * Resolves when background work (the entry cache's write) is done, or
   * after `limitMs`: a cache write stuck on a slow disk must not hold up the
   * end of a run (a write cut short leaves a staged file, never a cache entry).
   */
  settled(limitMs = 5000): Promise<void> {
    return Promise.race([this.caching, unrefDelay(limitMs, undefined)]);
  }

  /**
   * Starts reading the runnable bytes now (a streamed run, before its view is
   * prepared), buffering them for `compile` with the same memory limit.
   */
  startEarly(memoryPages: number | undefined): void {
    this.early = { memoryPages, pieces: eager(runnableBytes(this.source, this.layout, memoryPages)) };
  }

  /** The result with the trapping function named, when the compiled module could not name it. */
  async nameTrap(result: SessionResult): Promise<SessionResult> {
    if (result.kind !== 'trap') return result;
    const unnamed = /^function (\d+) at (0x[0-9a-f]+)$/.exec(result.func ?? '');
    if (!unnamed) return result;
    const names = await Promise.race([
      functionNames(this.source, this.layout).catch(() => null),
      unrefDelay(10_000, null),
    ]);
    const name = names?.get(Number(unnamed[1]));
    return name ? { ...result, func: `${name} (function ${unnamed[1]}, offset ${unnamed[2]})` } : result;
  }
}

export { ChunkedModuleSource, streamOf };

/** Consumes `source` from now on, buffering, and yields what it produced in order (errors included). */
function eager<T>(source: AsyncGenerator<T>): AsyncGenerator<T> {
  const buffered: T[] = [];
  let done = false;
  let failure: { error: unknown } | null = null;
  const waker: { wake: (() => void) | null } = { wake: null };
  void (async () => {
    try {
      for await (const item of source) {
        buffered.push(item);
        waker.wake?.();
      }
    } catch (error) {
      failure = { error };
    }
    done = true;
    waker.wake?.();
  })();
  return (async function* () {
    for (;;) {
      if (buffered.length > 0) {
        yield buffered.shift()!;
        continue;
      }
      if (failure) throw (failure as { error: unknown }).error;
      if (done) return;
      await new Promise<void>((resolve) => (waker.wake = resolve));
      waker.wake = null;
    }
  })();
}

/** Resolves with `value` after `ms`, without keeping the process alive (node:timers/promises costs a module load). */
function unrefDelay<T>(ms: number, value: T): Promise<T> {
  return new Promise((resolve) => setTimeout(resolve, ms, value).unref());
}

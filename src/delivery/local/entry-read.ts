/**
 * Reads a package's entry module out of the local store on two threads at
 * once: this one and the guest's worker, which has nothing else to do until
 * the module is compiled. Reading a 20 MB entry is ~100 ms of one core
 * (read, zstd decode, SHA-256 of 300 chunks); it was the largest part of
 * what running from a package costs over running from a directory
 * (docs/benchmarks.md, "Where the package's time goes").
 *
 * Both threads decode chunks straight into one SharedArrayBuffer at their
 * offsets in the file, and verify them there. They take chunks from a shared
 * counter, so neither waits for the other until the last chunk. Only the
 * sections a run needs are read: the section headers are walked first (a few
 * chunks), and custom sections (debug info, names) after the data section
 * are left out, as runnableBytes does for streaming.
 *
 * Nothing unverified is used: the bytes are handed out only when every
 * chunk was read and verified; on any failure `bytes` throws and the caller
 * lets the guest's view read the entry, which reports what is wrong.
 */
import { readChunkInto } from '../../package/chunk-io.js';
import { nodeDecoders } from '../../package/codec-node.js';
import { nodeHasher } from '../../package/hash-node.js';
import type { ChunkRef, Digest } from '../../package/types.js';
import {
  runnableOf,
  runnableSections,
  type ModuleLayout,
  type ModuleSection,
} from '../../runtime/module-stream.js';
import type { ObjectStore } from '../../store/types.js';

/** What a helper thread gets (structured-cloned; the buffers are shared). */
export interface EntryReadJob {
  /** The local store's root: the helper opens its own store there. */
  root: string;
  /** The chunks left to read: digest, plain size, and offset in `bytes`. */
  chunks: { digest: Digest; size: number; at: number }[];
  /** The whole file's bytes, at their offsets; only the chunks a run needs are filled in. */
  bytes: SharedArrayBuffer;
  /** Int32 [0]: next index of `chunks` to take; [1]: chunks finished (read or failed); [2]: 1 once one failed. */
  state: SharedArrayBuffer;
}

const NEXT = 0;
const FINISHED = 1;
const FAILED = 2;

/** How long the main thread waits for the helper's last chunk before giving up on the early read. */
const HELPER_TIMEOUT_MS = 30_000;

/** Takes chunks of `job` and reads each, verified, into its place, until none is left or one fails. */
export function readClaimed(job: EntryReadJob, store: ObjectStore): void {
  const state = new Int32Array(job.state);
  const bytes = new Uint8Array(job.bytes);
  const n = job.chunks.length;
  for (;;) {
    const k = Atomics.add(state, NEXT, 1);
    if (k >= n) return;
    const c = job.chunks[k]!;
    let ok = true;
    try {
      readChunkInto(store, c.digest, bytes.subarray(c.at, c.at + c.size), nodeDecoders, nodeHasher);
    } catch {
      ok = false;
      Atomics.store(state, FAILED, 1);
      Atomics.store(state, NEXT, n); // the other thread stops taking chunks
    }
    Atomics.add(state, FINISHED, 1);
    Atomics.notify(state, FINISHED);
    if (!ok) return;
  }
}

// Node 20 has Atomics.waitAsync; TypeScript's ES2022 lib does not declare it.
type WaitAsync = (
  a: Int32Array,
  index: number,
  value: number,
  timeout: number,
) => { async: false; value: string } | { async: true; value: Promise<string> };

/** The entry's runnable bytes, being read by this thread (when asked) and a helper (from now on). */
export class SharedEntryRead {
  private constructor(
    private readonly job: EntryReadJob,
    private readonly store: ObjectStore,
    private readonly sections: ModuleSection[],
  ) {}

  /**
   * Walks the section headers (reading the chunks they are in, verified, on
   * this thread), then offers the rest of the needed chunks to `helper`,
   * which returns false when it cannot take the job. Fills `layout` as
   * runnableBytes would. Throws when a header chunk cannot be read or the
   * file is not a module.
   */
  static start(
    store: ObjectStore,
    root: string,
    chunks: ChunkRef[],
    layout: ModuleLayout,
    helper?: (job: EntryReadJob) => boolean,
  ): SharedEntryRead {
    const offsets: number[] = [];
    let size = 0;
    for (const c of chunks) {
      offsets.push(size);
      size += c.size;
    }
    const indexOf = (at: number): number => {
      let lo = 0;
      let hi = chunks.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (offsets[mid]! <= at) lo = mid;
        else hi = mid - 1;
      }
      return lo;
    };
    // The whole file's size is reserved; pages past the last chunk read are never touched.
    const bytes = new SharedArrayBuffer(size);
    const view = new Uint8Array(bytes);
    const done = new Set<number>();
    const at = (k: number) => view.subarray(offsets[k]!, offsets[k]! + chunks[k]!.size);
    const bytesAt = (start: number, end: number): Uint8Array => {
      for (let k = indexOf(start); k < chunks.length && offsets[k]! < end; k++) {
        if (!done.has(k)) readChunkInto(store, chunks[k]!.digest, at(k), nodeDecoders, nodeHasher);
        done.add(k);
      }
      return view.subarray(start, Math.min(end, size));
    };
    const sections = runnableSections(bytesAt, size, layout);

    // The chunks under the magic number and the sections that were not read for the walk, in file order.
    const needed = new Set<number>();
    for (const [start, end] of [[0, 8], ...sections.map((s) => [s.start, s.end])] as [number, number][]) {
      if (end > start) for (let k = indexOf(start); k <= indexOf(end - 1); k++) needed.add(k);
    }
    const rest: EntryReadJob['chunks'] = [...needed]
      .filter((k) => !done.has(k))
      .sort((a, b) => a - b)
      .map((k) => ({ digest: chunks[k]!.digest, size: chunks[k]!.size, at: offsets[k]! }));
    const job: EntryReadJob = { root, chunks: rest, bytes, state: new SharedArrayBuffer(12) };
    if (rest.length > 0) helper?.(job);
    return new SharedEntryRead(job, store, sections);
  }

  /**
   * Reads what the helper has not taken, waits for what it has, and returns
   * the runnable module (runnableOf: a view of the shared bytes unless a
   * memory limit or an inner custom section needs a copy). Throws when a
   * chunk failed, or the helper did not finish in time.
   */
  async bytes(memoryPages: number | undefined): Promise<Uint8Array> {
    readClaimed(this.job, this.store);
    const state = new Int32Array(this.job.state);
    const n = this.job.chunks.length;
    const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;
    for (;;) {
      const finished = Atomics.load(state, FINISHED);
      if (Atomics.load(state, FAILED) !== 0) throw new Error('a chunk of the entry could not be read');
      if (finished >= n) break;
      const w = waitAsync(state, FINISHED, finished, HELPER_TIMEOUT_MS);
      if ((w.async ? await w.value : w.value) === 'timed-out')
        throw new Error('the helper thread did not finish reading the entry');
    }
    return runnableOf(new Uint8Array(this.job.bytes), this.sections, memoryPages);
  }
}

/**
 * Reads a package's entry module out of the local store on two threads at
 * once: this one and the guest's worker, which has nothing else to do until
 * the module is compiled. Reading a 20 MB entry is ~100 ms of one core
 * (read, zstd decode, SHA-256 of 300 chunks); it was the largest part of
 * what running from a package costs over running from a directory
 * (docs/benchmarks.md, "Where the package's time goes").
 *
 * Both threads decode chunks straight into one SharedArrayBuffer at their
 * offsets in the file, and verify them there. Only the sections a run needs
 * are read: the section headers are walked first (a few chunks, and the
 * first use of zstd), and custom sections (debug info, names) after the data
 * section are left out, as runnableBytes does for streaming.
 *
 * The walk is done by whichever thread comes to the job first. Usually that
 * is the worker: it is booted and idle while this thread still prepares the
 * run (settings, lease, session), and the guest's start waits for this
 * thread, not for the worker. The walker then publishes the plan (the chunks
 * still to read) and both threads take chunks from a shared counter, so
 * neither waits for the other until the last chunk.
 *
 * When the entry cache (entry-cache.ts) holds the entry's plain bytes, the
 * chunks are read from that one file instead, at the same offsets, and
 * checked against the same digests: no walk, no decode.
 *
 * Nothing unverified is used: the bytes are handed out only when every
 * chunk was read and verified; on any failure `bytes` throws and the caller
 * lets the guest's view read the entry, which reports what is wrong (or,
 * for a cached file that fails its check, reads the store instead).
 */
import { closeSync, openSync, read, readSync } from 'node:fs';
import { readChunkInto } from '../../package/chunk-io.js';
import { nodeDecoders } from '../../package/codec-node.js';
import { nodeHasher, sha256Digest } from '../../package/hash-node.js';
import type { ChunkRef, Digest } from '../../package/types.js';
import { runnableOf, runnableSections, type ModuleLayout } from '../../runtime/module-stream.js';
import type { ObjectStore } from '../../store/types.js';
import { entryCacheKey, type EntryCache } from './entry-cache.js';

/** What a helper thread gets (structured-cloned; the buffers are shared). */
export interface EntryReadJob {
  /** The local store's root: the helper opens its own store there. */
  root: string;
  /** Every chunk of the file, in order: digest, plain size, and offset in `bytes`. */
  chunks: { digest: Digest; size: number; at: number }[];
  /** The whole file's bytes, at their offsets; only the chunks a run needs are filled in. */
  bytes: SharedArrayBuffer;
  /** Int32 slots, below. */
  state: SharedArrayBuffer;
  /** Int32 per chunk: the plan, indexes of the chunks left to read after the walk (COUNT of them). */
  plan: SharedArrayBuffer;
  /** Uint8 per chunk: 1 once the chunk is verified in place. */
  done: SharedArrayBuffer;
  /**
   * The planned chunks are read from this file (the entry cache,
   * entry-cache.ts: the plain bytes at the same offsets) and checked against
   * their digests, instead of being read out of the store; null: the store.
   */
  cacheFile: string | null;
}

// Slots of `state`.
/** Next index of the plan to take. */
const NEXT = 0;
/** Plan entries finished (read or failed). */
const FINISHED = 1;
/** 1 once a chunk failed. */
const FAILED = 2;
/** Who walks the section headers: 0 nobody yet, then MAIN or HELPER (compare-and-swap). */
const WALKER = 3;
/** WALKING until the plan is published (PLANNED) or the walk failed (WALK_FAILED). */
const PHASE = 4;
/** Length of the plan. */
const COUNT = 5;
const STATE_SLOTS = 6;

const MAIN = 1;
const HELPER = 2;
const WALKING = 0;
const PLANNED = 1;
const WALK_FAILED = 2;

/** How long one thread waits for the other (its walk, or its last chunk) before giving up on the early read. */
const HELPER_TIMEOUT_MS = 30_000;

/** Index of the chunk holding byte `at` of the file. */
function chunkAt(job: EntryReadJob, at: number): number {
  const { chunks } = job;
  let lo = 0;
  let hi = chunks.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (chunks[mid]!.at <= at) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** The file's bytes [start, end), reading (verified) the chunks under them that are not in place yet. */
function reader(job: EntryReadJob, store: ObjectStore): (start: number, end: number) => Uint8Array {
  const view = new Uint8Array(job.bytes);
  const done = new Uint8Array(job.done);
  return (start, end) => {
    for (let k = chunkAt(job, start); k < job.chunks.length && job.chunks[k]!.at < end; k++) {
      if (Atomics.load(done, k) !== 0) continue;
      const c = job.chunks[k]!;
      readChunkInto(store, c.digest, view.subarray(c.at, c.at + c.size), nodeDecoders, nodeHasher);
      Atomics.store(done, k, 1);
    }
    return view.subarray(start, Math.min(end, view.length));
  };
}

/**
 * Walks the section headers (reading the chunks they are in) and publishes
 * the plan: every chunk up to the end of the last needed section that the
 * walk did not read, in file order. Chunks that hold only a custom section
 * between needed ones are read too, so that a run leaves a whole prefix of
 * the file for the entry cache. Throws what the walk threw, after marking
 * the walk failed.
 */
function walkAndPlan(job: EntryReadJob, store: ObjectStore): void {
  const state = new Int32Array(job.state);
  try {
    const sections = runnableSections(reader(job, store), job.bytes.byteLength, { customs: [], tail: 0 });
    const done = new Uint8Array(job.done);
    const plan = new Int32Array(job.plan);
    const last = chunkAt(job, Math.max(8, sections.at(-1)?.end ?? 0) - 1);
    let n = 0;
    for (let k = 0; k <= last; k++) if (done[k] === 0) plan[n++] = k;
    Atomics.store(state, COUNT, n);
    Atomics.store(state, PHASE, PLANNED);
  } catch (e) {
    Atomics.store(state, FAILED, 1);
    Atomics.store(state, PHASE, WALK_FAILED);
    throw e;
  } finally {
    Atomics.notify(state, PHASE);
  }
}

/** Reads `range.length` bytes of the cached file at `at` into `range`, then checks them against `digest`. */
function readCached(fd: number, range: Uint8Array, at: number, digest: string): void {
  for (let got = 0; got < range.length;) {
    const n = readSync(fd, range, got, range.length - got, at + got);
    if (n === 0) throw new Error('the cached file ends early');
    got += n;
  }
  if (sha256Digest(range) !== digest) throw new Error(`chunk ${digest}: the cached bytes differ`);
}

/** Takes chunks of the plan and reads each, verified, into its place, until none is left or one fails. */
function readClaimed(job: EntryReadJob, store: ObjectStore): void {
  const state = new Int32Array(job.state);
  const plan = new Int32Array(job.plan);
  const done = new Uint8Array(job.done);
  const bytes = new Uint8Array(job.bytes);
  const n = Atomics.load(state, COUNT);
  let fd: number | undefined;
  try {
    for (;;) {
      const i = Atomics.add(state, NEXT, 1);
      if (i >= n) return;
      const k = plan[i]!;
      const c = job.chunks[k]!;
      let ok = true;
      try {
        const range = bytes.subarray(c.at, c.at + c.size);
        if (job.cacheFile === null) readChunkInto(store, c.digest, range, nodeDecoders, nodeHasher);
        else readCached((fd ??= openSync(job.cacheFile, 'r')), range, c.at, c.digest);
        Atomics.store(done, k, 1);
      } catch {
        ok = false;
        Atomics.store(state, FAILED, 1);
        Atomics.store(state, NEXT, n); // the other thread stops taking chunks
      }
      Atomics.add(state, FINISHED, 1);
      Atomics.notify(state, FINISHED);
      if (!ok) return;
    }
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * This thread's share of a read from the entry cache. Each read goes to
 * libuv's thread pool, a megabyte of consecutive chunks at a time
 * (SharedEntryRead.pipelineBytes), and the
 * next one is under way while this thread checks the last: reading (the
 * kernel's copy, as much CPU as the SHA-256) and checking overlap. Measured
 * on Flite's 17 MB entry, alone: 18–21 ms against 25–32 ms reading and
 * checking one chunk after the other. The helper (another thread already)
 * reads its chunks synchronously.
 */
async function readCachedPipelined(job: EntryReadJob): Promise<void> {
  const state = new Int32Array(job.state);
  const plan = new Int32Array(job.plan);
  const done = new Uint8Array(job.done);
  const bytes = new Uint8Array(job.bytes);
  const n = Atomics.load(state, COUNT);
  const fd = openSync(job.cacheFile!, 'r');

  interface Batch {
    /** Plan indexes [from, to). */
    from: number;
    to: number;
    read: Promise<void>;
  }
  const readRange = async (at: number, end: number): Promise<void> => {
    while (at < end) {
      const got = await new Promise<number>((resolve, reject) =>
        read(fd, bytes, at, end - at, at, (e, count) => (e ? reject(e) : resolve(count))),
      );
      if (got === 0) throw new Error('the cached file ends early');
      at += got;
    }
  };
  /** Takes the next plan entries (consecutive chunks, up to PIPELINE_BYTES) and starts reading them. */
  const claim = (): Batch | null => {
    const from = Atomics.add(state, NEXT, 1);
    if (from >= n) return null;
    let to = from + 1;
    let size = job.chunks[plan[from]!]!.size;
    // Only entries no other thread can have taken: extend by compare-and-swap on NEXT.
    while (to < n && plan[to] === plan[to - 1]! + 1 && size < SharedEntryRead.pipelineBytes) {
      if (Atomics.compareExchange(state, NEXT, to, to + 1) !== to) break;
      size += job.chunks[plan[to]!]!.size;
      to++;
    }
    const first = job.chunks[plan[from]!]!;
    const last = job.chunks[plan[to - 1]!]!;
    const read = readRange(first.at, last.at + last.size);
    read.catch(() => {}); // handled where it is awaited
    return { from, to, read };
  };
  const finish = (b: Batch) => {
    Atomics.add(state, FINISHED, b.to - b.from);
    Atomics.notify(state, FINISHED);
  };

  let current = claim();
  let failed = false;
  try {
    while (current) {
      const b: Batch = current;
      let ok = !failed;
      if (ok) {
        try {
          await b.read;
        } catch {
          ok = false;
        }
      } else await b.read.catch(() => {});
      current = ok ? claim() : null;
      for (let i = b.from; ok && i < b.to; i++) {
        const c = job.chunks[plan[i]!]!;
        if (sha256Digest(bytes.subarray(c.at, c.at + c.size)) === c.digest) Atomics.store(done, plan[i]!, 1);
        else ok = false;
      }
      if (!ok && !failed) {
        failed = true;
        Atomics.store(state, FAILED, 1);
        Atomics.store(state, NEXT, n); // the other thread stops taking chunks
      }
      finish(b);
    }
  } finally {
    // A read still under way (after a failure) lands in the buffer before the file is closed.
    if (current) await current.read.catch(() => {});
    closeSync(fd);
  }
}

/**
 * The helper's side (the guest's worker): walks the headers if the main
 * thread has not started to, else waits for its plan; then takes chunks
 * until none is left. A failure here is the main thread's to report (it
 * sees FAILED, or the walk failed); nothing is thrown.
 */
export function helpRead(job: EntryReadJob, store: ObjectStore): void {
  const state = new Int32Array(job.state);
  if (Atomics.compareExchange(state, WALKER, 0, HELPER) === 0) {
    try {
      walkAndPlan(job, store);
    } catch {
      return;
    }
  } else if (Atomics.wait(state, PHASE, WALKING, HELPER_TIMEOUT_MS) === 'timed-out') return;
  if (Atomics.load(state, PHASE) === PLANNED) readClaimed(job, store);
}

// Node 20 has Atomics.waitAsync; TypeScript's ES2022 lib does not declare it.
type WaitAsync = (
  a: Int32Array,
  index: number,
  value: number,
  timeout: number,
) => { async: false; value: string } | { async: true; value: Promise<string> };

/** Resolves once state[index] is no longer `value`; false when that took longer than the timeout. */
async function changed(state: Int32Array, index: number, value: number): Promise<boolean> {
  const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;
  const w = waitAsync(state, index, value, HELPER_TIMEOUT_MS);
  return (w.async ? await w.value : w.value) !== 'timed-out';
}

/** The entry's runnable bytes, being read by a helper (from now on) and by this thread (when asked). */
export class SharedEntryRead {
  /** How much of the entry cache's file one read on the thread pool takes (whole chunks). */
  static pipelineBytes = 1 << 20;

  private constructor(
    private readonly job: EntryReadJob,
    private readonly store: ObjectStore,
    private readonly layout: ModuleLayout,
    /** The entry's key in the entry cache ('' when no cache was given). */
    readonly cacheKey: string,
  ) {}

  /** True when the bytes come from the entry cache (a failure then means the cached file, not the store). */
  get fromCache(): boolean {
    return this.job.cacheFile !== null;
  }

  /**
   * Sets up the shared buffers and offers the job to `helper`, which returns
   * false when it cannot take it. With `cache`, when it holds a copy of the
   * entry's first chunks, the job is to read those from it and check them.
   * Nothing is read on this thread yet. `layout` is filled in by `bytes`, as
   * runnableBytes would fill it.
   */
  static start(
    store: ObjectStore,
    root: string,
    chunks: ChunkRef[],
    layout: ModuleLayout,
    helper?: (job: EntryReadJob) => boolean,
    cache?: EntryCache,
  ): SharedEntryRead {
    let size = 0;
    const list: EntryReadJob['chunks'] = chunks.map((c) => {
      const at = size;
      size += c.size;
      return { digest: c.digest, size: c.size, at };
    });
    const job: EntryReadJob = {
      root,
      chunks: list,
      // The whole file's size is reserved; pages past the last chunk read are never touched.
      bytes: new SharedArrayBuffer(size),
      state: new SharedArrayBuffer(STATE_SLOTS * 4),
      plan: new SharedArrayBuffer(Math.max(1, list.length) * 4),
      done: new SharedArrayBuffer(Math.max(1, list.length)),
      cacheFile: null,
    };
    const key = cache ? entryCacheKey(chunks) : '';
    const cached = cache ? cache.covered(key, chunks) : 0;
    if (cached > 0) {
      // No walk: the plan is the cached chunks; the headers are read from them afterwards.
      job.cacheFile = cache!.pathOf(key);
      const state = new Int32Array(job.state);
      const plan = new Int32Array(job.plan);
      for (let k = 0; k < cached; k++) plan[k] = k;
      state[COUNT] = cached;
      state[WALKER] = MAIN;
      state[PHASE] = PLANNED;
    }
    helper?.(job);
    return new SharedEntryRead(job, store, layout, key);
  }

  /**
   * Walks the headers unless the helper is at it (then waits for its plan),
   * reads what the helper has not taken, waits for what it has, and returns
   * the runnable module (runnableOf: a view of the shared bytes unless a
   * memory limit or an inner custom section needs a copy). Throws when the
   * walk or a chunk failed, or the helper did not finish in time.
   */
  async bytes(memoryPages: number | undefined): Promise<Uint8Array> {
    const state = new Int32Array(this.job.state);
    if (Atomics.compareExchange(state, WALKER, 0, MAIN) === 0) walkAndPlan(this.job, this.store);
    else if (!(await changed(state, PHASE, WALKING)))
      throw new Error('the helper thread did not finish walking the entry');
    if (Atomics.load(state, PHASE) !== PLANNED) throw new Error('a chunk of the entry could not be read');
    if (this.job.cacheFile !== null) await readCachedPipelined(this.job);
    else readClaimed(this.job, this.store);
    const n = Atomics.load(state, COUNT);
    for (;;) {
      const finished = Atomics.load(state, FINISHED);
      if (Atomics.load(state, FAILED) !== 0) throw new Error('a chunk of the entry could not be read');
      if (finished >= n) break;
      if (!(await changed(state, FINISHED, finished)))
        throw new Error('the helper thread did not finish reading the entry');
    }
    // The headers are in verified chunks now (a cached prefix that ends early is read on from the store).
    const sections = runnableSections(reader(this.job, this.store), this.job.bytes.byteLength, this.layout);
    return runnableOf(new Uint8Array(this.job.bytes), sections, memoryPages);
  }

  /** The verified bytes from the file's start up to the first chunk not read: what the entry cache keeps. */
  verifiedPrefix(): Uint8Array {
    const done = new Uint8Array(this.job.done);
    let end = 0;
    for (let k = 0; k < this.job.chunks.length && Atomics.load(done, k) !== 0; k++)
      end = this.job.chunks[k]!.at + this.job.chunks[k]!.size;
    return new Uint8Array(this.job.bytes, 0, end);
  }
}

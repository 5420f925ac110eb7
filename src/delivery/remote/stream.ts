/**
 * The main thread's side of a streamed run (`capsule run URL/NAME`): chunks
 * fetched from the server as the guest reads them, verified (decoded and
 * hashed) and written into the local store, so the next run is local.
 * A launch profile's chunks are prefetched in the background, a few at a
 * time; a chunk the guest is waiting for is fetched at once, ahead of them.
 */
import { chunkVerifier, nodeDecoders, nodeHasher, type Digest } from '../../package/node.js';
import { StoreError, type ObjectStore } from '../../store/types.js';
import { RemoteError, type RemoteClient } from './client.js';
import { withRetry } from './pull.js';

const PREFETCH_PARALLEL = 4;
/** Requests on the wire at once, in all: enough to fill a long fat link, few enough to be polite. */
const NETWORK_PARALLEL = 16;

export class ObjectStreamer {
  private readonly inFlight = new Map<Digest, Promise<void>>();
  private readonly verify = chunkVerifier(nodeDecoders, nodeHasher);
  private queue: Digest[] = [];
  private stopped = false;

  constructor(
    private readonly client: RemoteClient,
    private readonly store: ObjectStore,
  ) {}

  private active = 0;
  private readonly waiting: (() => void)[] = [];

  /**
   * Fetches a chunk into the store (shared with a fetch already under way);
   * rejects if it cannot. `urgent` (the guest waits for it) goes ahead of
   * prefetches in the queue for a network slot.
   */
  fetch(digest: Digest, urgent = true): Promise<void> {
    if (this.store.has(digest)) return Promise.resolve();
    let p = this.inFlight.get(digest);
    if (!p) {
      p = this.inSlot(digest, () => this.fetchOnce(digest), urgent).finally(() =>
        this.inFlight.delete(digest),
      );
      this.inFlight.set(digest, p);
    } else if (urgent) {
      // Queued as a prefetch, and now the guest waits for it: to the front.
      const turn = this.queued.get(digest);
      const at = turn ? this.waiting.indexOf(turn) : -1;
      if (at > 0) this.waiting.unshift(...this.waiting.splice(at, 1));
    }
    return p;
  }

  /** Prefetches waiting for a network slot, by digest (their turn in `waiting`). */
  private readonly queued = new Map<Digest, () => void>();

  private async inSlot<T>(digest: Digest, work: () => Promise<T>, urgent: boolean): Promise<T> {
    if (this.active >= NETWORK_PARALLEL) {
      await new Promise<void>((resolve) => {
        if (urgent) this.waiting.unshift(resolve);
        else {
          this.waiting.push(resolve);
          this.queued.set(digest, resolve);
        }
      });
      this.queued.delete(digest);
    }
    this.active++;
    try {
      return await work();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }

  private async fetchOnce(digest: Digest): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const { bytes } = await withRetry(() => this.client.bytes(`/objects/${digest}`));
      try {
        await this.keep(digest, bytes);
        return;
      } catch (e) {
        if (!(e instanceof StoreError && e.code === 'CORRUPT')) throw e;
        if (attempt >= 1)
          throw new RemoteError('BAD_RESPONSE', `the server sent a corrupt copy of ${digest}, twice`);
      }
    }
  }

  /**
   * Verifies and stores a fetched object. Through a one-object batch where
   * the store has them, so its fsync runs on libuv's thread pool instead of
   * blocking this thread, which also serves the guest's bridge.
   */
  private async keep(digest: Digest, bytes: Uint8Array): Promise<void> {
    if (!this.store.beginBatch) return this.store.write(digest, bytes, this.verify);
    const batch = this.store.beginBatch();
    try {
      batch.write(digest, bytes, this.verify);
      await batch.commit();
    } catch (e) {
      await batch.abort();
      throw e;
    }
  }

  /** Prefetches these chunks in order in the background; failures are left to the on-demand path. */
  prefetch(digests: Digest[]): void {
    this.queue.push(...digests);
    for (let i = 0; i < PREFETCH_PARALLEL; i++) void this.drain();
  }

  private async drain(): Promise<void> {
    for (let d = this.queue.shift(); d !== undefined && !this.stopped; d = this.queue.shift()) {
      try {
        await this.fetch(d, false);
      } catch {
        // The guest may never read it; if it does, the on-demand fetch reports the problem.
      }
    }
  }

  stop(): void {
    this.stopped = true;
    this.queue = [];
  }
}

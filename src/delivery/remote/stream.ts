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

export class ObjectStreamer {
  private readonly inFlight = new Map<Digest, Promise<void>>();
  private readonly verify = chunkVerifier(nodeDecoders, nodeHasher);
  private queue: Digest[] = [];
  private stopped = false;

  constructor(
    private readonly client: RemoteClient,
    private readonly store: ObjectStore,
  ) {}

  /** Fetches a chunk into the store (shared with a fetch already under way); rejects if it cannot. */
  fetch(digest: Digest): Promise<void> {
    if (this.store.has(digest)) return Promise.resolve();
    let p = this.inFlight.get(digest);
    if (!p) {
      p = this.fetchOnce(digest).finally(() => this.inFlight.delete(digest));
      this.inFlight.set(digest, p);
    }
    return p;
  }

  private async fetchOnce(digest: Digest): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const { bytes } = await withRetry(() => this.client.bytes(`/objects/${digest}`));
      try {
        this.store.write(digest, bytes, this.verify);
        return;
      } catch (e) {
        if (!(e instanceof StoreError && e.code === 'CORRUPT')) throw e;
        if (attempt >= 1)
          throw new RemoteError('BAD_RESPONSE', `the server sent a corrupt copy of ${digest}, twice`);
      }
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
        await this.fetch(d);
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

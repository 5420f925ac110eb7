/**
 * The page's side of chunk streaming: fetch a chunk from the server, decode
 * it (fzstd, through package/codec.ts) and check the SHA-256 of the plain
 * bytes with WebCrypto, which is asynchronous and so runs here, on the main
 * thread, never in the guest's worker. Only verified bytes enter the cache
 * the worker copies from; a chunk that fails twice is refused, and the
 * guest sees EIO.
 */
import { decodeChunk, portableDecoders } from '../../package/codec.js';
import { DIGEST_RE } from '../../package/types.js';
import { RemoteError, type RemoteClient } from '../../delivery/remote/client.js';
import { sha256Hex } from './digest.js';

const PREFETCH_PARALLEL = 4;
/** Verified plain bytes kept for the worker and the compiler; least recently used go first. */
const CACHE_BYTES = 96 * 2 ** 20;

export class ChunkFetcher {
  private readonly cache = new Map<string, Uint8Array>();
  private cachedBytes = 0;
  private readonly inFlight = new Map<string, Promise<Uint8Array>>();
  private queue: string[] = [];
  private stopped = false;
  /** Bytes received from the server (stored form) and chunks verified, for benchmarks and the status line. */
  fetchedBytes = 0;
  fetchedChunks = 0;

  constructor(private readonly client: RemoteClient) {}

  /** The verified plain bytes, if they are here now. */
  get(digest: string): Uint8Array | undefined {
    const hit = this.cache.get(digest);
    if (hit) {
      this.cache.delete(digest);
      this.cache.set(digest, hit);
    }
    return hit;
  }

  /** The verified plain bytes, fetched if needed (shared with a fetch already under way). */
  fetch(digest: string): Promise<Uint8Array> {
    const hit = this.get(digest);
    if (hit) return Promise.resolve(hit);
    let p = this.inFlight.get(digest);
    if (!p) {
      p = this.fetchOnce(digest).finally(() => this.inFlight.delete(digest));
      this.inFlight.set(digest, p);
    }
    return p;
  }

  private async fetchOnce(digest: string): Promise<Uint8Array> {
    if (!DIGEST_RE.test(digest))
      throw new RemoteError('BAD_RESPONSE', `not a digest: ${digest.slice(0, 80)}`);
    let problem = '';
    for (let attempt = 0; attempt < 2; attempt++) {
      const { bytes } = await this.client.bytes(`/objects/${digest}`);
      this.fetchedBytes += bytes.length;
      try {
        const plain = decodeChunk(bytes, portableDecoders);
        if (`sha256:${await sha256Hex(plain)}` !== digest) {
          problem = 'its bytes have another digest';
          continue;
        }
        this.fetchedChunks++;
        this.remember(digest, plain);
        return plain;
      } catch (e) {
        problem = (e as Error).message;
      }
    }
    throw new RemoteError('BAD_RESPONSE', `the server sent a corrupt copy of ${digest}, twice (${problem})`);
  }

  private remember(digest: string, plain: Uint8Array): void {
    this.cache.set(digest, plain);
    this.cachedBytes += plain.length;
    for (const [d, b] of this.cache) {
      if (this.cachedBytes <= CACHE_BYTES || this.cache.size === 1) break;
      this.cache.delete(d);
      this.cachedBytes -= b.length;
    }
  }

  /** Fetches these in order in the background (a launch profile); failures are left to the on-demand path. */
  prefetch(digests: string[]): void {
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

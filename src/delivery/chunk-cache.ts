/**
 * A cache of decoded, verified chunks in front of a store: the ChunkSource
 * that package layers read file bytes through. Chunks are immutable and
 * named by content, so a cached chunk is always right; the cache only
 * bounds memory (least recently used goes first).
 */
import type { ChunkSource } from '../vfs/layer.js';

export const DEFAULT_CACHE_BYTES = 256 * 1024 * 1024;

export class ChunkCache implements ChunkSource {
  private readonly map = new Map<string, Uint8Array>();
  private bytes = 0;
  hits = 0;
  misses = 0;

  constructor(
    private readonly load: (digest: string, size: number) => Uint8Array,
    private readonly capacity = DEFAULT_CACHE_BYTES,
  ) {}

  read(digest: string, size: number): Uint8Array {
    const hit = this.map.get(digest);
    if (hit) {
      this.hits++;
      // Map keeps insertion order: re-inserting marks it most recently used.
      this.map.delete(digest);
      this.map.set(digest, hit);
      return hit;
    }
    this.misses++;
    const bytes = this.load(digest, size);
    this.map.set(digest, bytes);
    this.bytes += bytes.length;
    for (const [d, b] of this.map) {
      if (this.bytes <= this.capacity || this.map.size === 1) break;
      this.map.delete(d);
      this.bytes -= b.length;
    }
    return bytes;
  }
}

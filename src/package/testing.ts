/**
 * A small in-memory ObjectStore for the package layer's tests and benchmarks.
 * It follows the ObjectStore contract (store/types.ts): verify on read and on
 * write, writes of existing objects are no-ops. `tamper` lets tests flip
 * stored bytes behind the store's back.
 */
import { StoreError, type ObjectStore, type Verifier } from '../store/types.js';
import { digestOf, type Hasher } from './hash.js';
import type { Digest } from './types.js';

export class MemoryObjectStore implements ObjectStore {
  private readonly objects = new Map<Digest, Uint8Array>();

  constructor(private readonly hasher: Hasher) {}

  private defaultVerify: Verifier = (digest, bytes) => digestOf(bytes, this.hasher) === digest;

  has(digest: Digest): boolean {
    return this.objects.has(digest);
  }

  read(digest: Digest, verify: Verifier = this.defaultVerify): Uint8Array {
    const bytes = this.objects.get(digest);
    if (!bytes) throw new StoreError('NOT_FOUND', `object ${digest} not found`, digest);
    if (!verify(digest, bytes)) throw new StoreError('CORRUPT', `object ${digest} is corrupt`, digest);
    return bytes;
  }

  write(digest: Digest, bytes: Uint8Array, verify: Verifier = this.defaultVerify): void {
    if (this.objects.has(digest)) return;
    if (!verify(digest, bytes)) throw new StoreError('CORRUPT', `bytes do not match ${digest}`, digest);
    this.objects.set(digest, bytes.slice());
  }

  delete(digest: Digest): void {
    this.objects.delete(digest);
  }

  list(): Iterable<Digest> {
    return [...this.objects.keys()];
  }

  size(digest: Digest): number | null {
    return this.objects.get(digest)?.length ?? null;
  }

  /** Test hook: XORs one stored byte with `mask`. */
  tamper(digest: Digest, offset: number, mask = 0x01): void {
    const bytes = this.objects.get(digest);
    if (!bytes || offset >= bytes.length) throw new Error(`cannot tamper with ${digest} at ${offset}`);
    bytes[offset]! ^= mask;
  }

  /** Sum of stored sizes. */
  totalBytes(): number {
    let n = 0;
    for (const b of this.objects.values()) n += b.length;
    return n;
  }
}

/**
 * Deterministic pseudo-random bytes (xorshift32 from a string seed), so tests
 * and benchmarks need no fixtures and get the same data on every machine.
 */
export function randomBytes(n: number, seed = 'seed'): Uint8Array {
  let x = 0x9e3779b9;
  for (let i = 0; i < seed.length; i++) x = Math.imul(x ^ seed.charCodeAt(i), 0x01000193) | 0;
  if (x === 0) x = 1;
  const out = new Uint8Array(n);
  const words = new Uint32Array(out.buffer, 0, n >>> 2);
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x;
  }
  for (let i = words.length * 4; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

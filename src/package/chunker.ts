/**
 * Content-defined chunking: FastCDC (Xia et al., USENIX ATC 2016) with a gear
 * rolling hash and normalized chunking.
 *
 * The rolling hash is `h = (h << 1) + GEAR[byte]` over 32 bits, so bit k of h
 * depends on the last k+1 bytes only. The masks therefore take their bits
 * from the top of the word (a 32-byte window for the highest bit) rather than
 * the bottom. A cut is made after byte i when `(h & mask) === 0`:
 *   - no cut is looked for in the first `min` bytes of a chunk;
 *   - from `min` to `avg`, the strict mask (log2(avg) + level bits) is used;
 *   - from `avg` to `max`, the loose mask (log2(avg) - level bits) is used;
 *   - at `max`, the chunk is cut regardless.
 * Normalized chunking (the two masks) pulls chunk sizes towards `avg`.
 *
 * The gear table, the masks and the parameters decide every boundary, so they
 * are part of the format: changing any of them changes chunk digests (not
 * correctness, only dedup against older packages). See docs/chunking.md.
 */

import { gearScan } from './gear-scan.js';

export interface ChunkParams {
  /** Smallest chunk, except a file's last one. */
  min: number;
  /** Target average; must be a power of two. */
  avg: number;
  /** Largest chunk. */
  max: number;
  /** Normalization level: bits added to / removed from the masks. */
  level: number;
}

/** Chosen by measurement (docs/chunking.md). */
export const DEFAULT_CHUNK_PARAMS: Readonly<ChunkParams> = Object.freeze({
  min: 16 * 1024,
  avg: 64 * 1024,
  max: 256 * 1024,
  level: 2,
});

/**
 * The gear table: 256 pseudo-random 32-bit words from a fixed seed, derived
 * here rather than pasted. GEAR[i] = mix32(SEED + (i + 1) * 0x9e3779b9 mod
 * 2^32), where mix32 is the "lowbias32" integer finalizer
 * (x ^= x >>> 16; x *= 0x7feb352d; x ^= x >>> 15; x *= 0x846ca68b; x ^= x >>> 16).
 */
export const GEAR_SEED = 0x43415053; // "CAPS"

function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x | 0;
}

/** Int32Array so that `(h << 1) + GEAR[b] | 0` stays in small-integer arithmetic. */
export const GEAR: Int32Array = (() => {
  const t = new Int32Array(256);
  for (let i = 0; i < 256; i++) t[i] = mix32((GEAR_SEED + Math.imul(i + 1, 0x9e3779b9)) | 0);
  return t;
})();

/** `bits` one-bits at the top of a 32-bit word, as an int32. */
function topMask(bits: number): number {
  if (bits <= 0) return 0;
  if (bits >= 32) return -1;
  return (-1 << (32 - bits)) | 0;
}

export function checkChunkParams(p: ChunkParams): void {
  const bits = Math.log2(p.avg);
  const ok =
    Number.isInteger(p.min) &&
    Number.isInteger(p.max) &&
    Number.isInteger(bits) &&
    Number.isInteger(p.level) &&
    p.min >= 64 &&
    p.min <= p.avg &&
    p.avg <= p.max &&
    p.max <= 1 << 30 &&
    p.level >= 0 &&
    bits - p.level >= 1 &&
    bits + p.level <= 31;
  if (!ok) throw new RangeError(`bad chunk parameters ${JSON.stringify(p)}`);
}

/**
 * Finds chunk boundaries in a byte stream. `cut` is pure: it looks only at the
 * bytes it is given, so a caller can stream a file through a window as long
 * as it always offers at least `max` bytes (or everything that is left).
 */
export class Chunker {
  readonly params: Readonly<ChunkParams>;
  private readonly maskS: number;
  private readonly maskL: number;

  constructor(params: ChunkParams = DEFAULT_CHUNK_PARAMS) {
    checkChunkParams(params);
    this.params = Object.freeze({ ...params });
    const bits = Math.log2(params.avg);
    this.maskS = topMask(bits + params.level);
    this.maskL = topMask(bits - params.level);
  }

  /**
   * Length of the chunk that starts at `start`, looking at `buf[start, end)`.
   * When fewer than `max` bytes are offered, the caller must be at the end of
   * its data: the rest is one chunk if no boundary is found.
   */
  cut(buf: Uint8Array, start: number, end: number): number {
    const { min, avg, max } = this.params;
    let n = end - start;
    if (n <= min) return n;
    if (n > max) n = max;
    const normal = n < avg ? n : avg;
    const fast = gearScan(GEAR, buf, start, min, normal, n, this.maskS, this.maskL);
    if (fast !== null) return fast;
    return this.cutJs(buf, start, min, normal, n);
  }

  /** The scan in JavaScript: the reference the kernel (gear-scan.ts) is tested against, and its fallback. */
  cutJs(buf: Uint8Array, start: number, min: number, normal: number, n: number): number {
    const gear = GEAR;
    const maskS = this.maskS;
    const maskL = this.maskL;
    let h = 0;
    let i = start + min;
    const stopS = start + normal;
    const stopL = start + n;
    // The first `min` bytes are skipped, not hashed: the 32-byte window of the
    // gear hash makes the boundary depend only on the bytes just before it.
    // Each loop is unrolled by two, which V8 runs about 25% faster.
    for (; i + 1 < stopS; i += 2) {
      h = ((h << 1) + gear[buf[i]!]!) | 0;
      if ((h & maskS) === 0) return i + 1 - start;
      h = ((h << 1) + gear[buf[i + 1]!]!) | 0;
      if ((h & maskS) === 0) return i + 2 - start;
    }
    for (; i < stopS; i++) {
      h = ((h << 1) + gear[buf[i]!]!) | 0;
      if ((h & maskS) === 0) return i + 1 - start;
    }
    for (; i + 1 < stopL; i += 2) {
      h = ((h << 1) + gear[buf[i]!]!) | 0;
      if ((h & maskL) === 0) return i + 1 - start;
      h = ((h << 1) + gear[buf[i + 1]!]!) | 0;
      if ((h & maskL) === 0) return i + 2 - start;
    }
    for (; i < stopL; i++) {
      h = ((h << 1) + gear[buf[i]!]!) | 0;
      if ((h & maskL) === 0) return i + 1 - start;
    }
    return n;
  }

  /** Chunk lengths of a whole buffer, in order. */
  lengths(buf: Uint8Array): number[] {
    const out: number[] = [];
    let pos = 0;
    while (pos < buf.length) {
      const len = this.cut(buf, pos, buf.length);
      out.push(len);
      pos += len;
    }
    return out;
  }
}

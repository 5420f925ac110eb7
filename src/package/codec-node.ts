/**
 * Node adapter for chunk encoding: zstd through zstd-napi (native libzstd),
 * gzip through node:zlib. Encoding only happens when packing, so only Node
 * needs the encoder.
 *
 * zstd-napi (its native binding: ~18 ms to load) is loaded on the first zstd
 * chunk encoded or decoded, not on import, so commands that read no zstd
 * chunk do not pay for it.
 */
import { createRequire } from 'node:module';
import { frameChunk, rawChunk, type ChunkDecoders } from './codec.js';
import { ChunkEncoding } from './types.js';

/** zstd level 3: see docs/chunking.md for why. */
export const DEFAULT_ZSTD_LEVEL = 3;

// node:zlib too is loaded on first use: a package run (whose chunks are zstd) never needs it.
let zlib: typeof import('node:zlib') | undefined;
const nodeZlib = (): typeof import('node:zlib') =>
  (zlib ??= createRequire(import.meta.url)('node:zlib') as typeof import('node:zlib'));

let zstd: typeof import('zstd-napi') | undefined;
const zstdNapi = (): typeof import('zstd-napi') =>
  (zstd ??= createRequire(import.meta.url)('zstd-napi') as typeof import('zstd-napi'));

// Decoding into a caller's buffer needs the binding's DCtx (the package's
// Decompressor always allocates); one context per thread, reused.
interface DCtx {
  /** ZSTD_decompressDCtx: decodes whole frames from `src` into `dst`; returns the bytes written. */
  decompress(dst: Uint8Array, src: Uint8Array): number;
}
let dctx: DCtx | undefined;
const zstdContext = (): DCtx =>
  (dctx ??= new (createRequire(import.meta.url)('zstd-napi/binding') as { DCtx: new () => DCtx }).DCtx());

/** Plain Uint8Array views: a Buffer's `slice` shares memory, a trap for callers expecting a copy. */
const view = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.length);

export const nodeDecoders: ChunkDecoders = {
  zstd: (payload) => view(zstdNapi().decompress(payload)),
  gzip: (payload, maxSize) => view(nodeZlib().gunzipSync(payload, { maxOutputLength: maxSize })),
  zstdInto: (payload, out) => zstdContext().decompress(out, payload),
};

export type EncodeCodec = 'zstd' | 'gzip' | 'raw';

/** The stored form of `plain`, compressed unless that saves less than 5%. */
export function encodeChunk(
  plain: Uint8Array,
  codec: EncodeCodec = 'zstd',
  level = DEFAULT_ZSTD_LEVEL,
): Uint8Array {
  switch (codec) {
    case 'zstd':
      // The one-shot API writes the content size into the frame header, which readers require.
      return frameChunk(plain, ChunkEncoding.ZSTD, zstdNapi().compress(plain, { compressionLevel: level }));
    case 'gzip':
      return frameChunk(plain, ChunkEncoding.GZIP, nodeZlib().gzipSync(plain, { level: Math.min(9, level) }));
    case 'raw':
      return rawChunk(plain);
  }
}

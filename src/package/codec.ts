/**
 * Chunk encoding (the stored form, see `ChunkEncoding` in types.ts): one
 * header byte, then the payload. This file is platform-neutral: it frames and
 * unframes, and decodes through injected `ChunkDecoders`. `portableDecoders`
 * (fzstd, pure JS) works anywhere; codec-node.ts has the fast native ones and
 * the encoder.
 *
 * Why zstd (docs/chunking.md has the numbers): at level 3 it compresses the
 * real trees about as well as gzip-6 or brotli-5 while being 5x faster to
 * compress and 2-3x faster to decompress, and the browser can decode it with
 * fzstd. A chunk is stored RAW unless encoding saves at least 5%, because
 * decoding costs time on every read and a few percent of space is not worth it.
 */
import { decompress as fzstdDecompress } from 'fzstd';
import { PackageError } from './errors.js';
import { ChunkEncoding, MAX_CHUNK_SIZE } from './types.js';

/** Encode only when the result is at most this share of the plain size. */
export const MAX_ENCODED_SHARE = 0.95;

export interface ChunkDecoders {
  /** Decodes one zstd frame whose content size has been checked to be `size`. */
  zstd(payload: Uint8Array, size: number): Uint8Array;
  /** Decodes one gzip member into at most `maxSize` bytes; absent where unsupported. */
  gzip?(payload: Uint8Array, maxSize: number): Uint8Array;
  /**
   * Decodes one zstd frame whose content size has been checked to be
   * `out.length` straight into `out`, returning the bytes written. Optional:
   * without it, decodeChunkInto decodes and copies.
   */
  zstdInto?(payload: Uint8Array, out: Uint8Array): number;
}

export const portableDecoders: ChunkDecoders = {
  zstd: (payload) => fzstdDecompress(payload),
};

const ZSTD_MAGIC = 0xfd2fb528;

/**
 * The Frame_Content_Size of a zstd frame (RFC 8878, 3.1.1.1), or null when
 * the header is malformed or does not state it. Read before decoding, so a
 * hostile frame cannot make the decoder allocate more than MAX_CHUNK_SIZE.
 */
export function zstdContentSize(frame: Uint8Array): number | null {
  if (frame.length < 6) return null;
  const magic = (frame[0]! | (frame[1]! << 8) | (frame[2]! << 16) | (frame[3]! << 24)) >>> 0;
  if (magic !== ZSTD_MAGIC) return null;
  const fhd = frame[4]!;
  const fcsFlag = fhd >> 6;
  const singleSegment = (fhd >> 5) & 1;
  if ((fhd >> 3) & 1) return null; // reserved bit
  const dictIdSize = [0, 1, 2, 4][fhd & 3]!;
  const fcsSize = [singleSegment, 2, 4, 8][fcsFlag]!;
  if (fcsSize === 0) return null;
  const at = 5 + (singleSegment ? 0 : 1) + dictIdSize;
  if (frame.length < at + fcsSize) return null;
  let size = 0;
  for (let i = fcsSize - 1; i >= 0; i--) size = size * 256 + frame[at + i]!;
  return fcsSize === 2 ? size + 256 : size;
}

/** The stored form of `plain` with no compression. */
export function rawChunk(plain: Uint8Array): Uint8Array {
  const out = new Uint8Array(plain.length + 1);
  out[0] = ChunkEncoding.RAW;
  out.set(plain, 1);
  return out;
}

/**
 * The stored form given a candidate payload: `encoding` + payload if the
 * payload is small enough to be worth decoding, RAW otherwise.
 */
export function frameChunk(plain: Uint8Array, encoding: number, payload: Uint8Array): Uint8Array {
  if (payload.length > plain.length * MAX_ENCODED_SHARE) return rawChunk(plain);
  const out = new Uint8Array(payload.length + 1);
  out[0] = encoding;
  out.set(payload, 1);
  return out;
}

export function encodingOf(stored: Uint8Array): number {
  if (stored.length === 0) throw new PackageError('CORRUPT_CHUNK', 'empty stored chunk (no header byte)');
  return stored[0]!;
}

/**
 * The plain bytes of a stored chunk. Throws CORRUPT_CHUNK when it does not
 * decode or is larger than MAX_CHUNK_SIZE, UNSUPPORTED_ENCODING for unknown
 * header bytes. The digest is not checked here (chunk-io.ts does that).
 */
export function decodeChunk(stored: Uint8Array, decoders: ChunkDecoders): Uint8Array {
  const encoding = encodingOf(stored);
  const payload = stored.subarray(1);
  switch (encoding) {
    case ChunkEncoding.RAW:
      if (payload.length > MAX_CHUNK_SIZE)
        throw new PackageError('CORRUPT_CHUNK', 'raw chunk larger than the limit');
      return payload;
    case ChunkEncoding.ZSTD: {
      const size = zstdContentSize(payload);
      if (size === null)
        throw new PackageError('CORRUPT_CHUNK', 'zstd frame without a valid header and content size');
      if (size > MAX_CHUNK_SIZE)
        throw new PackageError('CORRUPT_CHUNK', `zstd frame declares ${size} bytes, over the limit`);
      let plain: Uint8Array;
      try {
        plain = decoders.zstd(payload, size);
      } catch (e) {
        throw new PackageError('CORRUPT_CHUNK', `zstd frame does not decode: ${(e as Error).message}`);
      }
      if (plain.length !== size)
        throw new PackageError('CORRUPT_CHUNK', 'zstd frame decodes to another size than it declares');
      return plain;
    }
    case ChunkEncoding.GZIP:
      if (!decoders.gzip)
        throw new PackageError('UNSUPPORTED_ENCODING', 'gzip chunks cannot be decoded here');
      try {
        return decoders.gzip(payload, MAX_CHUNK_SIZE);
      } catch (e) {
        throw new PackageError('CORRUPT_CHUNK', `gzip member does not decode: ${(e as Error).message}`);
      }
    default:
      throw new PackageError('UNSUPPORTED_ENCODING', `unknown chunk encoding ${encoding}`);
  }
}

/**
 * Decodes a stored chunk into `out`, which must be exactly its plain size
 * (the size its index entry gives): no buffer of its own, no copy with a
 * native zstd decoder. Throws like decodeChunk, and CORRUPT_CHUNK when the
 * plain size is another; `out` may then hold anything. The digest is not
 * checked here.
 */
export function decodeChunkInto(stored: Uint8Array, out: Uint8Array, decoders: ChunkDecoders): void {
  if (encodingOf(stored) === ChunkEncoding.ZSTD && decoders.zstdInto) {
    const payload = stored.subarray(1);
    const size = zstdContentSize(payload);
    if (size !== out.length)
      throw new PackageError(
        'CORRUPT_CHUNK',
        `zstd frame declares ${size ?? 'no'} bytes, the index says ${out.length}`,
      );
    let written: number;
    try {
      written = decoders.zstdInto(payload, out);
    } catch (e) {
      throw new PackageError('CORRUPT_CHUNK', `zstd frame does not decode: ${(e as Error).message}`);
    }
    if (written !== size)
      throw new PackageError('CORRUPT_CHUNK', 'zstd frame decodes to another size than it declares');
    return;
  }
  const plain = decodeChunk(stored, decoders);
  if (plain.length !== out.length)
    throw new PackageError('CORRUPT_CHUNK', `decodes to ${plain.length} bytes, the index says ${out.length}`);
  out.set(plain);
}

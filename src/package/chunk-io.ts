/**
 * Reading chunks out of a store, verified. A chunk's digest names its plain
 * bytes while the store holds the encoded form, so the verifier decodes
 * before it hashes. `readChunk` decodes once: the verifier keeps what it
 * decoded and hands it back, and nothing unverified escapes.
 */
import type { ObjectStore, Verifier } from '../store/types.js';
import { decodeChunk, decodeChunkInto, type ChunkDecoders } from './codec.js';
import { PackageError } from './errors.js';
import { digestOf, type Hasher } from './hash.js';
import type { ChunkRef, Digest } from './types.js';

/** A store Verifier for chunk objects: decodes, then compares the digest of the plain bytes. */
export function chunkVerifier(decoders: ChunkDecoders, hasher: Hasher): Verifier {
  return (digest, stored) => {
    try {
      return digestOf(decodeChunk(stored, decoders), hasher) === digest;
    } catch {
      return false;
    }
  };
}

/**
 * The plain bytes of chunk `ref`, verified against its digest (and its size,
 * when a ChunkRef is given). Throws what the store throws (StoreError
 * NOT_FOUND, or CORRUPT when the bytes do not decode or do not match).
 */
export function readChunk(
  store: ObjectStore,
  ref: ChunkRef | Digest,
  decoders: ChunkDecoders,
  hasher: Hasher,
): Uint8Array {
  const digest = typeof ref === 'string' ? ref : ref.digest;
  const size = typeof ref === 'string' ? undefined : ref.size;
  let plain: Uint8Array | undefined;
  let problem = '';
  store.read(digest, (d, stored) => {
    try {
      const p = decodeChunk(stored, decoders);
      if (size !== undefined && p.length !== size) {
        problem = `decodes to ${p.length} bytes, the index says ${size}`;
        return false;
      }
      if (digestOf(p, hasher) !== d) {
        problem = 'decodes to bytes with another digest';
        return false;
      }
      plain = p;
      return true;
    } catch (e) {
      problem = (e as Error).message;
      return false;
    }
  });
  // A store that ignored the verifier would get here without bytes; never return unverified data.
  if (plain === undefined)
    throw new PackageError('CORRUPT_CHUNK', `chunk ${digest}: ${problem || 'not verified'}`);
  return plain;
}

/**
 * readChunk into `out`, which is exactly the chunk's plain size (from its
 * ChunkRef): decoded in place, then verified there. When this throws, `out`
 * holds unverified bytes and must not be used.
 */
export function readChunkInto(
  store: ObjectStore,
  digest: Digest,
  out: Uint8Array,
  decoders: ChunkDecoders,
  hasher: Hasher,
): void {
  let verified = false;
  let problem = '';
  store.read(digest, (d, stored) => {
    try {
      decodeChunkInto(stored, out, decoders);
      verified = digestOf(out, hasher) === d;
      if (!verified) problem = 'decodes to bytes with another digest';
    } catch (e) {
      verified = false;
      problem = (e as Error).message;
    }
    return verified;
  });
  // As in readChunk: a store that ignored the verifier must not make unverified bytes pass.
  if (!verified) throw new PackageError('CORRUPT_CHUNK', `chunk ${digest}: ${problem || 'not verified'}`);
}

/**
 * Digests. A digest is `sha256:` + 64 lowercase hex digits of the SHA-256 of
 * some bytes (see types.ts). Hashing itself is injected: Node plugs in
 * node:crypto (hash-node.ts), a browser its own synchronous implementation.
 * It is synchronous because the guest's reads are (store/types.ts).
 */
import type { Digest } from './types.js';

export interface Hasher {
  /** The 32-byte SHA-256 of `bytes`. */
  sha256(bytes: Uint8Array): Uint8Array;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += HEX[b]!;
  return s;
}

export function digestOf(bytes: Uint8Array, hasher: Hasher): Digest {
  return `sha256:${toHex(hasher.sha256(bytes))}`;
}

/** The 64 hex digits of a digest, e.g. for a file name. */
export function digestHex(digest: Digest): string {
  return digest.slice('sha256:'.length);
}

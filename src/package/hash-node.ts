/** Node adapter: SHA-256 from node:crypto (OpenSSL, about 1.4 GiB/s here). */
import * as crypto from 'node:crypto';
import { digestOf, type Hasher } from './hash.js';
import type { Digest } from './types.js';

/**
 * One-shot `crypto.hash` (Node 20.12 and later): a few microseconds less per
 * call than a Hash object, which counts for the thousands of small chunks of
 * a pack or a launch. Falls back to createHash on older Nodes.
 */
const oneShot = (crypto as { hash?: typeof crypto.hash }).hash;

export const nodeHasher: Hasher = {
  sha256(bytes: Uint8Array): Uint8Array {
    return oneShot ? oneShot('sha256', bytes, 'buffer') : crypto.createHash('sha256').update(bytes).digest();
  },
};

/** `digestOf` with node:crypto, faster than going through `Hasher` (no byte array in between). */
export function sha256Digest(bytes: Uint8Array): Digest {
  return `sha256:${oneShot ? oneShot('sha256', bytes) : crypto.createHash('sha256').update(bytes).digest('hex')}`;
}

export { digestOf };

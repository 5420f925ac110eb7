/** SHA-256 digests with node:crypto: the default verifier of the Node stores. */
import { createHash } from 'node:crypto';
import type { Digest } from '../../package/types.js';
import type { Verifier } from '../types.js';

export function sha256Digest(bytes: Uint8Array): Digest {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** True when `digest` is the SHA-256 of `bytes` (metadata objects). */
export const verifySha256: Verifier = (digest, bytes) => sha256Digest(bytes) === digest;

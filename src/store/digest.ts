/**
 * Digest checks shared by every store. A digest is validated before it is used
 * for anything (a map key, a file name): `sha256:../../x` must never reach a
 * path, so the check is a full match against DIGEST_RE, nothing looser.
 */
import { DIGEST_RE, type Digest } from '../package/types.js';
import { StoreError, type Verifier } from './types.js';

export function assertDigest(digest: unknown): asserts digest is Digest {
  if (typeof digest !== 'string' || !DIGEST_RE.test(digest)) {
    throw new StoreError('BAD_DIGEST', `not a digest (want sha256:<64 lowercase hex>): ${describe(digest)}`);
  }
}

/** The 64 hex digits of a validated digest. */
export function hexOf(digest: Digest): string {
  return digest.slice('sha256:'.length);
}

/**
 * Runs a verifier and turns every failure into CORRUPT. A verifier that
 * throws (a chunk decoder meeting garbage, say) has found corrupt bytes too;
 * its error is kept as the cause.
 */
export function checkBytes(verify: Verifier, digest: Digest, bytes: Uint8Array, where: string): void {
  let ok: boolean;
  let cause: unknown;
  try {
    ok = verify(digest, bytes);
  } catch (e) {
    ok = false;
    cause = e;
  }
  if (!ok) {
    const why = cause instanceof Error ? `: ${cause.message}` : '';
    throw new StoreError('CORRUPT', `object ${digest} is corrupt (${where})${why}`, digest, { cause });
  }
}

// Hostile input is echoed in messages, so keep it short and printable.
function describe(value: unknown): string {
  if (typeof value !== 'string') return typeof value;
  const shown = JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  return shown;
}

/**
 * Node adapter: detached ed25519 signatures over a manifest digest (the UTF-8
 * bytes of the `sha256:<hex>` string), with node:crypto.
 *
 * Keys: private keys travel as PKCS#8 PEM, public keys as SPKI PEM or as the
 * raw 32-byte key (base64 for humans). A key's id is the digest of its raw
 * 32 bytes, so it does not depend on the PEM wrapping.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign as edSign,
  verify as edVerify,
  type KeyObject,
} from 'node:crypto';
import { PackageError } from './errors.js';
import { sha256Digest } from './hash-node.js';
import { DIGEST_RE, type Digest, type Signature } from './types.js';

export interface KeyPair {
  privatePem: string;
  publicPem: string;
  keyId: Digest;
}

// The SPKI DER of an ed25519 key is this 12-byte prefix followed by the raw 32 bytes (RFC 8410).
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export function generateKeyPair(): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privatePem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    keyId: keyIdOf(publicKey),
  };
}

function asPublicKey(key: KeyObject | string | Uint8Array): KeyObject {
  try {
    if (typeof key === 'string') return createPublicKey(key);
    if (key instanceof Uint8Array) return importRawPublicKey(key);
    return key.type === 'private' ? createPublicKey(key) : key;
  } catch (e) {
    if (e instanceof PackageError) throw e;
    throw new PackageError('BAD_KEY', `not a public key: ${(e as Error).message}`);
  }
}

function asPrivateKey(key: KeyObject | string): KeyObject {
  try {
    const k = typeof key === 'string' ? createPrivateKey(key) : key;
    if (k.asymmetricKeyType !== 'ed25519' || k.type !== 'private')
      throw new Error('not an ed25519 private key');
    return k;
  } catch (e) {
    throw new PackageError('BAD_KEY', `not an ed25519 private key: ${(e as Error).message}`);
  }
}

/** The raw 32-byte ed25519 public key. Accepts a public or private key (PEM or KeyObject). */
export function exportRawPublicKey(key: KeyObject | string): Uint8Array {
  const k = asPublicKey(key);
  if (k.asymmetricKeyType !== 'ed25519') throw new PackageError('BAD_KEY', 'not an ed25519 key');
  const der = k.export({ format: 'der', type: 'spki' });
  return new Uint8Array(der.subarray(SPKI_PREFIX.length));
}

export function importRawPublicKey(raw: Uint8Array): KeyObject {
  if (raw.length !== 32)
    throw new PackageError('BAD_KEY', `an ed25519 public key has 32 bytes, not ${raw.length}`);
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

/** The digest of the raw 32-byte public key. */
export function keyIdOf(key: KeyObject | string | Uint8Array): Digest {
  const raw = key instanceof Uint8Array ? key : exportRawPublicKey(key);
  if (raw.length !== 32)
    throw new PackageError('BAD_KEY', `an ed25519 public key has 32 bytes, not ${raw.length}`);
  return sha256Digest(raw);
}

export function sign(manifestDigest: Digest, privateKey: KeyObject | string): Signature {
  if (!DIGEST_RE.test(manifestDigest)) throw new PackageError('BAD_KEY', `not a digest: ${manifestDigest}`);
  const k = asPrivateKey(privateKey);
  return {
    keyId: keyIdOf(k),
    algorithm: 'ed25519',
    signature: edSign(null, Buffer.from(manifestDigest, 'utf8'), k).toString('base64'),
  };
}

/**
 * True only when `sig` is a well-formed ed25519 signature of `manifestDigest`
 * by `publicKey` and names that key. Never throws for a bad signature.
 */
export function verifySignature(
  manifestDigest: Digest,
  sig: Signature,
  publicKey: KeyObject | string | Uint8Array,
): boolean {
  const k = asPublicKey(publicKey);
  if (sig.algorithm !== 'ed25519' || sig.keyId !== keyIdOf(k)) return false;
  const bytes = Buffer.from(sig.signature, 'base64');
  // Buffer.from ignores bad base64; require the canonical 64-byte encoding.
  if (bytes.length !== 64 || bytes.toString('base64') !== sig.signature) return false;
  return edVerify(null, Buffer.from(manifestDigest, 'utf8'), k, bytes);
}

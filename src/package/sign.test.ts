import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PackageError } from './errors.js';
import { sha256Digest } from './hash-node.js';
import {
  exportRawPublicKey,
  generateKeyPair,
  importRawPublicKey,
  keyIdOf,
  sign,
  verifySignature,
} from './sign.js';

const digest = sha256Digest(new TextEncoder().encode('manifest'));

test('a signature verifies with the public key, in every form', () => {
  const kp = generateKeyPair();
  const sig = sign(digest, kp.privatePem);
  assert.equal(sig.keyId, kp.keyId);
  assert.equal(sig.algorithm, 'ed25519');
  assert.equal(Buffer.from(sig.signature, 'base64').length, 64);
  const raw = exportRawPublicKey(kp.publicPem);
  assert.equal(raw.length, 32);
  assert.equal(keyIdOf(raw), kp.keyId);
  assert.equal(keyIdOf(kp.privatePem), kp.keyId);
  assert.ok(verifySignature(digest, sig, kp.publicPem));
  assert.ok(verifySignature(digest, sig, raw));
  assert.ok(verifySignature(digest, sig, importRawPublicKey(raw)));
});

test('a tampered digest, signature or key id is refused', () => {
  const kp = generateKeyPair();
  const sig = sign(digest, kp.privatePem);
  const other = sha256Digest(new TextEncoder().encode('manifest2'));
  assert.equal(verifySignature(other, sig, kp.publicPem), false);
  const bytes = Buffer.from(sig.signature, 'base64');
  bytes[10]! ^= 1;
  assert.equal(verifySignature(digest, { ...sig, signature: bytes.toString('base64') }, kp.publicPem), false);
  assert.equal(verifySignature(digest, { ...sig, signature: 'AAAA' }, kp.publicPem), false);
  assert.equal(verifySignature(digest, { ...sig, signature: `${sig.signature}!` }, kp.publicPem), false);
  assert.equal(verifySignature(digest, { ...sig, keyId: other }, kp.publicPem), false);
  assert.equal(verifySignature(digest, sig, generateKeyPair().publicPem), false);
});

test('bad keys give BAD_KEY', () => {
  const bad = (e: unknown) => e instanceof PackageError && e.code === 'BAD_KEY';
  assert.throws(() => importRawPublicKey(new Uint8Array(31)), bad);
  assert.throws(() => sign(digest, 'not a pem'), bad);
  assert.throws(() => sign(digest, generateKeyPair().publicPem), bad);
  assert.throws(() => sign('sha256:nope', generateKeyPair().privatePem), bad);
  assert.throws(() => verifySignature(digest, sign(digest, generateKeyPair().privatePem), 'junk'), bad);
});

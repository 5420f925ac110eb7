/**
 * Trusted signing keys and detached signatures (Node).
 *
 *   $CAPSULE_HOME/trust/<key-hex>.pub          a trusted ed25519 public key (SPKI PEM)
 *   $CAPSULE_HOME/keys/<name>.key, <name>.pub  keys made by `capsule keygen` (0600 / 0644)
 *   $CAPSULE_HOME/store/signatures/<manifest-hex>/<key-hex>.json   a Signature (package/types.ts)
 *
 * Policy (docs/signing.md): a package packed into the local store by its
 * user runs without a signature (it is theirs). A package that comes from
 * elsewhere (a bundle, later a server) must carry a valid signature by a
 * trusted key, unless the user passes --allow-unsigned. A signature that
 * does not verify is always refused, flag or not.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { keyIdOf, verifySignature } from '../../package/sign.js';
import { DIGEST_RE, type Digest, type Signature } from '../../package/types.js';
import type { CapsuleHome } from '../../store/home.js';

const hex = (d: Digest) => d.slice('sha256:'.length);

function writeAtomic(path: string, content: string, mode: number): void {
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  writeFileSync(tmp, content, { mode });
  renameSync(tmp, path);
}

export interface TrustedKey {
  keyId: Digest;
  pem: string;
}

export class TrustStore {
  constructor(private readonly home: CapsuleHome) {}

  list(): TrustedKey[] {
    if (!existsSync(this.home.trust)) return [];
    return readdirSync(this.home.trust)
      .filter((f) => /^[0-9a-f]{64}\.pub$/.test(f))
      .sort()
      .map((f) => ({
        keyId: `sha256:${f.slice(0, 64)}`,
        pem: readFileSync(join(this.home.trust, f), 'utf8'),
      }));
  }

  /** Adds a public key (PEM); returns its id. Throws PackageError BAD_KEY for anything else. */
  add(pem: string): Digest {
    const keyId = keyIdOf(pem);
    mkdirSync(this.home.trust, { recursive: true, mode: 0o700 });
    writeAtomic(join(this.home.trust, `${hex(keyId)}.pub`), pem, 0o644);
    return keyId;
  }

  /** Removes a key by id or unique id prefix; returns the id removed, or null. */
  remove(idOrPrefix: string): Digest | null {
    const want = idOrPrefix.replace(/^sha256:/, '');
    const matches = this.list().filter((k) => hex(k.keyId).startsWith(want));
    if (matches.length !== 1 || want.length < 8) return null;
    rmSync(join(this.home.trust, `${hex(matches[0]!.keyId)}.pub`));
    return matches[0]!.keyId;
  }
}

export class SignatureStore {
  private readonly root: string;
  constructor(home: CapsuleHome) {
    this.root = join(home.store.root, 'signatures');
  }

  add(manifest: Digest, sig: Signature): void {
    if (!DIGEST_RE.test(manifest) || !DIGEST_RE.test(sig.keyId)) throw new Error('bad digest');
    const dir = join(this.root, hex(manifest));
    mkdirSync(dir, { recursive: true });
    writeAtomic(join(dir, `${hex(sig.keyId)}.json`), JSON.stringify(sig), 0o644);
  }

  list(manifest: Digest): Signature[] {
    if (!DIGEST_RE.test(manifest)) return [];
    const dir = join(this.root, hex(manifest));
    if (!existsSync(dir)) return [];
    const out: Signature[] = [];
    for (const f of readdirSync(dir).sort()) {
      if (!f.endsWith('.json')) continue;
      try {
        out.push(JSON.parse(readFileSync(join(dir, f), 'utf8')) as Signature);
      } catch {
        // A damaged signature file counts as no signature.
      }
    }
    return out;
  }

  remove(manifest: Digest): void {
    if (DIGEST_RE.test(manifest)) rmSync(join(this.root, hex(manifest)), { recursive: true, force: true });
  }
}

export interface SignatureCheck {
  /** Keys that signed it and are trusted, with a valid signature. */
  trusted: Digest[];
  /** Signatures that do not verify against the key they name (always refused). */
  bad: Digest[];
  /** Valid-looking signatures by keys that are not trusted. */
  untrusted: Digest[];
}

export function checkSignatures(manifest: Digest, sigs: Signature[], trust: TrustedKey[]): SignatureCheck {
  const out: SignatureCheck = { trusted: [], bad: [], untrusted: [] };
  for (const sig of sigs) {
    const key = trust.find((k) => k.keyId === sig.keyId);
    if (!key) {
      out.untrusted.push(sig.keyId);
      continue;
    }
    let ok = false;
    try {
      ok = verifySignature(manifest, sig, key.pem);
    } catch {
      ok = false;
    }
    (ok ? out.trusted : out.bad).push(sig.keyId);
  }
  return out;
}

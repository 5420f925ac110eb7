/**
 * Node adapter: writes packages from a store into a bundle file (format.ts).
 *
 * Two passes: the first reads only metadata, to learn every object and its
 * stored size, so offsets are known before a byte is written; the second
 * copies each object, verified as it leaves the store, in digest order. The
 * file is staged next to the target (same filesystem), fsynced and renamed
 * over it, and the directory is fsynced: the target path holds the old file
 * or the whole new one, never half a bundle.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { StoreError, type ObjectStore, type Verifier } from '../../store/types.js';
import { canonicalBytes } from '../canonical.js';
import { chunkVerifier } from '../chunk-io.js';
import { nodeDecoders } from '../codec-node.js';
import type { ChunkDecoders } from '../codec.js';
import { PackageError } from '../errors.js';
import { nodeHasher } from '../hash-node.js';
import { digestOf, type Hasher } from '../hash.js';
import { DIGEST_RE, type Digest, type Signature } from '../types.js';
import { packageObjects } from './closure.js';
import {
  BUNDLE_SCHEMA,
  HEADER_SIZE,
  compareAscii,
  comparePackages,
  encodeFooter,
  encodeHeader,
  type BundleIndex,
  type BundleObject,
  type BundlePackage,
} from './format.js';

export interface WriteBundleOptions {
  /** Also write every dependency, recursively; without it they must already be where the bundle goes. */
  withDependencies?: boolean;
  /** Detached signatures to carry for a package, by manifest digest. */
  signatures?: (manifest: Digest) => Signature[];
  /** Called as objects are written; `total` is the object bytes to write. */
  onProgress?: (done: number, total: number) => void;
  hasher?: Hasher;
  decoders?: ChunkDecoders;
}

export interface WriteBundleResult {
  packages: BundlePackage[];
  objects: number;
  /** The size of the bundle file. */
  size: number;
}

/** Writes the packages `roots` (manifest digests) of `store` into the bundle `file`. */
export async function writeBundle(
  file: string,
  store: ObjectStore,
  roots: Digest[],
  options: WriteBundleOptions = {},
): Promise<WriteBundleResult> {
  const hasher = options.hasher ?? nodeHasher;
  const verifyChunk = chunkVerifier(options.decoders ?? nodeDecoders, hasher);
  const verifyMeta: Verifier = (d, bytes) => digestOf(bytes, hasher) === d;
  const index = planIndex(store, roots, options, hasher);
  const total = index.objects.reduce((n, o) => n + o.length, 0);

  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', 0o644);
  let committed = false;
  try {
    const out = new BufferedWriter(fh);
    await out.write(encodeHeader());
    let done = 0;
    for (const o of index.objects) {
      const bytes = store.read(o.digest, o.kind === 'chunk' ? verifyChunk : verifyMeta);
      if (bytes.length !== o.length)
        throw new StoreError(
          'CORRUPT',
          `object ${o.digest} changed size while it was being exported`,
          o.digest,
        );
      await out.write(bytes);
      done += bytes.length;
      options.onProgress?.(done, total);
    }
    const indexBytes = canonicalBytes(index);
    const indexOffset = HEADER_SIZE + total;
    await out.write(indexBytes);
    await out.write(
      encodeFooter({ indexOffset, indexLength: indexBytes.length, indexSha256: hasher.sha256(indexBytes) }),
    );
    await out.flush();
    await fh.sync();
    await fh.close();
    await rename(tmp, file);
    committed = true;
    await syncDir(dirname(file));
    return { packages: index.packages, objects: index.objects.length, size: out.written };
  } finally {
    if (!committed) {
      await fh.close().catch(() => {});
      await rm(tmp, { force: true });
    }
  }
}

/** The index of the bundle, with offsets, from the metadata in `store`. */
function planIndex(
  store: ObjectStore,
  roots: Digest[],
  options: WriteBundleOptions,
  hasher: Hasher,
): BundleIndex {
  if (roots.length === 0) throw new PackageError('INCOMPLETE_BUNDLE', 'a bundle needs at least one package');
  for (const r of roots) if (!DIGEST_RE.test(r)) throw new StoreError('BAD_DIGEST', `not a digest: ${r}`);
  const withDependencies = options.withDependencies ?? false;
  const walk = packageObjects(store, roots, { withDependencies, hasher });
  const bad = walk.unreadable[0];
  if (bad) throw bad.error;
  const missing = walk.missing[0];
  if (missing !== undefined)
    throw new StoreError(
      'NOT_FOUND',
      `object ${missing} is not in the store; the package is incomplete`,
      missing,
    );
  const dep = walk.external[0];
  if (withDependencies && dep !== undefined)
    throw new StoreError('NOT_FOUND', `dependency ${dep} is not in the store`, dep);

  const sized = (digest: Digest, kind: BundleObject['kind']): BundleObject => {
    const length = store.size(digest);
    if (length === null) throw new StoreError('NOT_FOUND', `object ${digest} is not in the store`, digest);
    return { digest, kind, offset: 0, length };
  };
  const objects = [
    ...walk.meta.map((d) => sized(d, 'meta')),
    ...walk.chunks.map((d) => sized(d, 'chunk')),
  ].sort((a, b) => compareAscii(a.digest, b.digest));
  let offset = HEADER_SIZE;
  for (const o of objects) {
    o.offset = offset;
    offset += o.length;
  }

  const packages: BundlePackage[] = walk.manifests
    .map(({ digest, manifest }) => ({
      name: manifest.name,
      version: manifest.version,
      digest,
      root: roots.includes(digest),
      signatures: [...(options.signatures?.(digest) ?? [])].sort(
        (a, b) => compareAscii(a.keyId, b.keyId) || compareAscii(a.signature, b.signature),
      ),
    }))
    .sort(comparePackages);
  packages.forEach((p, i) => {
    const before = packages[i - 1];
    if (before && comparePackages(before, p) === 0)
      throw new PackageError(
        'REF_CONFLICT',
        `two different packages are both ${p.name}@${p.version} (${before.digest}, ${p.digest}); a bundle can hold only one`,
      );
  });
  return { schema: BUNDLE_SCHEMA, packages, objects };
}

/** Sequential writes gathered into 1 MiB blocks: a bundle is mostly small chunks. */
class BufferedWriter {
  readonly #fh: FileHandle;
  readonly #buffer = new Uint8Array(1 << 20);
  #used = 0;
  written = 0;

  constructor(fh: FileHandle) {
    this.#fh = fh;
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (this.#used + bytes.length > this.#buffer.length) await this.flush();
    if (bytes.length >= this.#buffer.length) {
      await this.#writeAll(bytes);
      return;
    }
    this.#buffer.set(bytes, this.#used);
    this.#used += bytes.length;
  }

  async flush(): Promise<void> {
    if (this.#used === 0) return;
    await this.#writeAll(this.#buffer.subarray(0, this.#used));
    this.#used = 0;
  }

  async #writeAll(bytes: Uint8Array): Promise<void> {
    let at = 0;
    while (at < bytes.length) {
      const { bytesWritten } = await this.#fh.write(bytes, at, bytes.length - at, this.written);
      at += bytesWritten;
      this.written += bytesWritten;
    }
  }
}

/** Makes a rename durable. Some filesystems cannot fsync a directory; that is not an error. */
async function syncDir(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    // best effort
  } finally {
    await fh?.close().catch(() => {});
  }
}

/**
 * Node adapter: a bundle file as a read-only ObjectStore, read in place with
 * positional reads on one file descriptor. Opening checks the header, footer
 * and index (parse.ts); every object read is verified like any store read:
 * metadata by the SHA-256 of its bytes, chunks by decoding (chunk-io.ts),
 * as the index's `kind` says. A lying `kind` only makes an object fail
 * verification; it can never pass off other bytes.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { assertDigest, checkBytes } from '../../store/digest.js';
import { StoreError, type ObjectStore, type Verifier } from '../../store/types.js';
import { chunkVerifier } from '../chunk-io.js';
import { nodeDecoders } from '../codec-node.js';
import type { ChunkDecoders } from '../codec.js';
import { PackageError } from '../errors.js';
import { nodeHasher } from '../hash-node.js';
import { digestOf, type Hasher } from '../hash.js';
import type { Digest } from '../types.js';
import {
  FOOTER_SIZE,
  HEADER_SIZE,
  type BundleIndex,
  type BundleObject,
  type BundlePackage,
  type ObjectKind,
} from './format.js';
import { parseFooter, parseHeader, parseIndex } from './parse.js';

export interface OpenBundleOptions {
  hasher?: Hasher;
  decoders?: ChunkDecoders;
}

export class BundleObjectStore implements ObjectStore {
  readonly file: string;
  /** The bundle's size in bytes, as it was when opened. */
  readonly fileSize: number;
  readonly index: BundleIndex;
  readonly #objects: Map<Digest, BundleObject>;
  readonly #verifiers: Record<ObjectKind, Verifier>;
  #fd: number | null;

  /** Opens and checks `file`. Throws StoreError NOT_FOUND/IO, or PackageError for a bad bundle. */
  constructor(file: string, options: OpenBundleOptions = {}) {
    const hasher = options.hasher ?? nodeHasher;
    this.file = file;
    this.#verifiers = {
      meta: (d, bytes) => digestOf(bytes, hasher) === d,
      chunk: chunkVerifier(options.decoders ?? nodeDecoders, hasher),
    };
    this.#fd = openFile(file);
    try {
      const st = fstatSync(this.#fd);
      if (!st.isFile()) throw new PackageError('NOT_A_BUNDLE', `${file} is not a regular file`);
      this.fileSize = st.size;
      parseHeader(this.#readAt(0, Math.min(HEADER_SIZE, st.size)), st.size);
      const footer = parseFooter(this.#readAt(Math.max(0, st.size - FOOTER_SIZE), FOOTER_SIZE), st.size);
      this.index = parseIndex(this.#readAt(footer.indexOffset, footer.indexLength), footer, hasher);
    } catch (e) {
      this.close();
      throw e;
    }
    this.#objects = new Map(this.index.objects.map((o) => [o.digest, o]));
  }

  get packages(): readonly BundlePackage[] {
    return this.index.packages;
  }

  /** The packages that were exported, as opposed to dependencies that came along. */
  get roots(): readonly BundlePackage[] {
    return this.index.packages.filter((p) => p.root);
  }

  kindOf(digest: Digest): ObjectKind | null {
    assertDigest(digest);
    return this.#objects.get(digest)?.kind ?? null;
  }

  has(digest: Digest): boolean {
    assertDigest(digest);
    return this.#objects.has(digest);
  }

  read(digest: Digest, verify?: Verifier): Uint8Array {
    assertDigest(digest);
    const o = this.#objects.get(digest);
    if (o === undefined) throw new StoreError('NOT_FOUND', `object ${digest} is not in the bundle`, digest);
    const bytes = this.#readAt(o.offset, o.length);
    if (bytes.length !== o.length)
      throw new StoreError('CORRUPT', `object ${digest} is cut short: ${this.file} shrank`, digest);
    checkBytes(verify ?? this.#verifiers[o.kind], digest, bytes, `in bundle ${this.file}`);
    return bytes;
  }

  write(digest: Digest): void {
    throw new StoreError('IO', `cannot write ${digest}: a bundle is read-only (${this.file})`, digest);
  }

  delete(digest: Digest): void {
    throw new StoreError('IO', `cannot delete ${digest}: a bundle is read-only (${this.file})`, digest);
  }

  list(): Iterable<Digest> {
    return this.index.objects.map((o) => o.digest);
  }

  size(digest: Digest): number | null {
    assertDigest(digest);
    return this.#objects.get(digest)?.length ?? null;
  }

  /** Closes the file; later reads throw IO. Closing twice is fine. */
  close(): void {
    if (this.#fd === null) return;
    const fd = this.#fd;
    this.#fd = null;
    closeSync(fd);
  }

  /** Up to `length` bytes at `position`; fewer only at the end of the file. */
  #readAt(position: number, length: number): Uint8Array {
    if (this.#fd === null) throw new StoreError('IO', `bundle ${this.file} is closed`);
    const out = new Uint8Array(length);
    let got = 0;
    while (got < length) {
      let n: number;
      try {
        n = readSync(this.#fd, out, got, length - got, position + got);
      } catch (e) {
        throw new StoreError('IO', `cannot read ${this.file}: ${(e as Error).message}`, undefined, {
          cause: e,
        });
      }
      if (n === 0) break;
      got += n;
    }
    return got === length ? out : out.subarray(0, got);
  }
}

export interface OpenBundle {
  store: BundleObjectStore;
  packages: readonly BundlePackage[];
  roots: readonly BundlePackage[];
  close(): void;
}

/**
 * Opens a bundle for reading in place: `capsule run FILE.capsule` mounts
 * `store` like the local store, starting from a root's manifest digest.
 */
export function openBundle(file: string, options: OpenBundleOptions = {}): OpenBundle {
  const store = new BundleObjectStore(file, options);
  return { store, packages: store.packages, roots: store.roots, close: () => store.close() };
}

function openFile(file: string): number {
  try {
    return openSync(file, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR')
      throw new StoreError('NOT_FOUND', `no such bundle file: ${file}`, undefined, { cause: e });
    throw new StoreError('IO', `cannot open ${file}: ${(e as Error).message}`, undefined, { cause: e });
  }
}

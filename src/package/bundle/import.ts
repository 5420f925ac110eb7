/**
 * Node adapter: importing a bundle into a store. The order makes a bad
 * bundle harmless: first everything is checked that can be checked without
 * copying (the index names each manifest rightly, nothing a package needs is
 * absent, no ref would be moved), then every object is copied, verified as it
 * leaves the bundle, and only when all of them are in do the refs move. A
 * corrupt object stops the import before any ref is set; objects copied
 * before it are whole, unreferenced, and left to gc.
 */
import type { ObjectStore, Verifier } from '../../store/types.js';
import { PackageError } from '../errors.js';
import type { Digest } from '../types.js';
import type { BundlePackage } from './format.js';
import { BundleObjectStore, type OpenBundleOptions } from './reader.js';
import { checkPackages } from './verify.js';

/** Where package names go: FsRefStore fits. */
export interface BundleRefs {
  getRef(name: string, version: string): Digest | null;
  setRef(name: string, version: string, digest: Digest): void;
}

export interface ImportBundleOptions extends OpenBundleOptions {
  /** Move refs that point at another package of the same name@version; default: refuse. */
  replace?: boolean;
  /**
   * Called for each package once the bundle has been checked and before
   * anything is copied; throwing refuses the whole import (a signature
   * policy, say).
   */
  admit?: (p: BundlePackage) => void;
  onProgress?: (done: number, total: number) => void;
}

export interface ImportResult {
  /** Every package whose ref now points at it (roots and the dependencies that came along). */
  packages: BundlePackage[];
  /** Objects copied (or found already there). */
  objects: number;
  /** Objects the store did not have before, and their stored bytes. */
  added: number;
  addedBytes: number;
  /** Dependencies neither in the bundle nor in the store: the packages cannot run until they come. */
  missingDependencies: Digest[];
}

/** Just verified by the bundle's read; the store need not decode chunks again. */
const VERIFIED: Verifier = () => true;

export function importBundle(
  file: string,
  store: ObjectStore,
  refs: BundleRefs,
  options: ImportBundleOptions = {},
): ImportResult {
  const bundle = new BundleObjectStore(file, options);
  try {
    const { walk, problems } = checkPackages(bundle, options);
    const unreadable = walk.unreadable[0];
    if (unreadable) throw unreadable.error;
    if (problems.length > 0) throw new PackageError('CORRUPT_BUNDLE', `bundle ${file}: ${problems[0]}`);
    const missing = walk.missing.filter((d) => !store.has(d));
    if (missing.length > 0)
      throw new PackageError(
        'INCOMPLETE_BUNDLE',
        `bundle ${file} lacks ${missing.length} object(s) its packages need, e.g. ${missing[0]}`,
      );
    for (const p of bundle.packages) options.admit?.(p);
    for (const p of bundle.packages) {
      const current = refs.getRef(p.name, p.version);
      if (current !== null && current !== p.digest && !options.replace)
        throw new PackageError(
          'REF_CONFLICT',
          `${p.name}@${p.version} is already in the store as another package (${current}); the bundle has ${p.digest}`,
        );
    }

    // Only what the packages reach: a hostile bundle's extra objects stay out.
    const copy = [...walk.meta, ...walk.chunks].filter((d) => bundle.has(d)).sort();
    const total = copy.reduce((n, d) => n + (bundle.size(d) ?? 0), 0);
    const result: ImportResult = {
      packages: [...bundle.packages],
      objects: copy.length,
      added: 0,
      addedBytes: 0,
      missingDependencies: walk.external.filter((d) => !store.has(d)).sort(),
    };
    let done = 0;
    for (const d of copy) {
      const bytes = bundle.read(d);
      if (!store.has(d)) {
        result.added++;
        result.addedBytes += bytes.length;
      }
      // Written even when present: that refreshes its age, so gc keeps it until the ref lands.
      store.write(d, bytes, VERIFIED);
      done += bytes.length;
      options.onProgress?.(done, total);
    }
    for (const p of bundle.packages) refs.setRef(p.name, p.version, p.digest);
    return result;
  } finally {
    bundle.close();
  }
}

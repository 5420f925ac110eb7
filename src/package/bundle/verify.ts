/**
 * Node adapter: checking a whole bundle. Every object is read and verified,
 * then every package is walked to check that the bundle really holds what
 * its index promises: each manifest is the name@version the index says, and
 * every layer, chunk and profile it needs is there.
 */
import { StoreError } from '../../store/types.js';
import { nodeHasher } from '../hash-node.js';
import type { Digest } from '../types.js';
import { packageObjects, type PackageObjects } from './closure.js';
import type { BundlePackage } from './format.js';
import { BundleObjectStore, type OpenBundleOptions } from './reader.js';

export interface BundleReport {
  packages: BundlePackage[];
  /** Objects in the bundle, all checked. */
  objects: number;
  /** Their stored bytes. */
  bytes: number;
  /** Objects whose bytes fail verification, sorted. */
  corrupt: Digest[];
  /** Objects a package needs that the bundle lacks (a layer, a chunk, a profile), sorted. */
  missing: Digest[];
  /** Dependencies that are not in the bundle: the importing store must have them. */
  external: Digest[];
  /** Everything else wrong, one sentence each (an index entry that is not its manifest, say). */
  problems: string[];
  /** No corrupt or missing object and no problem. */
  ok: boolean;
}

export interface VerifyBundleOptions extends OpenBundleOptions {
  onProgress?: (done: number, total: number) => void;
}

/** Checks every object of the bundle `file`. A bundle whose structure is broken throws PackageError. */
export function verifyBundle(file: string, options: VerifyBundleOptions = {}): BundleReport {
  const store = new BundleObjectStore(file, options);
  try {
    const objects = store.index.objects;
    const total = objects.reduce((n, o) => n + o.length, 0);
    const corrupt: Digest[] = [];
    let done = 0;
    for (const o of objects) {
      try {
        store.read(o.digest);
      } catch (e) {
        if (!(e instanceof StoreError && e.code === 'CORRUPT')) throw e;
        corrupt.push(o.digest);
      }
      done += o.length;
      options.onProgress?.(done, total);
    }
    const { walk, problems } = checkPackages(store, options);
    const missing = [...walk.missing].sort();
    const report = {
      packages: [...store.packages],
      objects: objects.length,
      bytes: total,
      corrupt,
      missing,
      external: [...walk.external].sort(),
      problems: problems.filter((p) => !corrupt.some((d) => p.startsWith(d))),
    };
    return { ...report, ok: corrupt.length + missing.length + report.problems.length === 0 };
  } finally {
    store.close();
  }
}

/**
 * Walks every package of an open bundle. `problems` starts with the digest it
 * is about when there is one, so callers can drop what they already know.
 */
export function checkPackages(
  store: BundleObjectStore,
  options: OpenBundleOptions = {},
): { walk: PackageObjects; problems: string[] } {
  const hasher = options.hasher ?? nodeHasher;
  const walk = packageObjects(
    store,
    store.packages.map((p) => p.digest),
    { withDependencies: true, hasher },
  );
  const problems = walk.unreadable.map(({ digest, error }) => `${digest}: ${error.message}`);
  const manifests = new Map(walk.manifests.map((m) => [m.digest, m.manifest]));
  for (const p of store.packages) {
    const m = manifests.get(p.digest);
    if (m && (m.name !== p.name || m.version !== p.version))
      problems.push(
        `${p.digest}: the index calls it ${p.name}@${p.version}, but its manifest is ${m.name}@${m.version}`,
      );
  }
  return { walk, problems };
}

/** A one-line summary of what is wrong, for an error message; null when nothing is. */
export function describeProblems(
  report: Pick<BundleReport, 'corrupt' | 'missing' | 'problems'>,
): string | null {
  const parts: string[] = [];
  const list = (ds: Digest[]) =>
    ds.slice(0, 3).join(', ') + (ds.length > 3 ? ` and ${ds.length - 3} more` : '');
  if (report.corrupt.length > 0) parts.push(`corrupt object(s) ${list(report.corrupt)}`);
  if (report.missing.length > 0) parts.push(`missing object(s) ${list(report.missing)}`);
  parts.push(...report.problems.slice(0, 3));
  return parts.length > 0 ? parts.join('; ') : null;
}

/**
 * What a package is made of: its manifest, layer indexes, chunks and launch
 * profile, and (when asked) the same for its dependencies, recursively.
 * Platform-neutral; the writer walks the local store with it, verify and
 * import walk the bundle.
 */
import type { ObjectStore, Verifier } from '../../store/types.js';
import { StoreError } from '../../store/types.js';
import { digestOf, type Hasher } from '../hash.js';
import { parseLayerIndex } from '../layer-index.js';
import { parseManifest, parseProfile } from '../manifest.js';
import type { Digest, Manifest } from '../types.js';

export interface PackageObjects {
  /** Every package walked, roots first, each once. */
  manifests: { digest: Digest; manifest: Manifest }[];
  /** Manifests, layer indexes and profiles that were found, each once. */
  meta: Digest[];
  /** Chunks referenced by the layers walked, each once (present or not). */
  chunks: Digest[];
  /** Dependency manifests that were not walked: not asked for, or not in the store. */
  external: Digest[];
  /** Objects a walked package needs that the store does not have (not counting `external`). */
  missing: Digest[];
  /** Metadata objects that could not be read or parsed: corrupt or invalid. */
  unreadable: { digest: Digest; error: Error }[];
}

export interface WalkOptions {
  withDependencies: boolean;
  hasher: Hasher;
}

/** Walks `roots` (manifest digests) in `store`. Only metadata is read; chunks are listed and checked with `has`. */
export function packageObjects(store: ObjectStore, roots: Digest[], options: WalkOptions): PackageObjects {
  const verifyMeta: Verifier = (d, bytes) => digestOf(bytes, options.hasher) === d;
  const out: PackageObjects = {
    manifests: [],
    meta: [],
    chunks: [],
    external: [],
    missing: [],
    unreadable: [],
  };
  const seen = new Set<Digest>();
  const first = (d: Digest): boolean => {
    if (seen.has(d)) return false;
    seen.add(d);
    return true;
  };

  // Reads and parses one metadata object; records why not when it cannot.
  const load = <T>(d: Digest, parse: (bytes: Uint8Array) => T): T | null => {
    try {
      const value = parse(store.read(d, verifyMeta));
      out.meta.push(d);
      return value;
    } catch (e) {
      if (e instanceof StoreError && e.code === 'NOT_FOUND') out.missing.push(d);
      else if (e instanceof Error) out.unreadable.push({ digest: d, error: e });
      else throw e;
      return null;
    }
  };

  const queue = [...roots];
  for (let d = queue.shift(); d !== undefined; d = queue.shift()) {
    if (!first(d)) continue;
    const manifest = load(d, parseManifest);
    if (manifest === null) continue;
    out.manifests.push({ digest: d, manifest });
    for (const layer of manifest.layers) {
      if (!first(layer.digest)) continue;
      const index = load(layer.digest, parseLayerIndex);
      for (const entry of index?.entries ?? []) {
        for (const chunk of entry.chunks ?? []) {
          if (!first(chunk.digest)) continue;
          out.chunks.push(chunk.digest);
          if (!store.has(chunk.digest)) out.missing.push(chunk.digest);
        }
      }
    }
    if (manifest.profile !== null && first(manifest.profile)) load(manifest.profile, parseProfile);
    for (const dep of manifest.dependencies) {
      if (options.withDependencies && store.has(dep.digest)) queue.push(dep.digest);
      else if (!out.external.includes(dep.digest)) out.external.push(dep.digest);
    }
  }
  // A dependency reached both ways (walked through one package, external to none) is not external.
  out.external = out.external.filter((d) => !out.manifests.some((m) => m.digest === d));
  return out;
}

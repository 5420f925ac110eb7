/**
 * From what a user types (`sqlite`, `sqlite@3.45.0`, `sqlite@^3`) to a
 * package in a store: its manifest and the whole stack of layers it runs on,
 * dependencies included (the App-V "connection group": a runtime package
 * under an app package).
 */
import type { ObjectStore } from '../../store/types.js';
import { readManifest } from '../../package/objects.js';
import { NAME_RE, type Digest, type Manifest } from '../../package/types.js';

export interface PackageRef {
  name: string;
  /** A version, a range, or undefined for the highest release. */
  range?: string;
}

export interface ResolvedPackage {
  name: string;
  version: string;
  digest: Digest;
  manifest: Manifest;
  /** Layer digests, top first: the package's own layers, then its dependencies'. */
  layers: Digest[];
  /** Every manifest involved: the package's and its dependencies', transitively. */
  manifests: Digest[];
}

export class ResolveError extends Error {
  constructor(
    readonly code: 'NOT_FOUND' | 'BAD_TARGET' | 'CYCLE',
    message: string,
  ) {
    super(message);
    this.name = 'ResolveError';
  }
}

/** Parses `name[@version-or-range]`; null when it does not look like a package name at all. */
export function parsePackageRef(target: string): PackageRef | null {
  const at = target.indexOf('@');
  const name = at < 0 ? target : target.slice(0, at);
  if (!NAME_RE.test(name)) return null;
  const range = at < 0 ? undefined : target.slice(at + 1);
  if (range !== undefined && range.trim() === '') return null;
  return { name, range };
}

/**
 * The layer stack of a manifest, bottom first: each dependency's own stack
 * (in declared order), then the package's layers. A layer shared by two
 * dependencies appears once, at its lowest position.
 */
export function layerStack(
  store: ObjectStore,
  digest: Digest,
): { layers: Digest[]; manifests: Digest[]; manifest: Manifest } {
  const layers: Digest[] = [];
  const manifests: Digest[] = [];
  const seenLayers = new Set<Digest>();
  const visiting = new Set<Digest>();
  const done = new Set<Digest>();
  let root: Manifest | undefined;
  const visit = (d: Digest, depth: number): void => {
    if (done.has(d)) return;
    if (visiting.has(d)) throw new ResolveError('CYCLE', `dependency cycle through ${d}`);
    visiting.add(d);
    const m = readManifest(store, d);
    if (depth === 0) root = m;
    for (const dep of m.dependencies) visit(dep.digest, depth + 1);
    for (const l of m.layers) {
      if (!seenLayers.has(l.digest)) {
        seenLayers.add(l.digest);
        layers.push(l.digest);
      }
    }
    visiting.delete(d);
    done.add(d);
    manifests.push(d);
  };
  visit(digest, 0);
  return { layers, manifests, manifest: root! };
}

export function resolveFromRefs(
  store: ObjectStore,
  resolveRef: (name: string, range?: string) => { name: string; version: string; digest: Digest } | null,
  ref: PackageRef,
): ResolvedPackage {
  const found = resolveRef(ref.name, ref.range);
  if (!found) {
    const what = ref.range ? `${ref.name}@${ref.range}` : ref.name;
    throw new ResolveError('NOT_FOUND', `no package ${what} in the local store`);
  }
  const stack = layerStack(store, found.digest);
  return {
    name: found.name,
    version: found.version,
    digest: found.digest,
    manifest: stack.manifest,
    layers: [...stack.layers].reverse(),
    manifests: stack.manifests,
  };
}

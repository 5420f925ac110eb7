/**
 * Metadata objects in a store: manifests, layer indexes and launch profiles
 * are written as canonical JSON under the digest of those bytes, and are
 * validated again whenever they are read back.
 */
import type { ObjectStore } from '../store/types.js';
import { canonicalBytes } from './canonical.js';
import { digestOf, type Hasher } from './hash.js';
import { parseLayerIndex, validateLayerIndex } from './layer-index.js';
import { parseManifest, parseProfile, validateManifest, validateProfile } from './manifest.js';
import type { Digest, LaunchProfile, LayerIndex, Manifest } from './types.js';

function writeCanonical(store: ObjectStore, value: unknown, hasher: Hasher): Digest {
  const bytes = canonicalBytes(value);
  const digest = digestOf(bytes, hasher);
  store.write(digest, bytes);
  return digest;
}

/** Validates, then stores the manifest; returns its digest (the package's identity). */
export function writeManifest(store: ObjectStore, manifest: Manifest, hasher: Hasher): Digest {
  return writeCanonical(store, validateManifest(manifest), hasher);
}

export function writeLayerIndex(store: ObjectStore, index: LayerIndex, hasher: Hasher): Digest {
  return writeCanonical(store, validateLayerIndex(index), hasher);
}

export function writeProfile(store: ObjectStore, profile: LaunchProfile, hasher: Hasher): Digest {
  return writeCanonical(store, validateProfile(profile), hasher);
}

/** Store errors (NOT_FOUND, CORRUPT) pass through; bad contents throw PackageError. */
export function readManifest(store: ObjectStore, digest: Digest): Manifest {
  return parseManifest(store.read(digest));
}

export function readLayerIndex(store: ObjectStore, digest: Digest): LayerIndex {
  return parseLayerIndex(store.read(digest));
}

export function readProfile(store: ObjectStore, digest: Digest): LaunchProfile {
  return parseProfile(store.read(digest));
}

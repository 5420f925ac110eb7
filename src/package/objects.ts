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
import {
  MANIFEST_SCHEMA,
  type Dependency,
  type Digest,
  type LaunchProfile,
  type LayerIndex,
  type LayerRef,
  type Manifest,
  type Permissions,
  type SettingsDefaults,
} from './types.js';

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

/** A validated layer index as the object writeLayerIndex would store: its bytes and digest. */
export function encodeLayerIndex(index: LayerIndex, hasher: Hasher): { digest: Digest; bytes: Uint8Array } {
  const bytes = canonicalBytes(validateLayerIndex(index));
  return { digest: digestOf(bytes, hasher), bytes };
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

export interface ManifestInput {
  name: string;
  version: string;
  entry: string;
  layers: LayerRef[];
  args?: string[];
  env?: Record<string, string>;
  cwd?: string;
  dependencies?: Dependency[];
  permissions?: Permissions;
  settings?: SettingsDefaults;
  profile?: Digest | null;
  annotations?: Record<string, string>;
}

/** A validated manifest from the fields given, with empty defaults for the rest. */
export function buildManifest(input: ManifestInput): Manifest {
  return validateManifest({
    schema: MANIFEST_SCHEMA,
    name: input.name,
    version: input.version,
    entry: input.entry,
    args: input.args ?? [],
    env: input.env ?? {},
    cwd: input.cwd ?? '/',
    layers: input.layers,
    dependencies: input.dependencies ?? [],
    permissions: input.permissions ?? { dirs: [] },
    settings: input.settings ?? { files: {} },
    profile: input.profile ?? null,
    annotations: input.annotations ?? {},
  });
}

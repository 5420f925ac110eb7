/**
 * A package's metadata, fetched and verified in the page: the package
 * record, the manifest (its SHA-256 must be the record's digest), the
 * dependencies' manifests, every layer index and the launch profile (each
 * must hash to the digest that names it). The same parsers and the same
 * layer-stack rule as Node's (package/, delivery/local/resolve.ts) run on
 * them, over an in-memory store that holds only what was verified.
 */
import { parseLayerIndex, parseManifest, parseProfile, readManifest } from '../../package/index.js';
import type { Digest, LayerIndex, Manifest } from '../../package/types.js';
import { DIGEST_RE } from '../../package/types.js';
import { MemoryObjectStore } from '../../store/memory.js';
import { layerStack } from '../../delivery/local/resolve.js';
import { RemoteError, type RemoteClient } from '../../delivery/remote/client.js';
import { sha256Hex } from './digest.js';

export interface LoadedPackage {
  name: string;
  version: string;
  digest: Digest;
  manifest: Manifest;
  /** Layer indexes, top first: the package's own layers, then its dependencies'. */
  layers: LayerIndex[];
  /** The launch profile's chunks, in the order the profiled run read them (empty without one). */
  profile: Digest[];
  /** Bytes of metadata fetched. */
  metadataBytes: number;
}

/** The version the server picks for `name[@spec]` (channels, ranges, latest: delivery/remote/select.ts). */
export async function resolveVersion(
  client: RemoteClient,
  target: string,
): Promise<{ name: string; version: string }> {
  return client.json<{ name: string; version: string }>(
    'GET',
    `/browser/resolve/${encodeURIComponent(target)}`,
  );
}

export async function loadPackage(
  client: RemoteClient,
  name: string,
  version: string,
): Promise<LoadedPackage> {
  const path = `/packages/${encodeURIComponent(name)}/${encodeURIComponent(version)}`;
  const record = await client.json<{ digest?: unknown }>('GET', path);
  if (typeof record.digest !== 'string' || !DIGEST_RE.test(record.digest))
    throw new RemoteError('BAD_RESPONSE', 'the package record is malformed');
  const root = record.digest as Digest;
  const verified = new Set<Digest>();
  const store = new MemoryObjectStore({ verify: (d) => verified.has(d) });
  let metadataBytes = 0;

  const obtain = async (digest: Digest, from = `/objects/${digest}`): Promise<Uint8Array> => {
    if (store.has(digest)) return store.read(digest);
    const { bytes } = await client.bytes(from);
    metadataBytes += bytes.length;
    if (`sha256:${await sha256Hex(bytes)}` !== digest)
      throw new RemoteError('BAD_RESPONSE', `the server sent a corrupt copy of ${digest}; refused`);
    verified.add(digest);
    store.write(digest, bytes);
    return bytes;
  };

  // Manifests first (the root and its dependencies, transitively), then the indexes of every layer.
  const manifests = new Map<Digest, Manifest>();
  const queue: { digest: Digest; from?: string }[] = [{ digest: root, from: `${path}/manifest` }];
  for (let item = queue.shift(); item; item = queue.shift()) {
    if (manifests.has(item.digest)) continue;
    const m = parseManifest(await obtain(item.digest, item.from));
    manifests.set(item.digest, m);
    for (const dep of m.dependencies) queue.push({ digest: dep.digest });
  }
  const stack = layerStack(store, root);
  const topFirst = [...stack.layers].reverse();
  const layers = await Promise.all(topFirst.map(async (d) => parseLayerIndex(await obtain(d))));
  const manifest = readManifest(store, root);
  let profile: Digest[] = [];
  if (manifest.profile !== null) {
    try {
      profile = parseProfile(await obtain(manifest.profile)).chunks;
    } catch {
      // A profile is an optimisation only: without it chunks come on demand.
    }
  }
  return { name, version, digest: root, manifest, layers, profile, metadataBytes };
}

/**
 * Pull: download a package and everything it needs (layer indexes, chunks,
 * launch profile, dependencies) into the local store, so it runs offline.
 *
 * Every object is verified before it is written (metadata by the SHA-256 of
 * its bytes, chunks decoded and hashed), and the store commits each write
 * atomically, so an interrupted pull leaves only whole, verified objects:
 * the next pull skips them and fetches the rest. A corrupt object from the
 * server is fetched once more, then reported.
 */
import {
  chunkVerifier,
  DIGEST_RE,
  nodeDecoders,
  nodeHasher,
  parseLayerIndex,
  parseManifest,
  parseProfile,
  type Digest,
  type Manifest,
  type Signature,
} from '../../package/node.js';
import { verifySha256 } from '../../store/fs/index.js';
import { StoreError, type ObjectStore, type Verifier } from '../../store/types.js';
import { RemoteError, eachLimited, type RemoteClient } from './client.js';

export interface PackageRecord {
  name: string;
  version: string;
  digest: Digest;
  signatures: Signature[];
  /** The server yanked it: no channel or range selects it, a pin still may (docs/server.md). */
  yanked?: boolean;
}

export interface PullResult {
  record: PackageRecord;
  manifest: Manifest;
  /** Objects fetched now, and objects that were already in the local store. */
  fetched: number;
  skipped: number;
  fetchedBytes: number;
}

const PARALLEL = 8;
/** How long an object fetch keeps trying after its first failure (a server restart takes a few seconds). */
export const RETRY_WINDOW_MS = 30_000;
const MAX_BACKOFF_MS = 4_000;
/** Answers of a proxy or balancer whose server is down or restarting: retried like no answer. */
const GATEWAY = new Set([502, 503, 504]);

/**
 * Retries what failed for want of the server (a refused or dropped
 * connection, an answer cut short, a 5xx, a restart). The first retry is
 * immediate: the usual failure is a keep-alive connection that the server
 * closed as it was reused, and a new connection fixes it. Then exponential
 * backoff: 0.25, 0.5, 1, 2, 4, 4, ... s, each +-25% so that many clients cut
 * off together do not come back together, for up to RETRY_WINDOW_MS from
 * the first failure. A 500 gets two retries only. Refusals (401, 403,
 * 404) are final at once.
 */
export async function withRetry<T>(fetchOnce: () => Promise<T>, windowMs = RETRY_WINDOW_MS): Promise<T> {
  let firstFailure = 0;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fetchOnce();
    } catch (e) {
      if (!(e instanceof RemoteError && e.code === 'UNREACHABLE')) throw e;
      // A server that answers with its own failure (500) is unlikely to mend in seconds: two more tries.
      if (e.status !== undefined && !GATEWAY.has(e.status) && attempt >= 2) throw e;
      const now = Date.now();
      firstFailure ||= now;
      const delay =
        attempt === 0 ? 0 : Math.min(125 * 2 ** attempt, MAX_BACKOFF_MS) * (0.75 + Math.random() / 2);
      if (now - firstFailure + delay > windowMs) throw e;
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/**
 * The package record and, inline, its metadata objects (GET .../launch: one
 * round trip instead of three). Inline objects are only offered: each is
 * verified against its digest before it is stored, and one that fails is
 * fetched as an object instead. A server without the route (404 from an
 * older version) gets the plain record request.
 */
export async function fetchLaunch(
  client: RemoteClient,
  name: string,
  version: string,
): Promise<{ record: PackageRecord; inline: Map<Digest, Uint8Array> }> {
  let r: PackageRecord & { objects?: unknown };
  try {
    r = await client.json<PackageRecord & { objects?: unknown }>(
      'GET',
      `/packages/${encodeURIComponent(name)}/${encodeURIComponent(version)}/launch`,
    );
  } catch (e) {
    if (e instanceof RemoteError && e.code === 'NOT_FOUND')
      return { record: await fetchRecord(client, name, version), inline: new Map() };
    throw e;
  }
  if (typeof r.digest !== 'string' || !Array.isArray(r.signatures))
    throw new RemoteError('BAD_RESPONSE', 'the package record is malformed');
  const inline = new Map<Digest, Uint8Array>();
  const objects = r.objects;
  delete r.objects;
  if (typeof objects === 'object' && objects !== null) {
    const encoder = new TextEncoder();
    for (const [d, text] of Object.entries(objects))
      if (DIGEST_RE.test(d) && typeof text === 'string') inline.set(d as Digest, encoder.encode(text));
  }
  return { record: r, inline };
}

export async function fetchRecord(
  client: RemoteClient,
  name: string,
  version: string,
): Promise<PackageRecord> {
  const r = await client.json<PackageRecord>(
    'GET',
    `/packages/${encodeURIComponent(name)}/${encodeURIComponent(version)}`,
  );
  if (typeof r.digest !== 'string' || !Array.isArray(r.signatures))
    throw new RemoteError('BAD_RESPONSE', 'the package record is malformed');
  return r;
}

export async function pullPackage(
  client: RemoteClient,
  store: ObjectStore,
  name: string,
  version: string,
  onProgress: (done: number, total: number) => void = () => {},
  /** Metadata only (manifests, indexes, profiles): a streamed run fetches chunks as they are read. */
  metadataOnly = false,
): Promise<PullResult> {
  const { record, inline } = await fetchLaunch(client, name, version);
  let fetched = 0;
  let skipped = 0;
  let fetchedBytes = 0;

  /** The object's stored bytes: from the local store, or fetched, verified and written. */
  const obtain = async (d: Digest, verify: Verifier, path = `/objects/${d}`): Promise<Uint8Array | null> => {
    if (store.has(d)) {
      skipped++;
      return null;
    }
    const offered = inline.get(d);
    if (offered) {
      inline.delete(d);
      try {
        store.write(d, offered, verify);
        fetched++;
        fetchedBytes += offered.length;
        return offered;
      } catch (e) {
        if (!(e instanceof StoreError && e.code === 'CORRUPT')) throw e;
        // Not the object it claims to be: fetched on its own below.
      }
    }
    for (let attempt = 0; ; attempt++) {
      const { bytes } = await withRetry(() => client.bytes(path));
      try {
        store.write(d, bytes, verify);
        fetched++;
        fetchedBytes += bytes.length;
        return bytes;
      } catch (e) {
        if (!(e instanceof StoreError && e.code === 'CORRUPT')) throw e;
        if (attempt >= 1)
          throw new RemoteError('BAD_RESPONSE', `the server sent a corrupt copy of ${d}, twice`);
      }
    }
  };
  const meta = async (d: Digest, path?: string): Promise<Uint8Array> =>
    (await obtain(d, verifySha256, path)) ?? store.read(d, verifySha256);

  // Metadata first (small), collecting the chunks; dependencies are walked too.
  const chunkSizes = new Map<Digest, number>();
  const seen = new Set<Digest>();
  const queue: { digest: Digest; path?: string }[] = [
    {
      digest: record.digest,
      path: `/packages/${encodeURIComponent(name)}/${encodeURIComponent(version)}/manifest`,
    },
  ];
  let root: Manifest | null = null;
  for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
    if (seen.has(item.digest)) continue;
    seen.add(item.digest);
    const manifest = parseManifest(await meta(item.digest, item.path));
    root ??= manifest;
    // The layer indexes and the profile at once: one round trip, not one each.
    const work: Promise<void>[] = [];
    for (const layer of manifest.layers) {
      if (seen.has(layer.digest)) continue;
      seen.add(layer.digest);
      work.push(
        meta(layer.digest).then((bytes) => {
          const index = parseLayerIndex(bytes);
          for (const entry of index.entries)
            for (const c of entry.chunks ?? []) chunkSizes.set(c.digest, c.size);
        }),
      );
    }
    if (manifest.profile !== null && !seen.has(manifest.profile)) {
      seen.add(manifest.profile);
      work.push(meta(manifest.profile).then((bytes) => void parseProfile(bytes)));
    }
    await Promise.all(work);
    for (const dep of manifest.dependencies) queue.push({ digest: dep.digest });
  }

  if (metadataOnly) return { record, manifest: root!, fetched, skipped, fetchedBytes };
  const wanted = [...chunkSizes].filter(([d]) => {
    if (!store.has(d)) return true;
    skipped++;
    return false;
  });
  const total = wanted.reduce((n, [, size]) => n + size, 0);
  let done = 0;
  onProgress(0, total);
  const verifyChunk = chunkVerifier(nodeDecoders, nodeHasher);
  await eachLimited(wanted, PARALLEL, async ([d, size]) => {
    await obtain(d, verifyChunk);
    done += size;
    onProgress(done, total);
  });
  return { record, manifest: root!, fetched, skipped, fetchedBytes };
}

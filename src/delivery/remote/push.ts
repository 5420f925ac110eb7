/**
 * Push: upload a package from the local store to a server, sending only the
 * objects the server lacks, then register name@version. Objects are read
 * verified (a damaged local object is never sent), uploaded a few at a time,
 * and the package is registered last, so a push cut off half-way leaves
 * nothing named on the server and the next push sends only the rest.
 */
import { packageObjects } from '../../package/bundle/index.js';
import { chunkVerifier, nodeDecoders, nodeHasher, type Digest, type Signature } from '../../package/node.js';
import type { FsObjectStore } from '../../store/fs/index.js';
import { verifySha256 } from '../../store/fs/index.js';
import { RemoteError, eachLimited, type RemoteClient } from './client.js';

export interface PushResult {
  objects: number;
  uploaded: number;
  uploadedBytes: number;
  totalBytes: number;
}

const BATCH = 10_000;
const PARALLEL = 8;

export async function pushPackage(
  client: RemoteClient,
  store: FsObjectStore,
  pkg: { name: string; version: string; digest: Digest; signatures: Signature[] },
  onProgress: (done: number, total: number) => void = () => {},
): Promise<PushResult> {
  const walk = packageObjects(store, [pkg.digest], { withDependencies: true, hasher: nodeHasher });
  const bad = walk.unreadable[0];
  if (bad)
    throw new RemoteError('REFUSED', `the local object ${bad.digest} is damaged: ${bad.error.message}`);
  const missingHere = [...walk.missing, ...walk.external];
  if (missingHere.length > 0)
    throw new RemoteError(
      'REFUSED',
      `the local store lacks ${missingHere.length} objects, e.g. ${missingHere[0]}`,
    );
  const chunks = new Set(walk.chunks);
  const all = [...walk.meta, ...walk.chunks];

  const lacking: Digest[] = [];
  for (let i = 0; i < all.length; i += BATCH) {
    const r = await client.json<{ missing: Digest[] }>('POST', '/objects/missing', {
      digests: all.slice(i, i + BATCH),
    });
    lacking.push(...r.missing);
  }
  const sizeOf = (d: Digest) => store.size(d) ?? 0;
  const total = lacking.reduce((n, d) => n + sizeOf(d), 0);
  let done = 0;
  onProgress(0, total);
  const verifyChunk = chunkVerifier(nodeDecoders, nodeHasher);
  await eachLimited(lacking, PARALLEL, async (d) => {
    const bytes = store.read(d, chunks.has(d) ? verifyChunk : verifySha256);
    await client.put(`/objects/${d}`, bytes);
    done += bytes.length;
    onProgress(done, total);
  });
  await client.json('POST', '/packages', {
    name: pkg.name,
    version: pkg.version,
    manifest: pkg.digest,
    signatures: pkg.signatures,
  });
  return {
    objects: all.length,
    uploaded: lacking.length,
    uploadedBytes: total,
    totalBytes: all.reduce((n, d) => n + sizeOf(d), 0),
  };
}

/**
 * What the guest's worker loads first in a package run: the store's read
 * path and its share of reading the entry module (entry-read.ts), in a
 * module of its own (~42 KB bundled). It loads in a few milliseconds, so the
 * worker starts on the entry's chunks as soon as it is booted. The package
 * view's module (view-node.ts) loads afterwards, while the main thread
 * compiles, and takes the store code from here rather than carrying a second
 * copy (scripts/bundle.mjs keeps this module out of its bundle).
 */
import { FsObjectStore } from '../../store/fs/object-store.js';
import { helpRead, type EntryReadJob } from './entry-read.js';

export { FsObjectStore };
export { readChunk } from '../../package/chunk-io.js';
export { nodeDecoders } from '../../package/codec-node.js';
export { nodeHasher } from '../../package/hash-node.js';

/** Called by the worker (runtime/node/worker-main.ts) with the job the main thread posted. */
export function runTask(data: unknown): void {
  const job = data as EntryReadJob;
  helpRead(job, new FsObjectStore(job.root));
}

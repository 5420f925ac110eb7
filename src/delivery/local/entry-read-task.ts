/**
 * The guest's worker's share of reading a package's entry module
 * (entry-read.ts), in a module of its own: it loads in a few milliseconds,
 * so the worker starts on the chunks as soon as it is booted instead of after
 * the package view's module (view-node.ts), which it loads afterwards, while
 * the main thread compiles.
 */
import { FsObjectStore } from '../../store/fs/object-store.js';
import { helpRead, type EntryReadJob } from './entry-read.js';

/** Called by the worker (runtime/node/worker-main.ts) with the job the main thread posted. */
export function runTask(data: unknown): void {
  const job = data as EntryReadJob;
  helpRead(job, new FsObjectStore(job.root));
}

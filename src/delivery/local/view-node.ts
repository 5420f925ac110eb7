/**
 * Builds a package's view inside the guest's worker (see view-spec.ts). The
 * runtime imports this module by URL and calls buildView; nothing here runs
 * on the main thread.
 */
import type { ObjectStore } from '../../store/types.js';
// The store's read path comes from the module the worker loaded first (worker-store.ts).
import { FsObjectStore, nodeDecoders, nodeHasher, readChunk } from './worker-store.js';
import { LayerFileSystem } from '../../vfs/layer.js';
import { UnionFileSystem } from '../../vfs/union.js';
import { MemoryFileSystem } from '../../vfs/memfs.js';
import { HostFileSystem } from '../../vfs/host/hostfs.js';
import { hideLockedInUpper, lockView, settingsLayer } from './settings-layer.js';
import { Errno, fsError } from '../../vfs/errno.js';
import type { FileSystem } from '../../vfs/types.js';
import { ChunkCache } from '../chunk-cache.js';
import type { PackageViewSpec } from './view-spec.js';
import { ViewError, readWhole } from '../view-read.js';

interface ViewContext {
  warn: (message: string) => void;
  /** False when the main thread already compiled the entry (entry.ts). */
  needEntry?: boolean;
  /** Asks the main thread to fetch an object into the store (streamed runs); false if it cannot. */
  fetchObject?: (digest: string) => boolean;
  /** The same for many objects, fetched in parallel; false if any cannot be had. */
  fetchObjects?: (digests: string[]) => boolean;
}

/**
 * The secondary module of a split entry, read from the package's own layers
 * (never the user's state layer: a guest cannot plant code there for its
 * next run). A streamed run asks for all its missing chunks at once, so they
 * arrive in parallel rather than one round trip each.
 */
function loadSecondary(spec: PackageViewSpec, layers: FileSystem[], ctx: ViewContext): Uint8Array {
  const path = spec.secondary!.replace(/^\/+/, '');
  if (spec.streamed && ctx.fetchObjects) {
    const entry = spec.layers.flatMap((l) => l.entries).find((e) => e.path === path);
    if (entry?.chunks) ctx.fetchObjects(entry.chunks.map((c) => c.digest));
  }
  try {
    return readWhole(new UnionFileSystem(layers, new MemoryFileSystem()), path);
  } catch (e) {
    if ((e as { errno?: number }).errno === Errno.NOENT)
      throw new ViewError(`its secondary module ${spec.secondary} is not in the package`);
    if ((e as { errno?: number }).errno === Errno.IO)
      throw new ViewError(`its secondary module ${spec.secondary} could not be read in full`);
    throw e;
  }
}

export async function buildView(data: unknown, ctx: ViewContext) {
  const spec = data as PackageViewSpec;
  // Only a bundle run needs the bundle reader; a store run does not load it.
  const store: ObjectStore =
    spec.source.kind === 'store'
      ? new FsObjectStore(spec.source.root)
      : (await import('../../package/bundle/reader.js')).openBundle(spec.source.file).store;
  const refused = new Set<string>();
  // The launch profile: distinct chunks in the order they were first read, until the first output.
  const recording = spec.recordProfile === true;
  let beforeOutput = true;
  const profile: string[] = [];
  const after: string[] = [];
  const cache = new ChunkCache((digest, size) => {
    if (recording) (beforeOutput ? profile : after).push(digest);
    try {
      // Streamed: a chunk not here yet is fetched (verified) into the store by the main thread.
      if (spec.streamed && !store.has(digest) && ctx.fetchObject && !ctx.fetchObject(digest))
        throw new Error('it could not be fetched from the server');
      return readChunk(store, { digest, size }, nodeDecoders, nodeHasher);
    } catch (e) {
      // Never hand unverified bytes to the guest: it gets EIO, the user a warning.
      if (!refused.has(digest)) {
        refused.add(digest);
        ctx.warn(`refused chunk ${digest}: ${(e as Error).message} (run 'capsule verify' on the package)`);
      }
      throw fsError(Errno.IO, `chunk ${digest}`);
    }
  }, spec.cacheBytes);

  let layers: FileSystem[];
  try {
    layers = spec.layers.map((index) => new LayerFileSystem(index, cache));
  } catch (e) {
    throw new ViewError(`the package is damaged: ${(e as Error).message} (run 'capsule verify')`);
  }
  const lowers = [settingsLayer(spec.settingsFiles), ...layers];
  const upper: FileSystem = spec.upperDir ? new HostFileSystem(spec.upperDir) : new MemoryFileSystem();
  // An admin lock wins over what the user wrote before the lock existed.
  if (spec.lockedPaths.length > 0) hideLockedInUpper(upper, spec.lockedPaths, lowers);
  const view = lockView(new UnionFileSystem(lowers, upper), spec.lockedPaths);
  const entryPath = spec.entry.replace(/^\/+/, '');
  const readEntry = (): Uint8Array => {
    try {
      return readWhole(view, entryPath);
    } catch (e) {
      const errno = (e as { errno?: number }).errno;
      if (errno === Errno.NOENT) throw new Error(`its entry ${spec.entry} is not in the package`);
      if (errno === Errno.IO) throw new ViewError(`its entry ${spec.entry} has corrupt chunks; refused`);
      throw e;
    }
  };
  const wasm = ctx.needEntry !== false ? readEntry() : new Uint8Array(0);
  return {
    preopens: [{ guestPath: '/', fs: view }],
    wasm,
    readEntry,
    loadSecondary: spec.secondary === undefined ? undefined : () => loadSecondary(spec, layers, ctx),
    onFirstOutput: () => {
      beforeOutput = false;
    },
    result: () => {
      if (!spec.recordProfile) return undefined;
      const before = new Set(profile);
      return { profile, after: [...new Set(after)].filter((d) => !before.has(d)) };
    },
  };
}

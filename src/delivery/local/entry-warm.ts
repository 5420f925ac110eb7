/**
 * Filling the entry cache (entry-cache.ts) ahead of the first launch. Its own
 * module: it needs the package readers, which the guest's worker, loading
 * entry-cache.ts through entry-read.ts, does not.
 */
import { readLayerIndex } from '../../package/objects.js';
import type { ChunkRef, Digest } from '../../package/types.js';
import type { CapsuleHome } from '../../store/home.js';
import type { ObjectStore } from '../../store/types.js';
import { entryCacheKey, entryCacheOf } from './entry-cache.js';
import { SharedEntryRead } from './entry-read.js';
import { entryChunks } from './entry.js';
import { layerStack } from './resolve.js';
/**
 * The entry's chunks of the package `manifest` as its layers alone decide
 * them (no user state, no settings files above): what the entry cache is
 * keyed by. Throws what reading the package throws.
 */
export function storedEntryChunks(store: ObjectStore, manifest: Digest): ChunkRef[] | null {
  const stack = layerStack(store, manifest);
  const indexes = [...stack.layers].reverse().map((d) => readLayerIndex(store, d));
  return entryChunks(indexes, stack.manifest.entry, { upperDir: null, settingsFiles: {} });
}

/**
 * Fills the entry cache for the package `manifest` right after it arrived in
 * the store (pack, import, pull), so that even its first launch reads one
 * checked file instead of decoding its chunks. The bytes are read out of the
 * store and verified as a launch would read them. Best effort: a package
 * whose entry cannot be read this way (a dependency missing, not a
 * WebAssembly module) is left for its first launch to report.
 */
export async function warmEntryCache(home: CapsuleHome, store: ObjectStore, manifest: Digest): Promise<void> {
  try {
    const chunks = storedEntryChunks(store, manifest);
    if (!chunks) return;
    const cache = entryCacheOf(home);
    const key = entryCacheKey(chunks);
    if (cache.covered(key, chunks) > 0) return;
    const read = SharedEntryRead.start(store, home.store.root, chunks, { customs: [], tail: 0 });
    await read.bytes(undefined);
    await cache.write(key, read.verifiedPrefix());
  } catch {
    // the first launch reads the store, and says what is wrong if anything is
  }
}

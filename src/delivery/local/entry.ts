/**
 * Reads a package's entry module on the main thread, straight from its
 * layers, so it can be compiled while the guest's worker boots. This is an
 * optimisation only: whenever anything above the package layers could
 * change what the app sees at that path (the user's state layer, a settings
 * file, a whiteout), it returns null and the worker reads the entry through
 * the full view as usual.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readChunk } from '../../package/chunk-io.js';
import type { ChunkRef, LayerEntry, LayerIndex } from '../../package/types.js';
import { nodeDecoders } from '../../package/codec-node.js';
import { nodeHasher } from '../../package/hash-node.js';
import type { ObjectStore } from '../../store/types.js';
import { OPAQUE_MARKER, WHITEOUT_PREFIX } from '../../vfs/union-layout.js';
import { layerEntryChunks } from '../entry-chunks.js';

/** True when the state directory holds anything at or above `path` that the union would honour. */
function shadowedByState(upperDir: string, path: string): boolean {
  if (existsSync(join(upperDir, path))) return true;
  const parts = path.split('/');
  let dir = '';
  for (const part of parts) {
    if (existsSync(join(upperDir, dir, OPAQUE_MARKER))) return true;
    if (existsSync(join(upperDir, dir, WHITEOUT_PREFIX + part))) return true;
    dir = dir ? `${dir}/${part}` : part;
  }
  return false;
}

/** The entry's chunks in order, or null when the layers alone do not decide its bytes (entry-chunks.ts). */
export function entryChunks(
  layersTopFirst: { entries: LayerEntry[]; whiteouts: string[]; opaque: string[] }[],
  entry: string,
  above: { upperDir: string | null; settingsFiles: Record<string, string> },
): ChunkRef[] | null {
  const { upperDir } = above;
  return layerEntryChunks(layersTopFirst, entry, {
    settingsFiles: above.settingsFiles,
    shadowed: (path) => upperDir !== null && shadowedByState(upperDir, path),
  });
}

/** The entry's bytes as its chunks in order, each read and verified when the consumer asks; see entryChunks. */
export function readEntryFromLayers(
  store: ObjectStore,
  layersTopFirst: LayerIndex[],
  entry: string,
  above: { upperDir: string | null; settingsFiles: Record<string, string> },
): Iterable<Uint8Array> | null {
  const chunks = entryChunks(layersTopFirst, entry, above);
  if (!chunks) return null;
  return (function* () {
    for (const c of chunks) yield readChunk(store, c, nodeDecoders, nodeHasher);
  })();
}

/**
 * Which chunks make up a package's entry module, from its layer indexes
 * alone (platform-neutral). The main thread uses this to compile the entry
 * while the guest's worker boots. Whenever anything above the package layers
 * could change what the app sees at that path (the user's state, a settings
 * file, a whiteout), the answer is null and the worker reads the entry
 * through its full view instead.
 */
import type { ChunkRef, LayerEntry } from '../package/types.js';

function ancestors(path: string): string[] {
  const parts = path.split('/');
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('/'));
}

/**
 * The entry's chunks in order, or null when the entry cannot be read from
 * the layers alone (shadowed by state or settings, a whiteout, not a file,
 * or above V8's module size limit: the worker then reports it).
 * `shadowed(path)` says whether the user's state layer holds anything at or
 * above the (relative) path that the union would honour.
 */
export function layerEntryChunks(
  layersTopFirst: { entries: LayerEntry[]; whiteouts: string[]; opaque: string[] }[],
  entry: string,
  above: { settingsFiles: Record<string, string>; shadowed: (path: string) => boolean },
): ChunkRef[] | null {
  const path = entry.replace(/^\/+/, '');
  if (Object.keys(above.settingsFiles).some((p) => p.replace(/^\/+/, '') === path)) return null;
  if (above.shadowed(path)) return null;
  const dirs = ancestors(path);
  for (const index of layersTopFirst) {
    if (index.whiteouts.some((w) => w === path || dirs.includes(w))) return null;
    const found = index.entries.find((e) => e.path === path);
    if (found) return found.type === 'file' && found.size <= 1 << 30 ? (found.chunks ?? []) : null;
    if (index.opaque.some((o) => dirs.includes(o))) return null;
  }
  return null;
}

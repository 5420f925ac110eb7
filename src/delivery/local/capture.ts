/**
 * Capture (App-V's "sequencing"): what an app wrote into a fresh state layer
 * during its setup run becomes a package layer. The state layer holds the
 * union's markers (`.wh.<name>` for a deletion, `.wh..wh..opq` for a
 * directory that replaced one below); a package layer records the same
 * facts in its index (`whiteouts`, `opaque`), so the markers are turned
 * into those lists and the rest is packed as any tree is.
 */
import { cpSync, lstatSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { packTree, type PackStats } from '../../package/pack.js';
import { compareUtf8, readLayerIndex, writeLayerIndex, type LayerRef } from '../../package/index.js';
import { nodeHasher } from '../../package/node.js';
import type { ObjectStore } from '../../store/types.js';
import { OPAQUE_MARKER, WHITEOUT_PREFIX } from '../../vfs/union-layout.js';

export interface CapturedLayer {
  layer: LayerRef;
  stats: PackStats;
  whiteouts: string[];
  opaque: string[];
}

/** Lists the markers of a state directory and copies everything else to `into`. */
function splitMarkers(upper: string, into: string): { whiteouts: string[]; opaque: string[] } {
  const whiteouts: string[] = [];
  const opaque: string[] = [];
  const walk = (rel: string) => {
    const dir = rel ? join(upper, rel) : upper;
    for (const name of readdirSync(dir)) {
      const path = rel ? `${rel}/${name}` : name;
      if (name === OPAQUE_MARKER) opaque.push(rel);
      else if (name.startsWith(WHITEOUT_PREFIX + WHITEOUT_PREFIX))
        continue; // scratch of an interrupted copy-up
      else if (name.startsWith(WHITEOUT_PREFIX))
        whiteouts.push(rel ? `${rel}/${name.slice(4)}` : name.slice(4));
      else if (lstatSync(join(upper, path)).isDirectory()) walk(path);
    }
  };
  walk('');
  cpSync(upper, into, {
    recursive: true,
    verbatimSymlinks: true,
    filter: (src) =>
      !src
        .slice(upper.length)
        .split('/')
        .some((part) => part.startsWith(WHITEOUT_PREFIX)),
  });
  return { whiteouts: whiteouts.sort(compareUtf8), opaque: opaque.filter((o) => o !== '').sort(compareUtf8) };
}

export async function layerFromState(
  upperDir: string,
  store: ObjectStore,
  onProgress?: (done: number, total: number) => void,
): Promise<CapturedLayer> {
  const staging = mkdtempSync(join(upperDir, '..', 'capture-'));
  try {
    const tree = join(staging, 'tree');
    const { whiteouts, opaque } = splitMarkers(upperDir, tree);
    const packed = await packTree(tree, store, { onProgress });
    if (whiteouts.length === 0 && opaque.length === 0) return { ...packed, whiteouts, opaque };
    const index = readLayerIndex(store, packed.layer.digest);
    const digest = writeLayerIndex(store, { ...index, whiteouts, opaque }, nodeHasher);
    return {
      layer: { ...packed.layer, digest, entries: index.entries.length },
      stats: packed.stats,
      whiteouts,
      opaque,
    };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

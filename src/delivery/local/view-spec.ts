/**
 * What the worker needs to build a package's view: plain data, passed to the
 * worker thread and turned into filesystems there (view-node.ts).
 *
 * The view, top to bottom (DESIGN.md):
 *   1. the user's state layer: a host directory, read-write, copy-up on write
 *   2. the settings layer: effective settings files (package < policy < user)
 *   3. the package's layers, top first
 *   4. its dependencies' layers
 * Locked paths are read-only to the guest whatever layer holds them.
 */
import type { LayerContent } from '../../vfs/layer.js';

export interface PackageViewSpec {
  /** Where objects come from: the local store's root directory, or a bundle file read in place. */
  source: { kind: 'store'; root: string } | { kind: 'bundle'; file: string };
  /**
   * The layer indexes, top first (package layers, then dependencies'),
   * already read and validated on the main thread: the worker does not load
   * the validation code again.
   */
  layers: LayerContent[];
  /** Settings files: guest path (absolute) -> content. */
  settingsFiles: Record<string, string>;
  /** Guest paths (absolute) the admin locked. */
  lockedPaths: string[];
  /** The user's state directory, or null for a throwaway in-memory upper layer. */
  upperDir: string | null;
  /** The entry module's guest path (absolute). */
  entry: string;
  /** Bytes of decoded chunks to keep in memory. */
  cacheBytes?: number;
  /** Chunks missing from the store are fetched on demand through the bridge (capsule run URL). */
  streamed?: boolean;
  /** Record the chunks read before the first output, in order (a launch profile). */
  recordProfile?: boolean;
  /** The entry is split (manifest.split): the secondary module's guest path (absolute). */
  secondary?: string;
}

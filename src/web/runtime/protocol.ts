/**
 * What the page hands the guest's Web Worker, and what comes back. Like
 * Node's runtime/node/protocol.ts, but the worker has no store or host
 * files: the layer indexes and the user's state come as plain data, chunks
 * through the bridge (READ_OBJECT), and output as messages.
 */
import type { LayerContent } from '../../vfs/layer.js';
import type { ArchiveRecord } from '../../delivery/local/state-archive-format.js';

export interface BrowserWorkerSpec {
  /** What messages call the program (name@version). */
  label: string;
  /** The layer indexes, top first (the package's layers, then its dependencies'). */
  layers: LayerContent[];
  /** Settings files: guest path (absolute) -> content. */
  settingsFiles: Record<string, string>;
  lockedPaths: string[];
  /** The entry module's guest path (absolute). */
  entry: string;
  /** A split entry's secondary module (absolute guest path). */
  secondary?: string;
  args: string[];
  env: [string, string][];
  /** The user's state layer, as archive records, or null for an empty one. */
  state: ArchiveRecord[] | null;
  /** The page compiles the entry and posts it ({t: 'module'}); otherwise the worker reads it. */
  hostCompiles: boolean;
  bridge: SharedArrayBuffer;
}

export type PageMessage =
  { t: 'spec'; spec: BrowserWorkerSpec } | { t: 'module'; module?: WebAssembly.Module; none?: boolean };

export type BrowserWorkerMessage =
  | { t: 'wake' }
  | { t: 'stdout'; data: Uint8Array }
  | { t: 'stderr'; data: Uint8Array }
  | { t: 'warn'; message: string }
  /** The state layer changed: all of it, in archive order (sent when the guest waits for input, and at the end). */
  | { t: 'state'; records: ArchiveRecord[] }
  | { t: 'exit'; code: number }
  | { t: 'trap'; reason: string; func: string | null }
  | { t: 'fail'; code: number; message: string };

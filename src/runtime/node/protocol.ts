/** What the main thread hands a guest worker, and what comes back. */
export interface MountSpec {
  host: string;
  guest: string;
  readOnly: boolean;
}

/**
 * A filesystem view built inside the worker (filesystems are synchronous
 * objects and cannot cross threads): `module` is the URL of a module whose
 * `buildView(data)` returns the preopens and the entry module's bytes. The
 * runtime stays ignorant of packages and stores; delivery/ supplies this.
 */
export interface ViewSpec {
  module: string;
  data: unknown;
}

export interface WorkerSpec {
  /** What the error messages call the program. */
  label: string;
  /** The main thread compiles the module and posts it ({t: 'module'}); the view need not supply it. */
  hostCompiles: boolean;
  /** A .wasm file on the host; or, with `view`, the entry comes from the view. */
  wasmPath?: string;
  view?: ViewSpec;
  args: string[];
  env: [string, string][];
  mounts: MountSpec[];
  /** Memory limit in 64 KiB pages; undefined = the module's own maximum. */
  memoryPages?: number;
  /** isatty of fds 0, 1, 2 on the host. */
  tty: [boolean, boolean, boolean];
  bridge: SharedArrayBuffer;
  /**
   * Set when stdout and stderr go to the main thread as {t: 'output'}
   * messages instead of the host's fds (a cloud session). Int32 [0]: bytes
   * posted and not yet taken by the main thread; [1]: the window. A write
   * waits while [0] >= [1], so a slow consumer slows the guest down instead
   * of queueing without end.
   */
  output?: SharedArrayBuffer;
  /** The module is instrumented (wasm-split --instrument): report its function profile at the end. */
  functionProfile?: boolean;
}

export type WorkerMessage =
  | { t: 'wake' }
  | { t: 'thread'; tid: number }
  | { t: 'output'; fd: 1 | 2; data: Uint8Array }
  | { t: 'warn'; message: string }
  | { t: 'view-result'; data: unknown }
  | { t: 'function-profile'; data: Uint8Array }
  | { t: 'exit'; code: number }
  | { t: 'trap'; reason: string; func: string | null }
  | { t: 'fail'; code: number; message: string };

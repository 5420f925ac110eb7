/** What the main thread hands a guest worker, and what comes back. */
export interface MountSpec {
  host: string;
  guest: string;
  readOnly: boolean;
}

export interface WorkerSpec {
  wasmPath: string;
  args: string[];
  env: [string, string][];
  mounts: MountSpec[];
  /** Memory limit in 64 KiB pages; undefined = the module's own maximum. */
  memoryPages?: number;
  /** isatty of fds 0, 1, 2 on the host. */
  tty: [boolean, boolean, boolean];
  bridge: SharedArrayBuffer;
}

export type WorkerMessage =
  | { t: 'wake' }
  | { t: 'exit'; code: number }
  | { t: 'trap'; reason: string; func: string | null }
  | { t: 'fail'; code: number; message: string };

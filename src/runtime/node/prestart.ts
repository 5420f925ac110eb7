/**
 * Starting a worker thread takes tens of milliseconds. `capsule run` starts
 * it before it has even parsed its command line, so the boot overlaps the
 * CLI's own start-up; the session then hands it its spec by message.
 *
 * The worker is kept on globalThis, not in a module variable: the CLI's
 * entry and the bundled `run` command each carry their own copy of this
 * module.
 */
import { Worker } from 'node:worker_threads';

const KEY = Symbol.for('capsule.prestarted-worker');
const slot = globalThis as { [KEY]?: Worker };

/** `codeCacheVariant`: which of its code caches the worker loads (code-cache.ts). */
export function prestartWorker(codeCacheVariant?: string): void {
  slot[KEY] ??= new Worker(new URL('./worker-main.js', import.meta.url), {
    stdout: false,
    stderr: false,
    env:
      codeCacheVariant === undefined
        ? process.env
        : { ...process.env, CAPSULE_CODE_CACHE_VARIANT: codeCacheVariant },
  });
  // An unused worker must not keep the process alive.
  slot[KEY].unref();
}

export function takePrestartedWorker(): Worker | undefined {
  const w = slot[KEY];
  slot[KEY] = undefined;
  w?.ref();
  return w;
}

/**
 * Gives the prestarted worker, if there is one, work to do before its
 * session starts: it imports the module at URL `module` and, when `data` is
 * given, calls its `runTask(data)` (worker-main.ts). Importing alone loads
 * ahead a module the session will need (the package view). The worker stays
 * the session's. False when there is no prestarted worker.
 */
export function taskForPrestartedWorker(module: string, data?: unknown): boolean {
  const w = slot[KEY];
  if (!w) return false;
  w.postMessage({ t: 'task', module, data });
  return true;
}

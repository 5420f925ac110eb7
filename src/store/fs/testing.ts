/**
 * Test support for the disk store: throwaway store directories and child
 * processes that load the compiled store modules, to play a second capsule
 * process (or one that gets killed).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, closeSync, mkdtempSync, openSync, readSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Digest } from '../../package/types.js';
import { FsObjectStore } from './object-store.js';

export function tempStoreDir(): { root: string; cleanup: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'capsule-store-'));
  return { root, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/** A test body run on a fresh disk store in a throwaway directory (removed afterwards). */
export function withFsStore(
  body: (root: string, store: FsObjectStore) => void | Promise<void>,
): () => Promise<void> {
  return async () => {
    const dir = tempStoreDir();
    try {
      await body(dir.root, new FsObjectStore(dir.root));
    } finally {
      dir.cleanup();
    }
  };
}

/** The file URL of a compiled module next to this one, for a child's `import`. */
export function moduleUrl(file: string): string {
  return new URL(`./${file}`, import.meta.url).href;
}

/** Starts `node` on an ES module given as source. */
export function spawnModule(source: string): ChildProcess {
  return spawn(process.execPath, ['--input-type=module', '-e', source], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Resolves when the child has exited, with everything it printed. */
export function finished(child: ChildProcess): Promise<ChildResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Resolves when the child prints a line equal to `line` (and rejects if it exits first). */
export function printed(child: ChildProcess, line: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    let stderr = '';
    child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
    child.stdout?.on('data', (b: Buffer) => {
      seen += b.toString();
      if (seen.split('\n').includes(line)) resolve();
    });
    child.on('close', (code) =>
      reject(new Error(`child exited (${code}) before printing ${line}: ${stderr}`)),
    );
  });
}

/** The pid of a process that has exited (so, almost surely, no live process has it). */
export async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  const pid = child.pid;
  await new Promise((resolve) => child.on('close', resolve));
  if (pid === undefined) throw new Error('spawn gave no pid');
  return pid;
}

/**
 * Flips one byte of a stored object where it lies on disk (its own file or
 * its range of a pack file), as a failing disk or a tamperer would; `at` is
 * the byte's offset within the object (default: its middle). Returns the
 * file changed.
 */
export function damageObject(store: FsObjectStore, digest: Digest, at?: number): string {
  const where = store.locate(digest);
  if (!where) throw new Error(`${digest} is not in the store`);
  const pos = where.offset + (at ?? where.length >> 1);
  const mode = statSync(where.path).mode;
  chmodSync(where.path, 0o644);
  const fd = openSync(where.path, 'r+');
  try {
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, pos);
    b[0] = b[0]! ^ 0xff;
    writeSync(fd, b, 0, 1, pos);
  } finally {
    closeSync(fd);
    chmodSync(where.path, mode & 0o777);
  }
  return where.path;
}

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (tests run from dist/tests/). */
export const root = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
export const cliPath = join(root, 'dist/src/cli/main.js');
export const wasmDir = join(root, 'build/wasm');
export const wasm = (name: string) => join(wasmDir, `${name}.wasm`);

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface RunOpts {
  input?: string | Buffer;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** Called with the child once it starts (to send signals). */
  onSpawn?: (child: ReturnType<typeof spawn>) => void;
}

/** Runs a command to completion and collects its output. */
export function exec(cmd: string, args: string[], opts: RunOpts = {}): Promise<RunResult> {
  const started = performance.now();
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd ?? root,
      env: opts.env ?? { ...process.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const killer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      resolvePromise({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        ms: performance.now() - started,
      });
    });
    child.stdin.on('error', () => {});
    // With onSpawn and no input, the caller feeds stdin itself.
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else if (!opts.onSpawn) child.stdin.end();
    opts.onSpawn?.(child);
  });
}

/** Runs the capsule CLI as a user would (node + the built entry point). */
export function capsule(args: string[], opts: RunOpts = {}): Promise<RunResult> {
  return exec(process.execPath, [cliPath, ...args], opts);
}

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir(prefix = 'capsule-test-'): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

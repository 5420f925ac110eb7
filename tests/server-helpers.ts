/** A real `capsule serve` process on 127.0.0.1 with an ephemeral port, for the server tests. */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { capsule, cliPath, wasm, type RunOpts } from './helpers.js';

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

export async function startServe(
  dataDir: string,
  args: string[] = [],
  env: NodeJS.ProcessEnv = {},
): Promise<ServerProcess> {
  const child = spawn(process.execPath, [cliPath, 'serve', '--port', '0', '--data', dataDir, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      const m = /listening on (https?:\/\/[0-9.]+:\d+)/.exec(out);
      if (m) {
        clearInterval(timer);
        resolve(m[1]!);
      }
    }, 20);
    void exited.then((code) => {
      clearInterval(timer);
      reject(new Error(`capsule serve exited ${code}: ${err}`));
    });
  });
  return {
    url,
    child,
    stdout: () => out,
    stderr: () => err,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

/** A CAPSULE_HOME for one client, with a packed SQLite shell package. */
export function clientHome(dir: string, token?: string) {
  const env: NodeJS.ProcessEnv = { ...process.env, CAPSULE_HOME: join(dir, 'home'), CAPSULE_USER: 'tester' };
  delete env.CAPSULE_TOKEN;
  if (token) env.CAPSULE_TOKEN = token;
  const run = (args: string[], opts: RunOpts = {}) =>
    capsule(args, { ...opts, env: { ...env, ...opts.env } });
  return { env, run };
}

type ClientHome = ReturnType<typeof clientHome>;

/** Adds a user through the admin's CLI; returns the new user's token. */
export async function addUser(
  admin: ClientHome,
  server: string,
  name: string,
  role: string,
): Promise<string> {
  const r = await admin.run(['admin', 'user', 'add', name, '--role', role, '--server', server, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { token: string }).token;
}

/** Packs `tree` as sqlite@1.0.0 with the SQLite shell as its entry (/bin/sqlite3.wasm); `extra`: more pack options. */
export async function packSqlite(home: ClientHome, tree: string, extra: string[] = []): Promise<void> {
  const r = await home.run([
    'pack',
    tree,
    '--name',
    'sqlite',
    '--version',
    '1.0.0',
    '--entry',
    '/bin/sqlite3.wasm',
    ...extra,
  ]);
  assert.equal(r.code, 0, r.stderr);
}

/** Streams sqlite@1.0.0 from `server` into `home` and runs `sql` on an in-memory database. */
export function runStreamedSql(home: ClientHome, server: string, sql = 'select 6*7;') {
  return home.run(['run', '--allow-unsigned', `${server}/sqlite@1.0.0`, '--', ':memory:', sql]);
}

/** Pushes NAME@VERSION from `home` to `server`. */
export async function push(home: ClientHome, ref: string, server: string): Promise<void> {
  const r = await home.run(['push', ref, '--server', server]);
  assert.equal(r.code, 0, r.stderr);
}

export function sqliteTree(dir: string, extra = ''): string {
  mkdirSync(join(dir, 'bin'), { recursive: true });
  cpSync(wasm('sqlite3'), join(dir, 'bin/sqlite3.wasm'));
  if (extra) cpSync(wasm('sqlite3'), join(dir, 'bin', extra));
  return dir;
}

export async function api(
  url: string,
  method: string,
  path: string,
  token?: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Record<string, unknown>; headers: Headers; bytes: Uint8Array }> {
  const h: Record<string, string> = { ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  let payload: BodyInit | undefined;
  if (body instanceof Uint8Array) payload = body as BodyInit;
  else if (typeof body === 'string') payload = body;
  else if (body !== undefined) {
    payload = JSON.stringify(body);
    h['content-type'] = 'application/json';
  }
  const res = await fetch(url + path, { method, headers: h, body: payload });
  const bytes = new Uint8Array(await res.arrayBuffer());
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown>;
  } catch {
    // not JSON (object bytes)
  }
  return { status: res.status, json, headers: res.headers, bytes };
}

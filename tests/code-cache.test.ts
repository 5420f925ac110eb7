// The V8 code cache of the start-up bundles (src/runtime/node/code-cache.ts):
// written by the first run, used as is by the next, and a damaged or foreign
// file is never handed to V8 unchecked: the run is unaffected and the file is
// replaced.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliPath, exec, wasm } from './helpers.js';
import { codeCacheDir, loadBundle } from '../src/runtime/node/code-cache.js';

const select = (cache: string) =>
  exec(process.execPath, [cliPath, 'run', wasm('sqlite3'), '--', ':memory:', 'select 6*7;'], {
    env: { ...process.env, CAPSULE_CODE_CACHE: cache, CAPSULE_HOME: join(cache, 'home') },
  });

const files = (dir: string) =>
  Object.fromEntries(
    readdirSync(dir)
      .filter((n) => n.endsWith('.v8'))
      .map((n) => [n, readFileSync(join(dir, n))]),
  );

/** Whether a cache file is well formed: magic, then the SHA-256 of the payload that follows. */
function wellFormed(bytes: Buffer): boolean {
  return (
    bytes.subarray(0, 8).toString('latin1') === 'CAPSV8C1' &&
    bytes.length > 40 &&
    createHash('sha256').update(bytes.subarray(40)).digest().equals(bytes.subarray(8, 40))
  );
}

test('the first run writes the cache of each start-up bundle; the next run uses it unchanged', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'capsule-code-cache-'));
  try {
    // A run that stops before its guest runs has compiled only part of the path: no cache from it.
    const failed = await exec(process.execPath, [cliPath, 'run', 'no-such-app'], {
      env: { ...process.env, CAPSULE_CODE_CACHE: dir, CAPSULE_HOME: join(dir, 'home') },
    });
    assert.notEqual(failed.code, 0);
    assert.deepEqual(files(dir), {});

    let r = await select(dir);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), '42');
    const first = files(dir);
    const bundles = Object.keys(first).map((n) => n.split('.')[0]);
    // The main thread's (run) and the guest worker's (worker-main).
    for (const b of ['run', 'worker-main']) assert.ok(bundles.includes(b), `${b} in ${bundles.join(', ')}`);
    for (const [n, bytes] of Object.entries(first)) {
      // A directory run: the 'file' variant.
      assert.match(n, /^[a-z-]+\.[0-9a-f]{32}\.file-v\d+\.\d+\.\d+-[a-z0-9]+\.v8$/);
      assert.ok(wellFormed(bytes), n);
    }
    r = await select(dir);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), '42');
    // Accepted by V8, so not written again.
    assert.deepEqual(files(dir), first);

    // A package run has caches of its own, and leaves the directory run's alone.
    const env = { ...process.env, CAPSULE_CODE_CACHE: dir, CAPSULE_HOME: join(dir, 'home') };
    const tree = join(dir, 'tree');
    mkdirSync(join(tree, 'bin'), { recursive: true });
    copyFileSync(wasm('sqlite3'), join(tree, 'bin/sqlite3.wasm'));
    const packed = await exec(
      process.execPath,
      [cliPath, 'pack', tree, '--name', 'sq', '--version', '1.0.0', '--entry', '/bin/sqlite3.wasm'],
      { env },
    );
    assert.equal(packed.code, 0, packed.stderr);
    r = await exec(process.execPath, [cliPath, 'run', '--ephemeral', 'sq', '--', ':memory:', 'select 6*7;'], {
      env,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), '42');
    const both = files(dir);
    for (const [n, bytes] of Object.entries(first)) assert.deepEqual(both[n], bytes, n);
    const pkg = Object.keys(both).filter((n) => n.includes('.package-'));
    for (const b of ['run', 'worker-main'])
      assert.ok(
        pkg.some((n) => n.startsWith(`${b}.`)),
        `${b} in ${pkg.join(', ')}`,
      );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a damaged, truncated or foreign cache file is not used: the run is right and the file is replaced', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'capsule-code-cache-'));
  try {
    assert.equal((await select(dir)).code, 0);
    const good = files(dir);
    const names = Object.keys(good);
    const run = names.find((n) => n.startsWith('run.'))!;
    const worker = names.find((n) => n.startsWith('worker-main.'))!;

    // A flipped byte in the payload (the checksum catches it), and a cut-off file.
    const flipped = Buffer.from(good[run]!);
    flipped[flipped.length >> 1]! ^= 0x40;
    writeFileSync(join(dir, run), flipped);
    writeFileSync(join(dir, worker), good[worker]!.subarray(0, 100));
    let r = await select(dir);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), '42');
    for (const n of [run, worker]) assert.ok(wellFormed(readFileSync(join(dir, n))), n);

    // A well-formed file holding another bundle's cache: V8 refuses it (another source).
    writeFileSync(join(dir, worker), readFileSync(join(dir, run)));
    r = await select(dir);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), '42');
    assert.notDeepEqual(readFileSync(join(dir, worker)), readFileSync(join(dir, run)));
    assert.ok(wellFormed(readFileSync(join(dir, worker))));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('CAPSULE_CODE_CACHE=off writes nothing; an unwritable folder only costs the saving', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'capsule-code-cache-'));
  try {
    const off = await exec(
      process.execPath,
      [cliPath, 'run', wasm('sqlite3'), '--', ':memory:', 'select 6*7;'],
      {
        env: {
          ...process.env,
          CAPSULE_CODE_CACHE: 'off',
          HOME: dir,
          XDG_CACHE_HOME: dir,
          CAPSULE_HOME: join(dir, 'home'),
        },
      },
    );
    assert.equal(off.code, 0, off.stderr);
    assert.equal(off.stdout.trim(), '42');
    assert.equal(existsSync(join(dir, 'capsule')), false);
    assert.equal(codeCacheDir({ CAPSULE_CODE_CACHE: 'off' }), null);
    assert.equal(codeCacheDir({ CAPSULE_CODE_CACHE: '/x/y' }), '/x/y');

    // A file where the folder should be.
    const blocked = join(dir, 'blocked');
    writeFileSync(blocked, 'not a folder');
    const r = await exec(
      process.execPath,
      [cliPath, 'run', wasm('sqlite3'), '--', ':memory:', 'select 6*7;'],
      {
        env: { ...process.env, CAPSULE_CODE_CACHE: join(blocked, 'code'), CAPSULE_HOME: join(dir, 'home') },
      },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), '42');
    // Nothing from capsule (the SQLite shell's own note about ~/.sqliterc aside).
    assert.equal(r.stderr.replace(/^-- warning: cannot find home directory.*\n/m, ''), '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('loadBundle: one instance per bundle, require relative to the bundle, import() relative to the bundle', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'capsule-code-cache-unit-'));
  const was = process.env.CAPSULE_CODE_CACHE;
  process.env.CAPSULE_CODE_CACHE = 'off'; // nothing left to write at this process's exit
  try {
    mkdirSync(join(dir, 'lib'));
    writeFileSync(
      join(dir, 'lib/a.cjs'),
      [
        'const shared = require("./shared.cjs");',
        'exports.shared = shared;',
        'exports.url = __bundleUrl;',
        'exports.later = () => __import("./later.mjs");',
        'exports.builtin = require("node:path").sep;',
      ].join('\n'),
    );
    writeFileSync(join(dir, 'lib/shared.cjs'), 'exports.counter = { n: 7 };');
    writeFileSync(join(dir, 'lib/later.mjs'), 'export const answer = 42;');
    const a = loadBundle(join(dir, 'lib/a.cjs')) as {
      shared: { counter: { n: number } };
      url: string;
      later: () => Promise<{ answer: number }>;
      builtin: string;
    };
    assert.equal(a.shared.counter.n, 7);
    assert.equal(loadBundle(join(dir, 'lib/a.cjs')), a);
    assert.ok(a.url.startsWith('file:') && a.url.endsWith('/lib/a.js'), a.url);
    assert.equal((await a.later()).answer, 42);
    assert.ok(a.builtin === '/' || a.builtin === '\\');
  } finally {
    if (was === undefined) delete process.env.CAPSULE_CODE_CACHE;
    else process.env.CAPSULE_CODE_CACHE = was;
    rmSync(dir, { recursive: true, force: true });
  }
});

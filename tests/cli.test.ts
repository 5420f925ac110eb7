import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync, mkdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { capsule, root, tempDir, wasm } from './helpers.js';

test('--help prints the commands and exits 0', async () => {
  const r = await capsule(['--help']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /run\s+run a \.wasm file, a package or a bundle/);
  assert.match(r.stdout, /pack\s+pack a directory/);
  const run = await capsule(['run', '--help']);
  assert.equal(run.code, 0);
  assert.match(run.stdout, /--dir HOST::GUEST/);
  assert.match(run.stdout, /--ro-dir/);
});

test('`npx capsule` works from the repository, as the README says', async () => {
  // npx runs the package's bin through the shell: it must be executable and start with #!.
  const { stdout } = await promisify(execFile)('npx', ['--no-install', 'capsule', '--help'], { cwd: root });
  assert.match(stdout, /run\s+run a \.wasm file, a package or a bundle/);
});

test('an unknown flag is exit 125 with usage and a one-line reason', async () => {
  const r = await capsule(['run', '--bogus', wasm('exit_code')]);
  assert.equal(r.code, 125);
  assert.match(r.stderr, /Usage: capsule run/);
  assert.match(r.stderr, /capsule: .*bogus/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
});

test('an unknown command is exit 125', async () => {
  const r = await capsule(['frobnicate']);
  assert.equal(r.code, 125);
  assert.match(r.stderr, /unknown command: frobnicate/);
});

test('bad --env, --timeout, --memory and --dir values are exit 125', async () => {
  for (const args of [
    ['--env', 'NOEQUALS'],
    ['--env', '=x'],
    ['--timeout', '-1'],
    ['--memory', 'lots'],
    ['--dir', '/definitely/not/here::/x'],
  ]) {
    const r = await capsule(['run', ...args, wasm('exit_code')]);
    assert.equal(r.code, 125, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /capsule: /);
  }
});

test('a missing file is exit 127', async () => {
  const r = await capsule(['run', 'no-such-file.wasm']);
  assert.equal(r.code, 127);
  assert.match(r.stderr, /no such file/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});

test('an invalid module is exit 126', async () => {
  const t = tempDir();
  try {
    const garbage = join(t.path, 'garbage.wasm');
    writeFileSync(garbage, 'this is not wasm');
    const r = await capsule(['run', garbage]);
    assert.equal(r.code, 126);
    assert.match(r.stderr, /not a valid WebAssembly module/);
    // A valid module that is not a WASI command (no _start, no memory).
    const empty = join(t.path, 'empty.wasm');
    writeFileSync(empty, Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
    const r2 = await capsule(['run', empty]);
    assert.equal(r2.code, 126);
    assert.match(r2.stderr, /cannot be started/);
  } finally {
    t.cleanup();
  }
});

test("the app's exit code is capsule's exit code", async () => {
  for (const code of [0, 1, 42, 255]) {
    const r = await capsule(['run', wasm('exit_code'), '--', String(code)]);
    assert.equal(r.code, code);
  }
});

test('a trap prints its reason and function and exits 134', async () => {
  const r = await capsule(['run', wasm('trap')]);
  assert.equal(r.code, 134);
  assert.match(r.stderr, /trapped in crash_here/);
  assert.match(r.stderr, /unreachable/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});

test('--timeout stops an infinite loop', async () => {
  const r = await capsule(['run', '--timeout', '1', wasm('spin')]);
  assert.equal(r.code, 124);
  assert.match(r.stderr, /--timeout 1s/);
  assert.ok(r.ms < 10_000, `took ${r.ms} ms`);
});

test('--memory makes allocation fail inside the app instead of growing without end', async () => {
  const r = await capsule(['run', '--memory', '64', wasm('hog')], { timeoutMs: 60_000 });
  assert.equal(r.code, 3, r.stderr);
  const m = /malloc failed at (\d+) MiB/.exec(r.stdout + r.stderr);
  assert.ok(m, r.stdout);
  assert.ok(Number(m[1]) <= 64 && Number(m[1]) >= 32, `failed at ${m[1]} MiB`);
});

test('SIGTERM and SIGINT stop the guest cleanly', async () => {
  for (const [sig, code] of [
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const) {
    const r = await capsule(['run', wasm('spin')], {
      onSpawn: (child) => setTimeout(() => child.kill(sig), 800),
    });
    assert.equal(r.code, code, `${sig}: ${r.stderr}`);
  }
});

test('stdin is streamed to the guest and stdout back', async () => {
  const r = await capsule(['run', wasm('cat')], { input: 'one\ntwo\nthree\n' });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'one\ntwo\nthree\n');
});

test('--dir grants a directory and --ro-dir refuses writes', async () => {
  const t = tempDir();
  try {
    mkdirSync(join(t.path, 'rw'));
    mkdirSync(join(t.path, 'ro'));
    writeFileSync(join(t.path, 'ro/hello.txt'), 'hello\n');
    const db = '/data/t.db';
    const sql = 'create table t(x); insert into t values (1),(2),(3); select sum(x) from t;';
    const r = await capsule(['run', '--dir', `${join(t.path, 'rw')}::/data`, wasm('sqlite3'), '--', db, sql]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), '6');
    assert.ok(existsSync(join(t.path, 'rw/t.db')));
    const ro = await capsule([
      'run',
      '--ro-dir',
      `${join(t.path, 'ro')}::/data`,
      wasm('sqlite3'),
      '--',
      '/data/x.db',
      sql,
    ]);
    assert.notEqual(ro.code, 0);
    assert.match(ro.stderr, /readonly|read-only|unable to open/i);
    assert.equal(readFileSync(join(t.path, 'ro/hello.txt'), 'utf8'), 'hello\n');
    assert.ok(!existsSync(join(t.path, 'ro/x.db')));
  } finally {
    t.cleanup();
  }
});

test('poll_oneoff waits on stdin through the bridge: a timeout while nothing comes, ready when a line does', async () => {
  const lines: string[] = [];
  const r = await capsule(['run', wasm('poll_stdin')], {
    onSpawn: (child) => {
      // Whole lines only: one printf can reach the pipe in several writes.
      let partial = '';
      let sent = 0;
      child.stdout!.on('data', (b: Buffer) => {
        const parts = (partial + b.toString()).split('\n');
        partial = parts.pop()!;
        lines.push(...parts);
        // After the first wait timed out, answer it; then answer the second wait later.
        if (lines.length >= 1 && sent === 0) {
          sent = 1;
          child.stdin!.write('first\n');
        }
        if (lines.length >= 2 && sent === 1) {
          sent = 2;
          setTimeout(() => child.stdin!.end('second\n'), 300);
        }
      });
    },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), ['timeout', 'got first', 'ready', 'got second']);
});

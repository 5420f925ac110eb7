/**
 * Packages end to end through the CLI, each test in its own CAPSULE_HOME:
 * pack, run from the store with persistent user state, determinism,
 * dependencies, capture, profiles, two versions side by side, damage
 * detection, gc while an app runs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  chmodSync,
  cpSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  statSync,
  truncateSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { capsule, root, tempDir, wasm, type RunOpts } from './helpers.js';
import { FsObjectStore } from '../src/store/fs/index.js';
import { damageObject } from '../src/store/fs/testing.js';

function home() {
  const t = tempDir('capsule-home-');
  const env = { ...process.env, CAPSULE_HOME: join(t.path, 'home'), CAPSULE_USER: 'alice' };
  const run = (args: string[], opts: RunOpts = {}) =>
    capsule(args, { ...opts, env: { ...env, ...opts.env } });
  return { dir: t.path, env, run, cleanup: t.cleanup };
}

/** A package tree for the SQLite shell: /bin/sqlite3.wasm plus a small /etc. */
function sqliteTree(dir: string, extra: Record<string, string> = {}): string {
  mkdirSync(join(dir, 'bin'), { recursive: true });
  mkdirSync(join(dir, 'etc'), { recursive: true });
  cpSync(wasm('sqlite3'), join(dir, 'bin/sqlite3.wasm'));
  writeFileSync(join(dir, 'etc/motd'), 'welcome\n');
  for (const [p, c] of Object.entries(extra)) writeFileSync(join(dir, p), c);
  return dir;
}

const pack = (h: ReturnType<typeof home>, dir: string, name: string, version: string, ...more: string[]) =>
  h.run(['pack', dir, '--name', name, '--version', version, '--entry', '/bin/sqlite3.wasm', ...more]);

test('pack, list and run a package; what it writes persists in the user state layer', async () => {
  const h = home();
  try {
    const p = await pack(h, sqliteTree(join(h.dir, 'tree')), 'sqlite', '3.52.0');
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stdout, /packed sqlite@3\.52\.0 sha256:[0-9a-f]{64}/);
    const ls = await h.run(['ls', '--json']);
    assert.deepEqual(
      (JSON.parse(ls.stdout) as { name: string; version: string }[]).map((r) => `${r.name}@${r.version}`),
      ['sqlite@3.52.0'],
    );
    const a = await h.run(['run', 'sqlite', '--', '/var.db', 'create table t(x); insert into t values (7);']);
    assert.equal(a.code, 0, a.stderr);
    const b = await h.run(['run', 'sqlite@3.52.0', '--', '/var.db', 'select x * 6 from t;']);
    assert.equal(b.stdout.trim(), '42', b.stderr);
    // The package itself is untouched: an ephemeral run does not see the database.
    const c = await h.run([
      'run',
      '--ephemeral',
      'sqlite',
      '--',
      '/var.db',
      'select count(*) from sqlite_master;',
    ]);
    assert.equal(c.stdout.trim(), '0');
    // A file of the package is readable inside the view.
    const motd = await h.run([
      'run',
      'sqlite',
      '--',
      ':memory:',
      '.shell true',
      "select readfile('/etc/motd');",
    ]);
    assert.notEqual(motd.code, null);
  } finally {
    h.cleanup();
  }
});

test('the same tree gives the same digest whatever the file times and creation order', async () => {
  const h = home();
  try {
    const one = sqliteTree(join(h.dir, 'one'), { 'a.txt': 'A', 'b.txt': 'B' });
    const two = join(h.dir, 'two');
    mkdirSync(join(two, 'etc'), { recursive: true });
    writeFileSync(join(two, 'b.txt'), 'B');
    writeFileSync(join(two, 'etc/motd'), 'welcome\n');
    writeFileSync(join(two, 'a.txt'), 'A');
    mkdirSync(join(two, 'bin'));
    cpSync(wasm('sqlite3'), join(two, 'bin/sqlite3.wasm'));
    utimesSync(join(two, 'a.txt'), 1_000_000, 1_000_000);
    const a = await pack(h, one, 'same', '1.0.0', '--json');
    const b = await pack(h, two, 'same', '1.0.1', '--json');
    assert.equal(JSON.parse(a.stdout).digest !== undefined, true, a.stderr);
    // Different versions give different manifests; compare the layer digests instead.
    const ia = JSON.parse((await h.run(['inspect', 'same@1.0.0', '--json'])).stdout);
    const ib = JSON.parse((await h.run(['inspect', 'same@1.0.1', '--json'])).stdout);
    assert.deepEqual(ia.layers, ib.layers);
    assert.equal(JSON.parse(b.stdout).stats.newChunks, 0, 'the second pack stores nothing new');
    // Versions are immutable.
    writeFileSync(join(two, 'a.txt'), 'changed');
    const again = await pack(h, two, 'same', '1.0.0');
    assert.equal(again.code, 125);
    assert.match(again.stderr, /already exists/);
  } finally {
    h.cleanup();
  }
});

test('a second version that changes one small file adds little and both run side by side', async () => {
  const h = home();
  try {
    const tree = sqliteTree(join(h.dir, 'tree'));
    await pack(h, tree, 'app', '1.0.0');
    writeFileSync(join(tree, 'etc/motd'), 'welcome to version 2\n');
    const v2 = await pack(h, tree, 'app', '2.0.0', '--json');
    const stats = JSON.parse(v2.stdout).stats as { bytes: number; newBytes: number };
    assert.ok(stats.newBytes / stats.bytes < 0.01, `v2 added ${stats.newBytes} of ${stats.bytes} bytes`);
    const inspect = JSON.parse((await h.run(['inspect', 'app@2.0.0', '--json'])).stdout);
    assert.ok(inspect.sharedBytes > 0.99 * inspect.bytes - 100, 'almost everything is shared with v1');
    const [r1, r2] = await Promise.all([
      h.run(['run', '--ephemeral', 'app@1.0.0', '--', ':memory:', "select readfile('/etc/motd');"]),
      h.run(['run', '--ephemeral', 'app@2', '--', ':memory:', "select readfile('/etc/motd');"]),
    ]);
    assert.equal(r1.code, 0, r1.stderr);
    assert.equal(r2.code, 0, r2.stderr);
  } finally {
    h.cleanup();
  }
});

test('dependencies compose layers: an app package on top of a runtime package', async () => {
  const h = home();
  try {
    await pack(h, sqliteTree(join(h.dir, 'runtime')), 'sqlite-runtime', '1.2.0');
    const app = join(h.dir, 'app');
    mkdirSync(join(app, 'share'), { recursive: true });
    writeFileSync(join(app, 'share/schema.sql'), 'create table notes(body text);\n');
    const p = await h.run([
      'pack',
      app,
      '--name',
      'notes',
      '--version',
      '0.1.0',
      '--entry',
      '/bin/sqlite3.wasm',
      '--depends',
      'sqlite-runtime@^1.0',
    ]);
    assert.equal(p.code, 0, p.stderr);
    const r = await h.run([
      'run',
      'notes',
      '--',
      '/notes.db',
      '.read /share/schema.sql',
      "insert into notes values ('hi'); select count(*) from notes;",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), '1');
    // An entry that exists in neither layer is refused at pack time.
    const bad = await h.run([
      'pack',
      app,
      '--name',
      'bad',
      '--version',
      '1.0.0',
      '--entry',
      '/bin/nothing.wasm',
    ]);
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /--entry/);
    const missingDep = await h.run([
      'pack',
      app,
      '--name',
      'x',
      '--version',
      '1.0.0',
      '--entry',
      '/a',
      '--depends',
      'ghost@1',
    ]);
    assert.equal(missingDep.code, 127);
  } finally {
    h.cleanup();
  }
});

test('capture keeps what a setup run wrote as a new package', async () => {
  const h = home();
  try {
    await pack(h, sqliteTree(join(h.dir, 'tree')), 'sqlite', '3.52.0');
    const c = await h.run([
      'capture',
      '--base',
      'sqlite',
      '--name',
      'seeded',
      '--version',
      '1.0.0',
      '--',
      '/seed.db',
      "create table kv(k, v); insert into kv values ('greeting', 'hello from setup');",
    ]);
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stdout, /captured seeded@1\.0\.0/);
    const r = await h.run(['run', '--ephemeral', 'seeded', '--', '/seed.db', 'select v from kv;']);
    assert.equal(r.stdout.trim(), 'hello from setup', r.stderr);
    const info = JSON.parse((await h.run(['inspect', 'seeded', '--json'])).stdout);
    assert.equal(info.manifest.dependencies[0].name, 'sqlite');
    // A failing setup run captures nothing.
    const fail = await h.run([
      'capture',
      '--base',
      'sqlite',
      '--name',
      'broken',
      '--version',
      '1.0.0',
      '--',
      '/x.db',
      'this is not sql;',
    ]);
    assert.equal(fail.code, 125);
    assert.doesNotMatch((await h.run(['ls'])).stdout, /broken/);
  } finally {
    h.cleanup();
  }
});

test('a launch profile is recorded with the package', async () => {
  const h = home();
  try {
    await pack(h, sqliteTree(join(h.dir, 'tree')), 'sqlite', '3.52.0');
    const r = await h.run(['profile', 'record', 'sqlite', '--', ':memory:', 'select 1;']);
    assert.equal(r.code, 0, r.stderr);
    const m = /recorded (\d+) chunks/.exec(r.stdout);
    assert.ok(m && Number(m[1]) > 0, r.stdout);
    const info = JSON.parse((await h.run(['inspect', 'sqlite', '--json'])).stdout);
    assert.match(info.manifest.profile, /^sha256:/);
  } finally {
    h.cleanup();
  }
});

test('a damaged chunk is detected by verify and never reaches the app', async () => {
  const h = home();
  try {
    await pack(h, sqliteTree(join(h.dir, 'tree')), 'sqlite', '3.52.0');
    const ok = await h.run(['verify', 'sqlite']);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    // Flip a byte in the middle of every chunk object of the entry module.
    const info = JSON.parse((await h.run(['inspect', 'sqlite', '--json'])).stdout);
    const store = new FsObjectStore(join(h.env.CAPSULE_HOME, 'store'));
    let flipped = 0;
    for (const d of store.list()) {
      if (store.size(d)! < 1000) continue; // metadata objects are small; damage chunks only
      damageObject(store, d);
      flipped++;
    }
    assert.ok(flipped > 0 && info.chunks > 0);
    const bad = await h.run(['verify', 'sqlite']);
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /corrupt\s+sha256:[0-9a-f]{64}/);
    const run = await h.run(['run', '--ephemeral', 'sqlite', '--', ':memory:', 'select 1;']);
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /corrupt|refused/);
    assert.doesNotMatch(run.stdout, /^1$/m);
  } finally {
    h.cleanup();
  }
});

test('a pack file with a damaged index is named by verify, and its objects are missing, not misread', async () => {
  const h = home();
  try {
    await pack(h, sqliteTree(join(h.dir, 'tree')), 'sqlite', '3.52.0');
    const store = new FsObjectStore(join(h.env.CAPSULE_HOME, 'store'));
    const packs = readdirSync(store.layout.packs);
    assert.equal(packs.length, 1, 'the chunks of one pack command are one pack file');
    const file = join(store.layout.packs, packs[0]!);
    chmodSync(file, 0o644);
    truncateSync(file, statSync(file).size - 1);
    const bad = await h.run(['verify']);
    assert.equal(bad.code, 1, bad.stdout + bad.stderr);
    assert.match(bad.stdout, new RegExp(`damaged  ${file} \\(`));
    assert.match(bad.stdout, /missing\s+sha256:[0-9a-f]{64}/);
    assert.match(bad.stderr, /1 damaged pack file/);
    const run = await h.run(['run', '--ephemeral', 'sqlite', '--', ':memory:', 'select 1;']);
    assert.equal(run.code, 125, run.stderr);
    assert.match(run.stderr, /not in the store/);
  } finally {
    h.cleanup();
  }
});

test('gc keeps what packages use, removes the rest, and is safe while an app runs', async () => {
  const h = home();
  try {
    await pack(h, sqliteTree(join(h.dir, 'tree')), 'sqlite', '3.52.0');
    writeFileSync(join(h.dir, 'tree/etc/motd'), 'v2');
    await pack(h, join(h.dir, 'tree'), 'sqlite', '3.53.0');
    // An app reading stdin stays alive while gc runs and rm removes its version.
    const running = h.run(['run', '--ephemeral', 'sqlite@3.52.0', '--', ':memory:'], {
      input: undefined,
      onSpawn: (child) => {
        setTimeout(() => child.stdin?.end('select 6*7;\n'), 1500);
      },
    });
    await new Promise((r) => setTimeout(r, 700));
    assert.equal((await h.run(['rm', 'sqlite@3.52.0'])).code, 0);
    const gc = await h.run(['gc']);
    assert.equal(gc.code, 0, gc.stderr);
    const r = await running;
    assert.equal(r.stdout.trim(), '42', r.stderr);
    assert.equal((await h.run(['verify'])).code, 0);
    assert.equal(
      (await h.run(['run', '--ephemeral', 'sqlite', '--', ':memory:', 'select 1;'])).stdout.trim(),
      '1',
    );
    assert.equal((await h.run(['run', 'sqlite@3.52.0'])).code, 127);
  } finally {
    h.cleanup();
  }
});

test('pack leaves a checked copy of the entry in the cache; a damaged copy is replaced from the store; gc drops copies of removed packages', async () => {
  const h = home();
  try {
    await pack(h, sqliteTree(join(h.dir, 'tree')), 'sqlite', '3.52.0');
    const entries = join(h.env.CAPSULE_HOME, 'cache/entries');
    // pack fills it: even the first launch reads the checked copy.
    assert.equal(readdirSync(entries).length, 1);
    const select = () => h.run(['run', '--ephemeral', 'sqlite', '--', ':memory:', 'select 6*7;']);
    let r = await select();
    assert.equal(r.stdout.trim(), '42', r.stderr);
    const [name] = readdirSync(entries);
    assert.match(name ?? '', /^[0-9a-f]{64}$/);
    const file = join(entries, name!);
    const good = readFileSync(file);
    // The entry's runnable part, whole chunks: at most the module, and most of it.
    const size = statSync(wasm('sqlite3')).size;
    assert.ok(good.length <= size && good.length > size / 2, `${good.length} of ${size}`);
    r = await select();
    assert.equal(r.stdout.trim(), '42', r.stderr);

    // A flipped byte in the cached copy: the run reads the store instead, and the copy is rewritten.
    const bad = Buffer.from(good);
    bad[bad.length >> 1]! ^= 0x01;
    writeFileSync(file, bad);
    r = await select();
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), '42');
    assert.deepEqual(readFileSync(file), good);

    // Removed package, removed copy.
    assert.equal((await h.run(['rm', 'sqlite@3.52.0'])).code, 0);
    const gc = await h.run(['gc']);
    assert.equal(gc.code, 0, gc.stderr);
    assert.match(gc.stdout, /cached entry modules/);
    assert.deepEqual(readdirSync(entries), []);
  } finally {
    h.cleanup();
  }
});

test('bad package arguments are exit 125 or 127 with a reason', async () => {
  const h = home();
  try {
    assert.equal((await h.run(['run', 'nosuchapp'])).code, 127);
    assert.equal(
      (await h.run(['pack', join(root, 'nope'), '--name', 'a', '--version', '1.0.0', '--entry', '/x'])).code,
      127,
    );
    const badName = await h.run([
      'pack',
      join(h.dir),
      '--name',
      'Bad Name',
      '--version',
      '1.0.0',
      '--entry',
      '/x',
    ]);
    assert.equal(badName.code, 125);
    const badVersion = await h.run([
      'pack',
      join(h.dir),
      '--name',
      'ok',
      '--version',
      'one',
      '--entry',
      '/x',
    ]);
    assert.equal(badVersion.code, 125);
    assert.match(badVersion.stderr, /version/);
  } finally {
    h.cleanup();
  }
});

test('permissions: the package asks for a directory, --dir grants it, policy can forbid mounts', async () => {
  const h = home();
  try {
    const p = await pack(h, sqliteTree(join(h.dir, 'tree')), 'notes', '1.0.0', '--permission', '/data:rw');
    assert.equal(p.code, 0, p.stderr);
    mkdirSync(join(h.dir, 'data'));
    writeFileSync(join(h.dir, 'data/seed.sql'), 'create table n(t); insert into n values (1), (2);\n');
    const asked = await h.run(['run', '--ephemeral', 'notes', '--', ':memory:', 'select 1;']);
    assert.equal(asked.code, 0, asked.stderr);
    assert.match(
      asked.stderr,
      /asks for a host directory at \/data \(rw\); grant one with --dir HOST::\/data/,
    );
    const granted = await h.run([
      'run',
      '--ephemeral',
      '--dir',
      `${join(h.dir, 'data')}::/data`,
      'notes',
      '--',
      '/data/n.db',
      '.read /data/seed.sql',
      'select count(*) from n;',
    ]);
    assert.equal(granted.stdout.trim(), '2', granted.stderr);
    assert.doesNotMatch(granted.stderr, /asks for/);
    assert.equal((await h.run(['policy', 'mounts', 'notes', 'deny'])).code, 0);
    const denied = await h.run([
      'run',
      '--ephemeral',
      '--dir',
      `${join(h.dir, 'data')}::/data`,
      'notes',
      '--',
      ':memory:',
      'select 1;',
    ]);
    assert.equal(denied.code, 125);
    assert.match(denied.stderr, /policy forbids/);
  } finally {
    h.cleanup();
  }
});

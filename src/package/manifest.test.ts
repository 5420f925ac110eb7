import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalBytes } from './canonical.js';
import { PackageError } from './errors.js';
import { parseManifest, parseProfile, validateManifest, validateProfile } from './manifest.js';
import { buildManifest } from './objects.js';
import { MANIFEST_SCHEMA, PROFILE_SCHEMA, type Manifest } from './types.js';

const D = `sha256:${'a'.repeat(64)}`;

function good(): Manifest {
  return {
    schema: MANIFEST_SCHEMA,
    name: 'sqlite',
    version: '3.45.0-rc.1+build.7',
    entry: '/bin/sqlite3.wasm',
    args: ['-batch'],
    env: { HOME: '/home/user', 'X Y': 'z' },
    cwd: '/',
    layers: [{ digest: D, size: 10, entries: 2 }],
    dependencies: [{ name: 'libc', range: '^1.2.0', digest: D, version: '1.2.3' }],
    permissions: { dirs: [{ guest: '/data', access: 'rw', reason: 'databases' }] },
    settings: { files: { '/etc/sqliterc': '.mode box\n' } },
    profile: null,
    annotations: { license: 'public domain' },
  };
}

/** Asserts that `mutate`d manifest fails with a message naming `path`. */
function refuses(
  path: string,
  mutate: (m: Record<string, unknown> & Manifest) => void,
  detail?: RegExp,
): void {
  const m = good() as Record<string, unknown> & Manifest;
  mutate(m);
  assert.throws(
    () => validateManifest(m),
    (e: unknown) => {
      assert.ok(e instanceof PackageError && e.code === 'INVALID_MANIFEST', String(e));
      assert.ok(e.message.includes(`${path}: `), `"${e.message}" should name ${path}`);
      if (detail) assert.match(e.message, detail);
      return true;
    },
  );
}

test('a good manifest passes and round-trips through canonical bytes', () => {
  const m = good();
  assert.deepEqual(validateManifest(m), m);
  assert.deepEqual(parseManifest(canonicalBytes(m)), m);
});

test('each bad field is reported with its path', () => {
  refuses('schema', (m) => ((m as { schema: string }).schema = 'capsule.manifest/v2'));
  refuses('name', (m) => (m.name = 'Bad Name'));
  refuses('name', (m) => (m.name = ''));
  refuses('version', (m) => (m.version = '1.2'));
  refuses('version', (m) => (m.version = '01.2.3'));
  refuses('version', (m) => (m.version = '1.2.3-01'));
  refuses('entry', (m) => (m.entry = 'bin/x.wasm'), /absolute/);
  refuses('entry', (m) => (m.entry = '/bin/../x.wasm'), /".."/);
  refuses('entry', (m) => (m.entry = '/'));
  refuses('entry', (m) => (m.entry = '/bin//x'), /empty/);
  refuses('entry', (m) => (m.entry = '/bin/x\0'), /NUL/);
  refuses('entry', (m) => (m.entry = `/${'a'.repeat(256)}`), /255/);
  refuses('cwd', (m) => (m.cwd = 'rel'));
  refuses('cwd', (m) => (m.cwd = '/a/./b'));
  refuses('args[0]', (m) => (m.args = ['a\0b']));
  refuses('env["A=B"]', (m) => (m.env = { 'A=B': '1' }), /"="/);
  refuses('env["A\\u0000"]', (m) => (m.env = { 'A\0': '1' }), /NUL/);
  refuses('env.A', (m) => (m.env = { A: 'x\0' }));
  refuses('layers[0].digest', (m) => (m.layers[0]!.digest = 'sha256:ABC'), /expected sha256:<64 hex>/);
  refuses('layers[0].size', (m) => (m.layers[0]!.size = -1));
  refuses('layers[0].entries', (m) => (m.layers[0]!.entries = 1.5));
  refuses(
    'layers[0]',
    (m) => ((m.layers[0] as unknown as Record<string, unknown>).extra = 1),
    /unknown field "extra"/,
  );
  refuses('dependencies[0].name', (m) => (m.dependencies[0]!.name = '-x'));
  refuses('dependencies[0].digest', (m) => (m.dependencies[0]!.digest = 'md5:0'));
  refuses('dependencies[0].version', (m) => (m.dependencies[0]!.version = 'latest'));
  refuses('dependencies[0].range', (m) => (m.dependencies[0]!.range = ''));
  refuses('dependencies[1].name', (m) => m.dependencies.push({ ...m.dependencies[0]! }), /duplicate/);
  refuses('permissions.dirs[0].guest', (m) => (m.permissions.dirs[0]!.guest = '../host'));
  refuses('permissions.dirs[0].access', (m) => ((m.permissions.dirs[0] as { access: string }).access = 'wx'));
  refuses('settings.files["etc/x"]', (m) => (m.settings.files = { 'etc/x': '' }), /absolute/);
  refuses('settings.files["/a/../b"]', (m) => (m.settings.files = { '/a/../b': '' }));
  refuses('profile', (m) => ((m as { profile: unknown }).profile = 'nope'));
  refuses('annotations.x', (m) => ((m.annotations as Record<string, unknown>).x = 5), /expected string/);
  refuses('(root)', (m) => (m.extra = true), /unknown field "extra"/);
  refuses('permissions', (m) => ((m.permissions as unknown as Record<string, unknown>).net = true));
  refuses('layers', (m) => ((m as { layers: unknown }).layers = {}), /expected array/);
});

test('several problems are reported together', () => {
  const m = { ...good(), name: 'X', version: 'x' };
  assert.throws(() => validateManifest(m), /name: .*; version: /);
});

test('manifest bytes must be canonical', () => {
  const bytes = new TextEncoder().encode(JSON.stringify(good(), null, 1));
  assert.throws(
    () => parseManifest(bytes),
    (e: unknown) => e instanceof PackageError && e.code === 'INVALID_MANIFEST' && /canonical/.test(e.message),
  );
});

test('buildManifest fills defaults and validates', () => {
  const m = buildManifest({ name: 'a', version: '1.0.0', entry: '/a.wasm', layers: [] });
  assert.equal(m.cwd, '/');
  assert.deepEqual(m.permissions, { dirs: [] });
  assert.throws(() => buildManifest({ name: 'a', version: '1', entry: '/a.wasm', layers: [] }), /version/);
});

test('launch profiles are validated too', () => {
  const p = { schema: PROFILE_SCHEMA, manifest: D, chunks: [D, D], args: ['x'] };
  assert.deepEqual(parseProfile(canonicalBytes(p)), p);
  assert.throws(() => validateProfile({ ...p, chunks: [D, 'x'] }), /chunks\[1\]: expected sha256/);
  assert.throws(
    () => validateProfile({ ...p, extra: 1 }),
    (e: unknown) => e instanceof PackageError && e.code === 'INVALID_PROFILE',
  );
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { StoreError } from '../types.js';
import { digestOf, expectStoreError, runObjectStoreContract } from '../store.case.test.js';
import { FsObjectStore } from './object-store.js';
import { collectGarbage } from './gc.js';
import { finished, moduleUrl, printed, spawnModule, tempStoreDir, withFsStore } from './testing.js';

runObjectStoreContract('FsObjectStore', () => {
  const dir = tempStoreDir();
  return { store: new FsObjectStore(dir.root), cleanup: dir.cleanup };
});

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

test(
  'objects live at objects/sha256/<first two hex>/<hex>, read-only, with nothing left in tmp/',
  withFsStore((root, store) => {
    const bytes = enc('sharded');
    const d = digestOf(bytes);
    store.write(d, bytes);
    const hex = d.slice('sha256:'.length);
    const path = join(root, 'objects', 'sha256', hex.slice(0, 2), hex);
    assert.equal(store.pathOf(d), path);
    assert.deepEqual(new Uint8Array(readFileSync(path)), bytes);
    assert.equal(statSync(path).mode & 0o777, 0o444);
    assert.deepEqual(readdirSync(join(root, 'tmp')), []);
  }),
);

test(
  'a flipped byte on disk is CORRUPT naming the digest, and the bytes are not returned',
  withFsStore((_root, store) => {
    const bytes = enc('precious data, verified on every read');
    const d = digestOf(bytes);
    store.write(d, bytes);
    const path = store.pathOf(d);
    chmodSync(path, 0o644);
    const onDisk = readFileSync(path);
    onDisk[3] = (onDisk[3] ?? 0) ^ 0x01;
    writeFileSync(path, onDisk);
    let returned: Uint8Array | undefined;
    assert.throws(
      () => (returned = store.read(d)),
      (e: unknown) =>
        e instanceof StoreError && e.code === 'CORRUPT' && e.digest === d && e.message.includes(d),
    );
    assert.equal(returned, undefined);
    // Truncation is corruption too.
    writeFileSync(path, onDisk.subarray(0, 5));
    expectStoreError(() => store.read(d), 'CORRUPT', d);
  }),
);

test(
  'hostile digests never become paths',
  withFsStore((root, store) => {
    mkdirSync(join(root, 'objects', 'sha256'), { recursive: true });
    const before = readdirSync(root).sort();
    for (const bad of ['sha256:../../x', 'sha256:../../../escape', `sha256:${'0'.repeat(62)}/..`]) {
      expectStoreError(() => store.pathOf(bad), 'BAD_DIGEST');
      expectStoreError(() => store.write(bad, enc('x'), () => true), 'BAD_DIGEST');
    }
    assert.deepEqual(readdirSync(root).sort(), before);
    assert.equal(existsSync(join(root, '..', 'x')), false);
  }),
);

test(
  'stray files in the objects tree are not listed',
  withFsStore((root, store) => {
    const bytes = enc('real');
    const d = digestOf(bytes);
    store.write(d, bytes);
    const hex = d.slice('sha256:'.length);
    const shard = join(root, 'objects', 'sha256', hex.slice(0, 2));
    writeFileSync(join(shard, 'README'), 'x');
    writeFileSync(join(shard, `${hex.slice(0, 63)}Z`), 'x');
    mkdirSync(join(root, 'objects', 'sha256', 'zz'));
    // A well-formed name in the wrong shard is not an object either.
    const other = hex.startsWith('ff') ? '00' : 'ff';
    mkdirSync(join(root, 'objects', 'sha256', other));
    writeFileSync(join(root, 'objects', 'sha256', other, hex), bytes);
    assert.deepEqual([...store.list()], [d]);
  }),
);

test(
  'a failed commit is aborted: no object, no staged file',
  withFsStore((root, store) => {
    const bytes = enc('cannot land');
    const d = digestOf(bytes);
    const hex = d.slice('sha256:'.length);
    // A file where the shard directory should be makes the commit fail.
    mkdirSync(join(root, 'objects', 'sha256'), { recursive: true });
    writeFileSync(join(root, 'objects', 'sha256', hex.slice(0, 2)), 'in the way');
    expectStoreError(() => store.write(d, bytes), 'IO');
    assert.equal(store.has(d), false);
    assert.deepEqual(readdirSync(join(root, 'tmp')), []);
  }),
);

test(
  're-writing an existing object refreshes its mtime (gc grace) without rewriting it',
  withFsStore((_root, store) => {
    const bytes = enc('old');
    const d = digestOf(bytes);
    store.write(d, bytes);
    const ino = statSync(store.pathOf(d)).ino;
    const before = store.modifiedAt(d) ?? 0;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    store.write(d, bytes);
    assert.ok((store.modifiedAt(d) ?? 0) > before);
    assert.equal(statSync(store.pathOf(d)).ino, ino);
  }),
);

// A writer that never stops: 32 MB objects, each different, until killed.
const endlessWriter = (root: string): string => `
  import { createHash } from 'node:crypto';
  import { FsObjectStore } from ${JSON.stringify(moduleUrl('object-store.js'))};
  const store = new FsObjectStore(${JSON.stringify(root)});
  for (let i = 0; ; i++) {
    const bytes = new Uint8Array(32 << 20).fill(i & 0xff);
    new DataView(bytes.buffer).setUint32(0, i);
    store.write('sha256:' + createHash('sha256').update(bytes).digest('hex'), bytes);
  }`;

test(
  'kill -9 in the middle of a write leaves no visible partial object',
  withFsStore(async (root, store) => {
    const child = spawnModule(endlessWriter(root));
    const done = finished(child);
    const tmp = join(root, 'tmp');
    // Kill the moment a staged file exists: the write is in flight.
    const deadline = Date.now() + 30_000;
    let staged: string[] = [];
    while (Date.now() < deadline) {
      staged = existsSync(tmp) ? readdirSync(tmp) : [];
      if (staged.length > 0) break;
    }
    child.kill('SIGKILL');
    const { signal, stderr } = await done;
    assert.equal(signal, 'SIGKILL', stderr);
    assert.equal(staged.length, 1, 'the child was killed while staging');
    for (const d of store.list()) {
      assert.equal(store.read(d).length, 32 << 20, `${d} is whole`);
    }
    // The leftover is ignored by readers and cleaned by gc once old enough.
    const gc = collectGarbage(store, { children: () => [], roots: store.list(), tmpMaxAgeMs: 0 });
    assert.equal(gc.removed, 0);
    assert.ok(gc.staleStaged >= 1);
    assert.deepEqual(readdirSync(tmp), []);
  }),
);

// Both children build the same 20 MB object, wait for the go file, then write it.
const sameObjectWriter = (root: string): string => `
  import { createHash } from 'node:crypto';
  import { existsSync } from 'node:fs';
  import { FsObjectStore } from ${JSON.stringify(moduleUrl('object-store.js'))};
  const store = new FsObjectStore(${JSON.stringify(root)});
  const bytes = new Uint8Array(20 << 20);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 2654435761) >>> 24;
  const digest = 'sha256:' + createHash('sha256').update(bytes).digest('hex');
  console.log('ready');
  while (!existsSync(${JSON.stringify(join(root, 'go'))})) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
  store.write(digest, bytes);
  console.log('wrote ' + digest);`;

test(
  'two processes writing the same 20 MB object at once both succeed; the object is intact',
  withFsStore(async (root, store) => {
    const children = [spawnModule(sameObjectWriter(root)), spawnModule(sameObjectWriter(root))];
    const results = children.map(finished);
    await Promise.all(children.map((c) => printed(c, 'ready')));
    writeFileSync(join(root, 'go'), '');
    for (const r of await Promise.all(results)) {
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /wrote sha256:[0-9a-f]{64}/);
    }
    const listed = [...store.list()];
    assert.equal(listed.length, 1);
    const d = listed[0] ?? '';
    assert.equal(store.read(d).length, 20 << 20);
    assert.deepEqual(readdirSync(join(root, 'tmp')), []);
  }),
);

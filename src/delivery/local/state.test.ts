import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateStore, defaultUser } from './state.js';
import { StateError } from './errors.js';

function withStore(body: (store: StateStore, root: string) => void): () => void {
  return () => {
    const root = mkdtempSync(join(tmpdir(), 'capsule-state-'));
    try {
      body(new StateStore(join(root, 'state')), root);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  };
}

function appDir(store: StateStore, user = 'alice', app = 'notes'): string {
  return join(store.root, user, app);
}

function currentGen(store: StateStore): string {
  return readlinkSync(join(appDir(store), 'current'));
}

function code(c: string): (e: unknown) => boolean {
  return (e: unknown) => e instanceof StateError && e.code === c;
}

describe('StateStore', () => {
  test(
    'upperDir creates one empty generation, stable across calls, and list reports its content',
    withStore((store) => {
      const dir = store.upperDir('alice', 'notes');
      assert.deepEqual(readdirSync(dir), []);
      assert.equal(store.upperDir('alice', 'notes'), dir);
      assert.match(currentGen(store), /^gens\//);
      writeFileSync(join(dir, 'a.txt'), 'hello');
      mkdirSync(join(dir, 'etc'));
      writeFileSync(join(dir, 'etc', '.wh.old.conf'), '');
      const [row] = store.list('alice');
      assert.deepEqual(row, { user: 'alice', app: 'notes', files: 1, bytes: 5, whiteouts: 1, snapshots: [] });
      assert.deepEqual(store.list('bob'), []);
      assert.equal(store.list().length, 1);
    }),
  );

  test(
    'reset swaps in an empty generation; the old one is kept while leased and removed after',
    withStore((store) => {
      const lease = store.openUpper('alice', 'notes');
      writeFileSync(join(lease.dir, 'a.txt'), 'data');
      store.snapshot('alice', 'notes', 'before');
      store.reset('alice', 'notes');
      const fresh = store.upperDir('alice', 'notes');
      assert.notEqual(fresh, lease.dir);
      assert.deepEqual(readdirSync(fresh), []);
      assert.ok(existsSync(join(lease.dir, 'a.txt')), 'a running session keeps its files');
      lease.release();
      store.snapshot('alice', 'notes', 'after'); // any operation prunes
      assert.ok(!existsSync(lease.dir));
      assert.deepEqual(
        store.list('alice')[0]!.snapshots.map((s) => s.name),
        ['before', 'after'],
      );
    }),
  );

  test(
    'snapshot and rollback round trip; the snapshot survives the rollback and later writes',
    withStore((store) => {
      const dir = store.upperDir('alice', 'notes');
      mkdirSync(join(dir, 'db'));
      writeFileSync(join(dir, 'db', 'x'), 'v1');
      symlinkSync('/db/x', join(dir, 'latest'));
      const name = store.snapshot('alice', 'notes');
      assert.match(name, /^\d{8}-\d{6}$/);
      // Within the same second the stamp gets a suffix; in the next one it is a new stamp.
      const second = store.snapshot('alice', 'notes');
      assert.notEqual(second, name);
      assert.match(second, new RegExp(`^(${name}-2|\\d{8}-\\d{6})$`));
      assert.throws(() => store.snapshot('alice', 'notes', name), code('EXISTS'));
      writeFileSync(join(dir, 'db', 'x'), 'v2');
      store.rollback('alice', 'notes', name);
      const now = store.upperDir('alice', 'notes');
      assert.equal(readFileSync(join(now, 'db', 'x'), 'utf8'), 'v1');
      assert.equal(readlinkSync(join(now, 'latest')), '/db/x');
      writeFileSync(join(now, 'db', 'x'), 'v3');
      store.rollback('alice', 'notes', name);
      assert.equal(readFileSync(join(store.upperDir('alice', 'notes'), 'db', 'x'), 'utf8'), 'v1');
      assert.throws(() => store.rollback('alice', 'notes', 'nope'), code('NOT_FOUND'));
      store.removeSnapshot('alice', 'notes', second);
      assert.deepEqual(
        store.list('alice')[0]!.snapshots.map((s) => s.name),
        [name],
      );
    }),
  );

  test(
    'a crash between the steps of a swap leaves current intact; the next operation cleans up',
    withStore((store) => {
      const dir = store.upperDir('alice', 'notes');
      writeFileSync(join(dir, 'keep.txt'), 'safe');
      const before = currentGen(store);
      const app = appDir(store);
      // Leftovers of a process killed at each point of reset/rollback/import:
      mkdirSync(join(app, 'tmp', 'gen-lost'), { recursive: true }); // half-built generation
      writeFileSync(join(app, 'tmp', 'gen-lost', 'junk'), 'x');
      symlinkSync('gens/zzz-00000000', join(app, 'tmp', 'current-lost')); // symlink not yet renamed
      mkdirSync(join(app, 'gens', 'zz1-0badc0de')); // generation renamed in, never made current
      mkdirSync(join(app, 'tmp', 'snap-lost', 'upper'), { recursive: true }); // unfinished snapshot
      assert.equal(currentGen(store), before);
      store.snapshot('alice', 'notes', 'after-crash');
      assert.deepEqual(readdirSync(join(app, 'tmp')), []);
      assert.deepEqual(readdirSync(join(app, 'gens')), [before.slice(5)]);
      assert.equal(currentGen(store), before);
      assert.equal(readFileSync(join(store.upperDir('alice', 'notes'), 'keep.txt'), 'utf8'), 'safe');
      assert.deepEqual(readdirSync(join(app, 'snapshots')), ['after-crash']);
    }),
  );

  test(
    'a current that points nowhere is reported, and reset repairs it',
    withStore((store) => {
      store.upperDir('alice', 'notes');
      const app = appDir(store);
      rmSync(join(app, 'current'));
      symlinkSync('gens/../../../etc', join(app, 'current'));
      assert.throws(() => store.upperDir('alice', 'notes'), code('CORRUPT'));
      store.reset('alice', 'notes');
      assert.deepEqual(readdirSync(store.upperDir('alice', 'notes')), []);
      assert.ok(lstatSync(join(app, 'current')).isSymbolicLink());
    }),
  );

  test(
    'user, app and snapshot names are checked before they become paths',
    withStore((store) => {
      for (const [user, app] of [
        ['..', 'notes'],
        ['alice', '../x'],
        ['a/b', 'notes'],
        ['alice', 'Notes'],
        ['', 'notes'],
        ['.hidden', 'notes'],
        ['alice', ''],
      ] as const) {
        assert.throws(() => store.upperDir(user, app), code('BAD_NAME'), `${user} ${app}`);
      }
      assert.throws(() => store.snapshot('alice', 'notes', '../evil'), code('BAD_NAME'));
      assert.throws(() => store.rollback('alice', 'notes', 'a/b'), code('BAD_NAME'));
      assert.equal(defaultUser({ CAPSULE_USER: 'carol' }), 'carol');
      assert.throws(() => defaultUser({ CAPSULE_USER: '../root' }), code('BAD_NAME'));
    }),
  );
});

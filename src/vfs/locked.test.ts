import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryFileSystem } from './memfs.js';
import { UnionFileSystem } from './union.js';
import { LockedPathsFileSystem } from './locked.js';
import { Errno } from './errno.js';
import { readText } from './populate.js';
import { expectErrno, runFileSystemContract } from './fs.case.test.js';

runFileSystemContract('LockedPathsFileSystem (nothing locked)', () => ({
  fs: new LockedPathsFileSystem(new MemoryFileSystem(), []),
}));

runFileSystemContract('LockedPathsFileSystem over a union (an unrelated path locked)', (tree) => ({
  fs: new LockedPathsFileSystem(
    new UnionFileSystem([new MemoryFileSystem({ tree: tree ?? {} })], new MemoryFileSystem()),
    ['zz-locked'],
  ),
  seeded: true,
}));

const RO = { read: true, write: false } as const;

function lockedView(): { fs: LockedPathsFileSystem; upper: MemoryFileSystem } {
  const lower = new MemoryFileSystem({
    tree: {
      etc: { 'app.conf': 'admin', 'other.conf': 'free', 'app.d': { 'x.conf': 'x' } },
      tmp: {},
    },
    readOnly: true,
  });
  const upper = new MemoryFileSystem();
  const fs = new LockedPathsFileSystem(new UnionFileSystem([lower], upper), ['etc/app.conf', 'etc/app.d']);
  return { fs, upper };
}

describe('LockedPathsFileSystem', () => {
  test('reads of a locked path pass through', () => {
    const { fs } = lockedView();
    assert.equal(readText(fs, 'etc/app.conf'), 'admin');
    assert.equal(readText(fs, 'etc/app.d/x.conf'), 'x');
    assert.equal(fs.kind('etc/app.conf'), 'file');
    assert.deepEqual(
      fs.readdir('etc').map((e) => e.name),
      ['app.conf', 'app.d', 'other.conf'],
    );
  });

  test('every mutation of a locked path or its subtree fails with EACCES and changes nothing', () => {
    const { fs, upper } = lockedView();
    const A = Errno.ACCES;
    expectErrno(() => fs.open('etc/app.conf', { read: true, write: true }), A);
    expectErrno(() => fs.open('etc/app.conf', { read: false, write: true, truncate: true }), A);
    expectErrno(() => fs.open('etc/app.d/new', { read: false, write: true, create: true }), A);
    expectErrno(() => fs.setTimes('etc/app.conf', 'now', 'now'), A);
    expectErrno(() => fs.unlink('etc/app.conf'), A);
    expectErrno(() => fs.unlink('etc/app.d/x.conf'), A);
    expectErrno(() => fs.rmdir('etc/app.d'), A);
    expectErrno(() => fs.mkdir('etc/app.d/sub'), A);
    expectErrno(() => fs.symlink('/tmp/evil', 'etc/app.d/ln'), A);
    expectErrno(() => fs.rename('etc/app.conf', 'tmp/stolen'), A);
    expectErrno(() => fs.rename('etc/other.conf', 'etc/app.conf'), A);
    expectErrno(() => fs.link('etc/other.conf', 'etc/app.d/y'), A);
    expectErrno(() => fs.link('etc/app.conf', 'tmp/alias'), A);
    // Moving an ancestor would carry the locked file away and free its name.
    expectErrno(() => fs.rename('etc', 'etc2'), A);
    expectErrno(() => fs.rmdir('etc'), A);
    const h = fs.open('etc/app.conf', RO);
    expectErrno(() => h.write(new Uint8Array([1]), 0), A);
    expectErrno(() => h.setSize(0), A);
    expectErrno(() => h.setTimes('now', 'now'), A);
    h.close();
    assert.equal(readText(fs, 'etc/app.conf'), 'admin');
    assert.deepEqual(upper.readdir(''), [], 'nothing was copied up');
  });

  test('paths beside a locked one stay writable', () => {
    const { fs } = lockedView();
    const h = fs.open('etc/other.conf', { read: true, write: true, truncate: true });
    h.write(new TextEncoder().encode('mine'), 0);
    h.close();
    assert.equal(readText(fs, 'etc/other.conf'), 'mine');
    // a name that merely shares a prefix is not under the lock
    fs.open('etc/app.conf.bak', { read: false, write: true, create: true }).close();
    fs.mkdir('etc/app.dd');
    fs.rename('etc/app.conf.bak', 'tmp/bak');
    assert.equal(fs.kind('tmp/bak'), 'file');
  });

  test('a missing locked path cannot be created', () => {
    const fs = new LockedPathsFileSystem(new MemoryFileSystem(), ['etc/missing.conf']);
    fs.mkdir('etc');
    expectErrno(() => fs.open('etc/missing.conf', { read: false, write: true, create: true }), Errno.ACCES);
    expectErrno(() => fs.mkdir('etc/missing.conf'), Errno.ACCES);
    assert.equal(fs.kind('etc/missing.conf'), null);
  });

  test('refuses locked paths that are not contract paths', () => {
    for (const bad of ['/etc/x', '', 'a//b', 'a/../b', 'a/', 'a\0b']) {
      assert.throws(() => new LockedPathsFileSystem(new MemoryFileSystem(), [bad]), TypeError, bad);
    }
  });
});

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { linkSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FileSystem } from './types.js';
import { MemoryFileSystem } from './memfs.js';
import { HostFileSystem } from './host/hostfs.js';
import { tempDir } from './host/testing.js';
import { resolvePath, type ResolveOptions } from './resolve.js';
import { Errno } from './errno.js';
import { expectErrno } from './fs.case.test.js';

const FOLLOW: ResolveOptions = { followFinal: true };
const NOFOLLOW: ResolveOptions = { followFinal: false };

function fixture(): MemoryFileSystem {
  return new MemoryFileSystem({
    tree: {
      dir: { 'f.txt': 'x', sub: { 'g.txt': 'y' }, up: { symlink: '../top.txt' }, parent: { symlink: '..' } },
      'top.txt': 't',
      ln: { symlink: 'dir' },
      lf: { symlink: 'top.txt' },
      chain1: { symlink: 'chain2' },
      chain2: { symlink: 'dir/sub' },
      loop1: { symlink: 'loop2' },
      loop2: { symlink: 'loop1' },
      abs: { symlink: '/dir/f.txt' },
      absroot: { symlink: '/' },
      escape: { symlink: '../outside' },
      deep: { symlink: 'dir/../../outside' },
      dotdot: { symlink: '..' },
      empty: { symlink: '' },
    },
  });
}

describe('resolvePath', () => {
  const fs = fixture();
  const r = (path: string, opts = FOLLOW, base = ''): ReturnType<typeof resolvePath> =>
    resolvePath(fs, base, path, opts);

  test('plain paths, "." and empty components, ".." inside', () => {
    assert.deepEqual(r('dir/f.txt'), { path: 'dir/f.txt', trailingSlash: false, kind: 'file' });
    assert.deepEqual(r('dir/f.txt', NOFOLLOW), { path: 'dir/f.txt', trailingSlash: false });
    assert.equal(r('./dir//sub/./g.txt').path, 'dir/sub/g.txt');
    assert.equal(r('dir/sub/../f.txt').path, 'dir/f.txt');
    assert.deepEqual(r('dir/..'), { path: '', trailingSlash: false, kind: 'dir' });
    assert.deepEqual(r('.'), { path: '', trailingSlash: false, kind: 'dir' });
    assert.equal(r('g.txt', FOLLOW, 'dir/sub').path, 'dir/sub/g.txt');
    assert.equal(r('../f.txt', FOLLOW, 'dir/sub').path, 'dir/f.txt');
  });

  test('absent finals are reported, absent intermediates are ENOENT', () => {
    assert.deepEqual(r('dir/new'), { path: 'dir/new', trailingSlash: false, kind: null });
    assert.deepEqual(r('newdir/'), { path: 'newdir', trailingSlash: true, kind: null });
    expectErrno(() => r('nope/x'), Errno.NOENT);
    expectErrno(() => r('top.txt/x'), Errno.NOTDIR);
  });

  test('bad paths', () => {
    expectErrno(() => r(''), Errno.NOENT);
    expectErrno(() => r('a\0b'), Errno.INVAL);
    expectErrno(() => r('/etc/passwd'), Errno.PERM);
    expectErrno(() => r('..'), Errno.PERM);
    expectErrno(() => r('dir/../../x'), Errno.PERM);
    expectErrno(() => r('../../../x', FOLLOW, 'dir/sub'), Errno.PERM);
    assert.equal(r('../../top.txt', FOLLOW, 'dir/sub').path, 'top.txt');
  });

  test('symlinks: intermediates always followed, the final only when asked or with a slash', () => {
    assert.equal(r('ln/f.txt').path, 'dir/f.txt');
    assert.deepEqual(r('ln', NOFOLLOW), { path: 'ln', trailingSlash: false });
    assert.deepEqual(r('ln', FOLLOW), { path: 'dir', trailingSlash: false, kind: 'dir' });
    assert.deepEqual(r('ln/', NOFOLLOW), { path: 'dir', trailingSlash: true, kind: 'dir' });
    assert.deepEqual(r('lf'), { path: 'top.txt', trailingSlash: false, kind: 'file' });
    expectErrno(() => r('lf/', NOFOLLOW), Errno.NOTDIR);
    expectErrno(() => r('top.txt/'), Errno.NOTDIR);
    assert.equal(r('dir/up').path, 'top.txt');
    assert.equal(r('chain1/g.txt').path, 'dir/sub/g.txt');
    assert.deepEqual(r('chain1'), { path: 'dir/sub', trailingSlash: false, kind: 'dir' });
    assert.deepEqual(r('dir/parent'), { path: '', trailingSlash: false, kind: 'dir' });
    assert.equal(r('dir/parent/top.txt').path, 'top.txt');
    expectErrno(() => r('empty'), Errno.NOENT);
  });

  test('loops give ELOOP', () => {
    expectErrno(() => r('loop1'), Errno.LOOP);
    expectErrno(() => r('loop1/x', NOFOLLOW), Errno.LOOP);
    assert.deepEqual(r('loop1', NOFOLLOW), { path: 'loop1', trailingSlash: false });
  });

  test('escapes through symlinks are EPERM; absolute targets only from the root when allowed', () => {
    expectErrno(() => r('escape'), Errno.PERM);
    expectErrno(() => r('deep'), Errno.PERM);
    expectErrno(() => r('dotdot'), Errno.PERM);
    expectErrno(() => r('abs'), Errno.PERM);
    expectErrno(() => r('abs/x', NOFOLLOW), Errno.PERM);
    const fromRoot = { followFinal: true, absoluteSymlinksFromRoot: true };
    assert.equal(r('abs', fromRoot).path, 'dir/f.txt');
    assert.deepEqual(r('absroot', fromRoot), { path: '', trailingSlash: false, kind: 'dir' });
    expectErrno(() => r('absroot/..', fromRoot), Errno.PERM);
  });
});

describe('resolvePath against a host mount: no way out', () => {
  const setup = (): { fs: FileSystem; outside: string; cleanup: () => void } => {
    const { dir, cleanup } = tempDir();
    const root = join(dir, 'root');
    const outside = join(dir, 'outside');
    mkdirSync(join(root, 'a', 'b'), { recursive: true });
    mkdirSync(outside);
    writeFileSync(join(outside, 'secret'), 'secret');
    writeFileSync(join(root, 'a', 'inside.txt'), 'inside');
    symlinkSync('/etc', join(root, 'etc'));
    symlinkSync('../../outside', join(root, 'a', 'out'));
    symlinkSync('../outside/secret', join(root, 'up'));
    symlinkSync('b/../inside.txt', join(root, 'a', 'rel'));
    symlinkSync('loop', join(root, 'loop'));
    // A hard link the host owner planted is just a file inside the mount.
    linkSync(join(outside, 'secret'), join(root, 'hard'));
    return { fs: new HostFileSystem(root), outside, cleanup };
  };

  test('"..", "a/../../x", absolute and escaping symlinks are refused', () => {
    const { fs, cleanup } = setup();
    try {
      const opts = { followFinal: true };
      expectErrno(() => resolvePath(fs, '', '..', opts), Errno.PERM);
      expectErrno(() => resolvePath(fs, '', 'a/../../outside/secret', opts), Errno.PERM);
      expectErrno(() => resolvePath(fs, '', 'etc/passwd', opts), Errno.PERM);
      expectErrno(() => resolvePath(fs, '', 'a/out/secret', opts), Errno.PERM);
      expectErrno(() => resolvePath(fs, '', 'up', opts), Errno.PERM);
      expectErrno(() => resolvePath(fs, 'a/b', '../../..', opts), Errno.PERM);
      expectErrno(() => resolvePath(fs, '', 'loop', opts), Errno.LOOP);
      // with absoluteSymlinksFromRoot, "/etc" means the mount's own "etc": this very link
      const fromRoot = { followFinal: true, absoluteSymlinksFromRoot: true };
      expectErrno(() => resolvePath(fs, '', 'etc/passwd', fromRoot), Errno.LOOP);
      expectErrno(() => resolvePath(fs, '', 'etc', fromRoot), Errno.LOOP);
    } finally {
      cleanup();
    }
  });

  test('relative symlinks inside work; a planted hard link is an ordinary file', () => {
    const { fs, cleanup } = setup();
    try {
      const rel = resolvePath(fs, '', 'a/rel', { followFinal: true });
      assert.equal(rel.path, 'a/inside.txt');
      const hard = resolvePath(fs, '', 'hard', { followFinal: true });
      assert.equal(hard.kind, 'file');
      assert.equal(fs.stat(hard.path).nlink, 2n);
    } finally {
      cleanup();
    }
  });

  test('the parent cannot be listed and nothing can be renamed out', () => {
    const { fs, outside, cleanup } = setup();
    try {
      expectErrno(() => resolvePath(fs, '', '..', { followFinal: true }), Errno.PERM);
      expectErrno(() => resolvePath(fs, 'a', '../..', { followFinal: true }), Errno.PERM);
      expectErrno(() => resolvePath(fs, '', 'a/../../outside/stolen', { followFinal: false }), Errno.PERM);
      // resolving with followFinal=false keeps a symlink as the last component, so a
      // rename moves the link itself, never through it
      const to = resolvePath(fs, '', 'a/out', { followFinal: false });
      assert.equal(to.path, 'a/out');
      const from = resolvePath(fs, '', 'a/inside.txt', { followFinal: false });
      fs.rename(from.path, to.path);
      assert.equal(fs.kind('a/out'), 'file');
      assert.deepEqual(
        new HostFileSystem(outside).readdir('').map((e) => e.name),
        ['secret'],
      );
      // the filesystem itself refuses unresolved paths as a second line
      expectErrno(() => fs.rename('a/rel', '../stolen'), Errno.INVAL);
    } finally {
      cleanup();
    }
  });
});

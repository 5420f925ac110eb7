/**
 * The FileSystem contract suite (types.ts). Every implementation runs it:
 *
 *   runFileSystemContract('memfs', () => ({ fs: new MemoryFileSystem() }))
 *
 * Each test names the tree it starts from. `make(fixture)` may place that tree
 * itself (in a lower layer, say, so a union's copy-up paths get exercised) and
 * return `seeded: true`; otherwise the suite writes it through the fs.
 * Errno choices follow Linux; host mounts check them against the real kernel.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FileSystem, OpenFlags } from './types.js';
import { Errno, FsError, errnoName } from './errno.js';
import { populate, readText, type TreeSpec } from './populate.js';

export interface Made {
  fs: FileSystem;
  cleanup?: () => void;
  /** true when make() already placed the fixture */
  seeded?: boolean;
}
export type MakeFileSystem = (fixture?: TreeSpec) => Made;

export function expectErrno(fn: () => unknown, ...errnos: number[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof FsError, `expected FsError, got ${String(e)}`);
    assert.ok(
      errnos.includes(e.errno),
      `expected ${errnos.map(errnoName).join('/')}, got ${errnoName(e.errno)} (${e.message})`,
    );
    return true;
  });
}

const RW: OpenFlags = { read: true, write: true };
const RO: OpenFlags = { read: true, write: false };
const CREATE: OpenFlags = { read: true, write: true, create: true };
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

function writeAt(fs: FileSystem, path: string, data: string, pos = 0): void {
  const h = fs.open(path, RW);
  h.write(enc(data), pos);
  h.close();
}

/** Runs a test body on a fresh filesystem holding `fixture`. */
function withFs(make: MakeFileSystem, fixture: TreeSpec, body: (fs: FileSystem) => void): () => void {
  return () => {
    const made = make(fixture);
    try {
      if (!made.seeded) populate(made.fs, fixture);
      body(made.fs);
    } finally {
      made.cleanup?.();
    }
  };
}

const TREE: TreeSpec = {
  'a.txt': 'hello',
  dir: { 'b.txt': 'bee', sub: { 'c.txt': 'sea' } },
  empty: {},
  link: { symlink: 'a.txt' },
  dirlink: { symlink: 'dir' },
  dangling: { symlink: 'nowhere' },
};

export function runFileSystemContract(name: string, make: MakeFileSystem): void {
  const it = (title: string, body: (fs: FileSystem) => void, fixture: TreeSpec = TREE): void => {
    test(title, withFs(make, fixture, body));
  };

  describe(`FileSystem contract: ${name}`, () => {
    it(
      'the root is an empty directory at first',
      (fs) => {
        assert.equal(fs.kind(''), 'dir');
        assert.equal(fs.stat('').kind, 'dir');
        assert.deepEqual(fs.readdir(''), []);
        assert.equal(fs.readOnly, false);
      },
      {},
    );

    it('kind: lstat semantics, null when absent, ENOTDIR through a file', (fs) => {
      assert.equal(fs.kind('a.txt'), 'file');
      assert.equal(fs.kind('dir'), 'dir');
      assert.equal(fs.kind('link'), 'symlink');
      assert.equal(fs.kind('dangling'), 'symlink');
      assert.equal(fs.kind('missing'), null);
      assert.equal(fs.kind('missing/x'), null);
      expectErrno(() => fs.kind('a.txt/x'), Errno.NOTDIR);
      expectErrno(() => fs.stat('missing'), Errno.NOENT);
      expectErrno(() => fs.stat('a.txt/x'), Errno.NOTDIR);
    });

    it('stat reports kind, size, nlink and a dev shared by all entries', (fs) => {
      const st = fs.stat('a.txt');
      assert.equal(st.kind, 'file');
      assert.equal(st.size, 5n);
      assert.equal(st.nlink, 1n);
      assert.equal(fs.stat('link').kind, 'symlink');
      assert.equal(fs.stat('dir').kind, 'dir');
      assert.notEqual(fs.stat('a.txt').ino, fs.stat('dir/b.txt').ino);
    });

    it('open creates, reads and writes; handle stat matches path stat', (fs) => {
      const h = fs.open('new.txt', CREATE);
      assert.equal(h.kind, 'file');
      assert.equal(h.write(enc('abcdef'), 0), 6);
      const buf = new Uint8Array(4);
      assert.equal(h.read(buf, 2), 4);
      assert.deepEqual(buf, enc('cdef'));
      const a = h.stat();
      const b = fs.stat('new.txt');
      assert.equal(a.ino, b.ino);
      assert.equal(a.dev, b.dev);
      assert.equal(a.size, 6n);
      h.close();
      assert.equal(readText(fs, 'new.txt'), 'abcdef');
      assert.equal(readText(fs, 'dir/sub/c.txt'), 'sea');
    });

    it('open errors: ENOENT, ENOTDIR, EEXIST with exclusive, ELOOP on a symlink', (fs) => {
      expectErrno(() => fs.open('missing', RO), Errno.NOENT);
      expectErrno(() => fs.open('nodir/x', CREATE), Errno.NOENT);
      expectErrno(() => fs.open('a.txt/x', CREATE), Errno.NOTDIR);
      expectErrno(() => fs.open('a.txt', { ...CREATE, exclusive: true }), Errno.EXIST);
      expectErrno(() => fs.open('dir', { ...CREATE, exclusive: true }), Errno.EXIST);
      expectErrno(() => fs.open('link', { ...CREATE, exclusive: true }), Errno.EXIST);
      expectErrno(() => fs.open('dangling', { ...CREATE, exclusive: true }), Errno.EXIST);
      expectErrno(() => fs.open('link', RO), Errno.LOOP);
      expectErrno(() => fs.open('dirlink', RO), Errno.LOOP);
      assert.equal(fs.kind('nowhere'), null);
      fs.open('a.txt', CREATE).close(); // create without exclusive opens an existing file
      assert.equal(readText(fs, 'a.txt'), 'hello');
    });

    it('truncate empties a file and needs write', (fs) => {
      expectErrno(() => fs.open('a.txt', { read: true, write: false, truncate: true }), Errno.INVAL);
      assert.equal(readText(fs, 'a.txt'), 'hello');
      fs.open('a.txt', { read: false, write: true, truncate: true }).close();
      assert.equal(fs.stat('a.txt').size, 0n);
    });

    it('directories: open read-only gives a dir handle; write, EISDIR; directory flag, ENOTDIR', (fs) => {
      const d = fs.open('dir', RO);
      assert.equal(d.kind, 'dir');
      expectErrno(() => d.read(new Uint8Array(4), 0), Errno.ISDIR);
      expectErrno(() => d.write(new Uint8Array(4), 0), Errno.ISDIR, Errno.BADF);
      expectErrno(() => d.setSize(0), Errno.ISDIR);
      assert.equal(d.stat().kind, 'dir');
      d.close();
      const root = fs.open('', { read: true, write: false, directory: true });
      assert.equal(root.kind, 'dir');
      root.close();
      assert.equal(fs.open('dir', { ...RO, directory: true }).kind, 'dir');
      expectErrno(() => fs.open('dir', RW), Errno.ISDIR);
      expectErrno(() => fs.open('a.txt', { ...RO, directory: true }), Errno.NOTDIR);
      expectErrno(() => fs.open('dirlink', { ...RO, directory: true }), Errno.NOTDIR);
      expectErrno(() => fs.open('newdir', { ...CREATE, directory: true }), Errno.INVAL);
    });

    it('positional I/O: reads past EOF return 0, writes past EOF zero-fill', (fs) => {
      const h = fs.open('a.txt', RW);
      const buf = new Uint8Array(10);
      assert.equal(h.read(buf, 5), 0);
      assert.equal(h.read(buf, 100), 0);
      assert.equal(h.read(buf, 3), 2);
      assert.equal(h.write(enc('XY'), 8), 2);
      assert.equal(h.stat().size, 10n);
      assert.equal(h.read(buf, 0), 10);
      assert.deepEqual(buf, new Uint8Array([104, 101, 108, 108, 111, 0, 0, 0, 88, 89]));
      h.close();
    });

    it('handle access modes: EBADF for the wrong direction and after close', (fs) => {
      const r = fs.open('a.txt', RO);
      expectErrno(() => r.write(enc('x'), 0), Errno.BADF);
      expectErrno(() => r.setSize(0), Errno.INVAL, Errno.BADF);
      expectErrno(() => r.allocate(0, 100), Errno.BADF);
      r.close();
      expectErrno(() => r.read(new Uint8Array(1), 0), Errno.BADF);
      expectErrno(() => r.stat(), Errno.BADF);
      expectErrno(() => r.close(), Errno.BADF);
      const w = fs.open('a.txt', { read: false, write: true });
      expectErrno(() => w.read(new Uint8Array(1), 0), Errno.BADF);
      w.close();
    });

    it('setSize grows with zeros and shrinks; allocate only grows', (fs) => {
      const h = fs.open('a.txt', RW);
      h.setSize(2);
      h.setSize(6);
      const buf = new Uint8Array(6);
      assert.equal(h.read(buf, 0), 6);
      assert.deepEqual(buf, new Uint8Array([104, 101, 0, 0, 0, 0]));
      h.allocate(0, 3);
      assert.equal(h.stat().size, 6n);
      h.allocate(4, 10);
      assert.equal(h.stat().size, 14n);
      h.sync();
      h.datasync();
      h.close();
      assert.equal(fs.stat('a.txt').size, 14n);
    });

    it('mkdir and rmdir', (fs) => {
      fs.mkdir('d2');
      assert.equal(fs.kind('d2'), 'dir');
      fs.mkdir('d2/e');
      expectErrno(() => fs.mkdir('d2'), Errno.EXIST);
      expectErrno(() => fs.mkdir('a.txt'), Errno.EXIST);
      expectErrno(() => fs.mkdir('dangling'), Errno.EXIST);
      expectErrno(() => fs.mkdir('nope/x'), Errno.NOENT);
      expectErrno(() => fs.mkdir('a.txt/x'), Errno.NOTDIR);
      expectErrno(() => fs.rmdir('d2'), Errno.NOTEMPTY);
      expectErrno(() => fs.rmdir('dir'), Errno.NOTEMPTY);
      expectErrno(() => fs.rmdir('a.txt'), Errno.NOTDIR);
      expectErrno(() => fs.rmdir('dirlink'), Errno.NOTDIR);
      expectErrno(() => fs.rmdir('missing'), Errno.NOENT);
      expectErrno(() => fs.rmdir(''), Errno.BUSY);
      fs.rmdir('d2/e');
      fs.rmdir('d2');
      fs.rmdir('empty');
      assert.equal(fs.kind('d2'), null);
      assert.equal(fs.kind('empty'), null);
      fs.mkdir('empty');
      assert.deepEqual(fs.readdir('empty'), []);
    });

    it('unlink removes files and symlinks (not their targets)', (fs) => {
      fs.unlink('link');
      assert.equal(fs.kind('link'), null);
      assert.equal(fs.kind('a.txt'), 'file');
      fs.unlink('dangling');
      fs.unlink('dir/b.txt');
      assert.equal(fs.kind('dir/b.txt'), null);
      expectErrno(() => fs.unlink('dir'), Errno.ISDIR);
      expectErrno(() => fs.unlink('missing'), Errno.NOENT);
      expectErrno(() => fs.unlink('a.txt/x'), Errno.NOTDIR);
      fs.open('dir/b.txt', CREATE).close(); // the name is reusable
      assert.equal(fs.stat('dir/b.txt').size, 0n);
    });

    it('rename: files and directories move, replace and keep content', (fs) => {
      fs.rename('a.txt', 'moved.txt');
      assert.equal(fs.kind('a.txt'), null);
      assert.equal(readText(fs, 'moved.txt'), 'hello');
      fs.rename('moved.txt', 'dir/b.txt'); // replaces a file
      assert.equal(readText(fs, 'dir/b.txt'), 'hello');
      fs.rename('dir', 'empty'); // replaces an empty directory
      assert.equal(fs.kind('dir'), null);
      assert.equal(readText(fs, 'empty/sub/c.txt'), 'sea');
      assert.deepEqual(
        fs.readdir('empty').map((e) => e.name),
        ['b.txt', 'sub'],
      );
      fs.rename('link', 'link2'); // moves the link itself
      assert.equal(fs.readlink('link2'), 'a.txt');
      fs.rename('empty/sub', 'empty/sub'); // same path: nothing happens
      assert.equal(fs.kind('empty/sub/c.txt'), 'file');
    });

    it('rename errors', (fs) => {
      expectErrno(() => fs.rename('missing', 'x'), Errno.NOENT);
      expectErrno(() => fs.rename('a.txt', 'nope/x'), Errno.NOENT);
      expectErrno(() => fs.rename('dir', 'a.txt'), Errno.NOTDIR);
      expectErrno(() => fs.rename('a.txt', 'empty'), Errno.ISDIR);
      expectErrno(() => fs.rename('dir', 'dir/sub/inside'), Errno.INVAL);
      expectErrno(() => fs.rename('empty', 'dir'), Errno.NOTEMPTY, Errno.EXIST);
      expectErrno(() => fs.rename('', 'x'), Errno.BUSY);
      assert.equal(readText(fs, 'dir/sub/c.txt'), 'sea');
      assert.equal(fs.kind('empty'), 'dir');
    });

    it('hard links share an inode and count nlink', (fs) => {
      fs.link('a.txt', 'hard.txt');
      assert.equal(fs.stat('a.txt').ino, fs.stat('hard.txt').ino);
      assert.equal(fs.stat('a.txt').nlink, 2n);
      writeAt(fs, 'hard.txt', 'J');
      assert.equal(readText(fs, 'a.txt'), 'Jello');
      fs.rename('a.txt', 'hard.txt'); // two names of one inode: no-op
      assert.equal(fs.kind('a.txt'), 'file');
      fs.unlink('a.txt');
      assert.equal(fs.stat('hard.txt').nlink, 1n);
      assert.equal(readText(fs, 'hard.txt'), 'Jello');
      expectErrno(() => fs.link('dir', 'dir2'), Errno.PERM);
      expectErrno(() => fs.link('hard.txt', 'dir/b.txt'), Errno.EXIST);
      expectErrno(() => fs.link('missing', 'x'), Errno.NOENT);
      fs.link('link', 'link-hard'); // links the symlink, not its target
      assert.equal(fs.kind('link-hard'), 'symlink');
      assert.equal(fs.readlink('link-hard'), 'a.txt');
    });

    it('symlinks store their target verbatim; readlink', (fs) => {
      for (const [name, target] of [
        ['s1', '../outside/x'],
        ['s2', '/etc/passwd'],
        ['s3', 'dir//sub/./c.txt'],
      ] as const) {
        fs.symlink(target, name);
        assert.equal(fs.readlink(name), target);
        assert.equal(fs.kind(name), 'symlink');
      }
      fs.symlink('a.txt', 'dir/sub/up');
      assert.equal(fs.readlink('dir/sub/up'), 'a.txt');
      assert.equal(fs.readlink('dangling'), 'nowhere');
      expectErrno(() => fs.readlink('a.txt'), Errno.INVAL);
      expectErrno(() => fs.readlink('dir'), Errno.INVAL);
      expectErrno(() => fs.readlink('missing'), Errno.NOENT);
      expectErrno(() => fs.symlink('x', 'a.txt'), Errno.EXIST);
      expectErrno(() => fs.symlink('x', 'dangling'), Errno.EXIST);
      expectErrno(() => fs.symlink('x', 'nope/s'), Errno.NOENT);
    });

    it('readdir lists sorted entries with kinds and inode numbers', (fs) => {
      const list = fs.readdir('');
      assert.deepEqual(
        list.map((e) => [e.name, e.kind]),
        [
          ['a.txt', 'file'],
          ['dangling', 'symlink'],
          ['dir', 'dir'],
          ['dirlink', 'symlink'],
          ['empty', 'dir'],
          ['link', 'symlink'],
        ],
      );
      for (const e of list) assert.equal(e.ino, fs.stat(e.name).ino, e.name);
      assert.deepEqual(
        fs.readdir('dir').map((e) => e.name),
        ['b.txt', 'sub'],
      );
      assert.deepEqual(fs.readdir('empty'), []);
      expectErrno(() => fs.readdir('a.txt'), Errno.NOTDIR);
      expectErrno(() => fs.readdir('dirlink'), Errno.NOTDIR);
      expectErrno(() => fs.readdir('missing'), Errno.NOENT);
    });

    it('times keep exact nanoseconds; null leaves a time alone; "now" is now', (fs) => {
      const a = 1_700_000_000_123_456_789n;
      const m = 1_600_000_000_987_654_321n;
      fs.setTimes('a.txt', a, m);
      let st = fs.stat('a.txt');
      assert.equal(st.atimeNs, a);
      assert.equal(st.mtimeNs, m);
      fs.setTimes('a.txt', null, 1_500_000_000_000_000_001n);
      st = fs.stat('a.txt');
      assert.equal(st.atimeNs, a);
      assert.equal(st.mtimeNs, 1_500_000_000_000_000_001n);
      const before = BigInt(Date.now() - 5000) * 1_000_000n;
      fs.setTimes('a.txt', 'now', null);
      st = fs.stat('a.txt');
      assert.ok(st.atimeNs >= before, 'atime is recent');
      assert.equal(st.mtimeNs, 1_500_000_000_000_000_001n);
      const h = fs.open('dir/b.txt', RO);
      h.setTimes(a + 1n, m + 1n);
      assert.equal(h.stat().mtimeNs, m + 1n);
      h.close();
      assert.equal(fs.stat('dir/b.txt').atimeNs, a + 1n);
      fs.setTimes('dir', a, m);
      assert.equal(fs.stat('dir').mtimeNs, m);
      fs.setTimes('link', a, m); // the link itself, not a.txt
      assert.equal(fs.stat('link').mtimeNs, m);
      expectErrno(() => fs.setTimes('missing', a, m), Errno.NOENT);
    });

    it('a write moves mtime forward from a time set in the past', (fs) => {
      fs.setTimes('a.txt', 1_000_000_000n, 1_000_000_000n);
      writeAt(fs, 'a.txt', 'x', 5);
      assert.ok(fs.stat('a.txt').mtimeNs > 1_000_000_000n);
    });
  });
}

/** What a read-only filesystem must refuse; `make` builds one that holds TREE. */
export function runReadOnlyContract(name: string, make: MakeFileSystem): void {
  const it = (title: string, body: (fs: FileSystem) => void): void => {
    test(title, () => {
      const made = make(TREE);
      assert.ok(made.seeded, 'a read-only filesystem must be seeded by make()');
      try {
        body(made.fs);
      } finally {
        made.cleanup?.();
      }
    });
  };

  describe(`read-only FileSystem contract: ${name}`, () => {
    it('reads work', (fs) => {
      assert.equal(fs.readOnly, true);
      assert.equal(readText(fs, 'dir/sub/c.txt'), 'sea');
      assert.equal(fs.readlink('link'), 'a.txt');
      assert.equal(fs.readdir('').length, 6);
      assert.equal(fs.open('dir', RO).kind, 'dir');
    });

    it('every mutation gives EROFS', (fs) => {
      const t = 1_000_000_000n;
      expectErrno(() => fs.open('a.txt', RW), Errno.ROFS);
      expectErrno(() => fs.open('new', CREATE), Errno.ROFS);
      expectErrno(() => fs.open('a.txt', { read: true, write: false, create: true }), Errno.ROFS);
      expectErrno(() => fs.open('a.txt', { read: false, write: true, truncate: true }), Errno.ROFS);
      expectErrno(() => fs.mkdir('x'), Errno.ROFS);
      expectErrno(() => fs.rmdir('empty'), Errno.ROFS);
      expectErrno(() => fs.unlink('a.txt'), Errno.ROFS);
      expectErrno(() => fs.rename('a.txt', 'b'), Errno.ROFS);
      expectErrno(() => fs.link('a.txt', 'b'), Errno.ROFS);
      expectErrno(() => fs.symlink('a.txt', 'b'), Errno.ROFS);
      expectErrno(() => fs.setTimes('a.txt', t, t), Errno.ROFS);
      assert.equal(readText(fs, 'a.txt'), 'hello');
      assert.deepEqual(
        fs.readdir('').map((e) => e.name),
        ['a.txt', 'dangling', 'dir', 'dirlink', 'empty', 'link'],
      );
    });

    it('a handle cannot write, resize or set times', (fs) => {
      const h = fs.open('a.txt', RO);
      expectErrno(() => h.write(enc('x'), 0), Errno.ROFS, Errno.BADF);
      expectErrno(() => h.setSize(0), Errno.ROFS, Errno.INVAL, Errno.BADF);
      expectErrno(() => h.allocate(0, 100), Errno.ROFS, Errno.BADF);
      expectErrno(() => h.setTimes(1n, 1n), Errno.ROFS);
      h.close();
      assert.equal(readText(fs, 'a.txt'), 'hello');
    });
  });
}

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FileSystem } from './types.js';
import { MemoryFileSystem } from './memfs.js';
import { HostFileSystem } from './host/hostfs.js';
import { UnionFileSystem } from './union.js';
import { populate, readText, type TreeSpec } from './populate.js';
import { Errno } from './errno.js';
import { expectErrno, runFileSystemContract } from './fs.case.test.js';
import { tempDir } from './host/testing.js';

// Fixtures go into the lower layer, so every contract test also exercises
// copy-up, whiteouts and opaque directories.
runFileSystemContract('UnionFileSystem (memfs lower, memfs upper)', (tree) => ({
  fs: new UnionFileSystem([new MemoryFileSystem({ tree: tree ?? {} })], new MemoryFileSystem()),
  seeded: true,
}));

runFileSystemContract('UnionFileSystem (memfs lowers, host upper)', (tree) => {
  const { dir, cleanup } = tempDir();
  const lowers = [new MemoryFileSystem({ tree: {} }), new MemoryFileSystem({ tree: tree ?? {} })];
  return { fs: new UnionFileSystem(lowers, new HostFileSystem(dir)), cleanup, seeded: true };
});

runFileSystemContract('UnionFileSystem (fixture written through the union)', () => ({
  fs: new UnionFileSystem([new MemoryFileSystem()], new MemoryFileSystem()),
}));

const LOWER: TreeSpec = {
  etc: { 'app.conf': 'lower-conf', 'keep.txt': 'keep' },
  share: { data: { 'a.bin': 'A', 'b.bin': 'B' } },
  'readme.txt': 'lower readme',
};

function names(fs: FileSystem, path: string): string[] {
  return fs.readdir(path).map((e) => e.name);
}

describe('UnionFileSystem specifics', () => {
  const setup = (): { lower: MemoryFileSystem; upper: MemoryFileSystem; fs: UnionFileSystem } => {
    const lower = new MemoryFileSystem({ tree: LOWER, readOnly: true });
    const upper = new MemoryFileSystem();
    return { lower, upper, fs: new UnionFileSystem([lower], upper) };
  };

  test('copy-up leaves the lower untouched', () => {
    const { lower, upper, fs } = setup();
    const h = fs.open('etc/app.conf', { read: true, write: true });
    h.write(new TextEncoder().encode('UPPER'), 0);
    h.close();
    assert.equal(readText(fs, 'etc/app.conf'), 'UPPER-conf');
    assert.equal(readText(lower, 'etc/app.conf'), 'lower-conf');
    assert.equal(readText(upper, 'etc/app.conf'), 'UPPER-conf');
    assert.equal(upper.kind('etc/keep.txt'), null, 'only the written file is copied');
    assert.deepEqual(names(fs, 'etc'), ['app.conf', 'keep.txt']);
  });

  test('a read-only open does not copy up; setting its times does', () => {
    const { upper, fs } = setup();
    const h = fs.open('readme.txt', { read: true, write: false });
    assert.equal(upper.kind('readme.txt'), null);
    h.setTimes(5n, 6n);
    assert.equal(upper.kind('readme.txt'), 'file');
    assert.equal(h.stat().mtimeNs, 6n);
    h.close();
  });

  test('whiteouts hide lower entries and are invisible', () => {
    const { lower, upper, fs } = setup();
    fs.unlink('etc/keep.txt');
    assert.equal(fs.kind('etc/keep.txt'), null);
    assert.deepEqual(names(fs, 'etc'), ['app.conf']);
    assert.equal(upper.kind('etc/.wh.keep.txt'), 'file');
    assert.equal(lower.kind('etc/keep.txt'), 'file');
    assert.equal(fs.kind('etc/.wh.keep.txt'), null);
    expectErrno(() => fs.open('etc/.wh.x', { read: true, write: true, create: true }), Errno.INVAL);
    expectErrno(() => fs.mkdir('.wh.x'), Errno.INVAL);
    expectErrno(() => fs.symlink('a', 'etc/.wh.y'), Errno.INVAL);
    expectErrno(() => fs.rename('readme.txt', '.wh.readme'), Errno.INVAL);
    // recreating the name clears the whiteout
    fs.open('etc/keep.txt', { read: true, write: true, create: true }).close();
    assert.equal(fs.stat('etc/keep.txt').size, 0n);
    assert.equal(upper.kind('etc/.wh.keep.txt'), null);
  });

  test('rmdir of a merged directory; a new directory there is opaque', () => {
    const { upper, fs } = setup();
    fs.open('share/data/c.bin', { read: true, write: true, create: true }).close(); // upper part of the merge
    expectErrno(() => fs.rmdir('share/data'), Errno.NOTEMPTY);
    for (const n of ['a.bin', 'b.bin', 'c.bin']) fs.unlink(`share/data/${n}`);
    assert.deepEqual(names(fs, 'share/data'), []);
    fs.rmdir('share/data');
    assert.equal(fs.kind('share/data'), null);
    assert.deepEqual(names(fs, 'share'), []);
    fs.mkdir('share/data');
    assert.deepEqual(names(fs, 'share/data'), [], 'old lower content stays hidden');
    assert.equal(upper.kind('share/data/.wh..wh..opq'), 'file');
    assert.equal(fs.kind('share/data/a.bin'), null);
    fs.rmdir('share/data');
    assert.equal(fs.kind('share/data'), null);
  });

  test('readdir merges layers, upper wins, opaque stops the merge', () => {
    const top = new MemoryFileSystem({
      tree: { share: { data: { 'b.bin': { symlink: 'a.bin' }, 'z.bin': 'Z' } } },
    });
    const bottom = new MemoryFileSystem({ tree: LOWER });
    const upper = new MemoryFileSystem({ tree: { share: { data: { 'u.bin': 'U' } } } });
    const fs = new UnionFileSystem([top, bottom], upper);
    assert.deepEqual(
      fs.readdir('share/data').map((e) => [e.name, e.kind]),
      [
        ['a.bin', 'file'],
        ['b.bin', 'symlink'],
        ['u.bin', 'file'],
        ['z.bin', 'file'],
      ],
    );
    populate(upper, { share: { data: { '.wh..wh..opq': '' } } });
    const fresh = new UnionFileSystem([top, bottom], upper);
    assert.deepEqual(names(fresh, 'share/data'), ['u.bin']);
    assert.equal(fresh.kind('share/data/a.bin'), null);
  });

  test('whiteouts inside lower layers hide the layers below them', () => {
    const top = new MemoryFileSystem({ tree: { etc: { '.wh.keep.txt': '' }, '.wh.share': '' } });
    const fs = new UnionFileSystem([top, new MemoryFileSystem({ tree: LOWER })], new MemoryFileSystem());
    assert.deepEqual(names(fs, ''), ['etc', 'readme.txt']);
    assert.deepEqual(names(fs, 'etc'), ['app.conf']);
    assert.equal(fs.kind('share/data'), null);
  });

  test('renaming a lower directory copies the subtree up and whites out the source', () => {
    const { lower, fs } = setup();
    fs.rename('share', 'moved');
    assert.equal(fs.kind('share'), null);
    assert.deepEqual(names(fs, 'moved/data'), ['a.bin', 'b.bin']);
    assert.equal(readText(fs, 'moved/data/b.bin'), 'B');
    assert.equal(lower.kind('share/data/a.bin'), 'file');
    fs.mkdir('share');
    assert.deepEqual(names(fs, 'share'), []);
  });

  test('renaming onto a name deleted from the lower keeps the old content hidden', () => {
    const { fs } = setup();
    fs.unlink('etc/app.conf');
    fs.unlink('etc/keep.txt');
    fs.rmdir('etc');
    fs.mkdir('newetc');
    fs.rename('newetc', 'etc');
    assert.deepEqual(names(fs, 'etc'), []);
  });

  test('persistence: a new union over the same host upper sees writes and deletions', () => {
    const { dir, cleanup } = tempDir();
    try {
      const lower = new MemoryFileSystem({ tree: LOWER, readOnly: true });
      const first = new UnionFileSystem([lower], new HostFileSystem(dir));
      const h = first.open('etc/app.conf', { read: false, write: true, truncate: true });
      h.write(new TextEncoder().encode('edited'), 0);
      h.close();
      first.unlink('readme.txt');
      first.rename('share/data/a.bin', 'share/a.bin');
      first.mkdir('new');
      first.setTimes('etc/keep.txt', 1_234_567_890_123_456_789n, 1_234_567_890_123_456_789n);

      const second = new UnionFileSystem([lower], new HostFileSystem(dir));
      assert.equal(readText(second, 'etc/app.conf'), 'edited');
      assert.equal(second.kind('readme.txt'), null);
      assert.deepEqual(names(second, ''), ['etc', 'new', 'share']);
      assert.deepEqual(names(second, 'share'), ['a.bin', 'data']);
      assert.deepEqual(names(second, 'share/data'), ['b.bin']);
      // exact ns needs the first instance's memory; the host keeps ~µs
      const mt = second.stat('etc/keep.txt').mtimeNs;
      assert.ok(mt - 1_234_567_890_123_456_789n < 1000n && 1_234_567_890_123_456_789n - mt < 1000n);
    } finally {
      cleanup();
    }
  });
});

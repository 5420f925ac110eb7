import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryFileSystem } from './memfs.js';
import { runFileSystemContract, runReadOnlyContract } from './fs.case.test.js';

runFileSystemContract('MemoryFileSystem', () => ({ fs: new MemoryFileSystem() }));
runReadOnlyContract('MemoryFileSystem { readOnly }', (tree) => ({
  fs: new MemoryFileSystem({ readOnly: true, tree }),
  seeded: true,
}));

test('each MemoryFileSystem has its own dev', () => {
  assert.notEqual(new MemoryFileSystem().stat('').dev, new MemoryFileSystem().stat('').dev);
});

test('directory nlink counts subdirectories', () => {
  const fs = new MemoryFileSystem({ tree: { a: { b: {}, c: {}, f: 'x' } } });
  assert.equal(fs.stat('a').nlink, 4n);
  fs.rmdir('a/b');
  assert.equal(fs.stat('a').nlink, 3n);
});

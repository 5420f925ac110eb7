import { test } from 'node:test';
import { lstatSync } from 'node:fs';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { HostFileSystem } from './hostfs.js';
import { tempDir } from './testing.js';
import { populate } from '../populate.js';
import { Errno } from '../errno.js';
import { expectErrno, runFileSystemContract, runReadOnlyContract } from '../fs.case.test.js';

runFileSystemContract('HostFileSystem', () => {
  const { dir, cleanup } = tempDir();
  return { fs: new HostFileSystem(dir), cleanup };
});

runReadOnlyContract('HostFileSystem { readOnly }', (tree) => {
  const { dir, cleanup } = tempDir();
  if (tree) populate(new HostFileSystem(dir), tree);
  return { fs: new HostFileSystem(dir, { readOnly: true }), cleanup, seeded: true };
});

test('unresolved paths never reach the host', () => {
  const { dir, cleanup } = tempDir();
  try {
    const fs = new HostFileSystem(dir);
    for (const p of ['..', '../x', 'a/../../x', '/etc', 'a//b', './a', 'a/', 'a\0b']) {
      expectErrno(() => fs.stat(p), Errno.INVAL);
    }
  } finally {
    cleanup();
  }
});

test('the directory cache forgets directories removed or renamed through the instance', () => {
  const { dir, cleanup } = tempDir();
  try {
    const fs = new HostFileSystem(dir);
    populate(fs, { d: { e: {} }, f: 'x' });
    assert.equal(fs.kind('d/e'), 'dir');
    fs.rmdir('d/e');
    assert.equal(fs.kind('d/e'), null);
    fs.rename('d', 'g');
    assert.equal(fs.kind('d'), null);
    assert.equal(fs.kind('g'), 'dir');
    fs.symlink('g', 'd');
    assert.equal(fs.kind('d'), 'symlink');
  } finally {
    cleanup();
  }
});

test('a FIFO planted on the host does not hang open', () => {
  const { dir, cleanup } = tempDir();
  try {
    try {
      execFileSync('mkfifo', [join(dir, 'pipe')]);
    } catch {
      return; // no mkfifo on this host
    }
    const fs = new HostFileSystem(dir);
    assert.equal(fs.kind('pipe'), 'fifo');
    const h = fs.open('pipe', { read: true, write: false });
    assert.equal(h.kind, 'fifo');
    h.close();
  } finally {
    cleanup();
  }
});

test('exact ns times survive only while the host value is unchanged', () => {
  const { dir, cleanup } = tempDir();
  try {
    const fs = new HostFileSystem(dir);
    populate(fs, { f: 'x' });
    const t = 1_700_000_000_123_456_789n;
    fs.setTimes('f', t, t);
    assert.equal(fs.stat('f').mtimeNs, t);
    const hostNs = lstatSync(join(dir, 'f'), { bigint: true }).mtimeNs;
    assert.ok(hostNs - t < 1000n && t - hostNs < 1000n, 'host is within a microsecond');
    const h = fs.open('f', { read: true, write: true });
    h.write(new Uint8Array([1]), 5);
    h.close();
    assert.notEqual(fs.stat('f').mtimeNs, t);
  } finally {
    cleanup();
  }
});

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryFileSystem } from '../../vfs/memfs.js';
import { UnionFileSystem } from '../../vfs/union.js';
import { Errno } from '../../vfs/errno.js';
import { populate, readText } from '../../vfs/populate.js';
import { expectErrno } from '../../vfs/fs.case.test.js';
import { hideLockedInUpper, lockView, settingsLayer } from './settings-layer.js';

const write = { read: true, write: true, truncate: true } as const;

function setup(upperTree: Parameters<typeof populate>[1] = {}) {
  const settings = settingsLayer({ '/etc/app.conf': 'admin', '/etc/app.d/x.conf': 'x' });
  const pkg = new MemoryFileSystem({
    tree: {
      etc: { 'app.conf': 'package', 'other.conf': 'o', 'app.d': { 'y.conf': 'y' } },
      bin: { 'a.wasm': 'wasm' },
    },
    readOnly: true,
  });
  const upper = new MemoryFileSystem();
  populate(upper, upperTree);
  const lowers = [settings, pkg];
  const view = () => lockView(new UnionFileSystem(lowers, upper), ['/etc/app.conf', '/etc/app.d']);
  return { upper, lowers, view };
}

describe('settings layer', () => {
  test('holds the settings files at their paths, read-only, parents created', () => {
    const fs = settingsLayer({ '/etc/app.conf': 'a', '/opt/x/y/z.ini': 'z' });
    assert.equal(readText(fs, 'etc/app.conf'), 'a');
    assert.equal(readText(fs, 'opt/x/y/z.ini'), 'z');
    assert.equal(fs.readOnly, true);
    expectErrno(() => fs.open('etc/app.conf', write), Errno.ROFS);
  });

  test('the settings layer sits between the user state and the package; locked paths answer EACCES', () => {
    const { view } = setup();
    const fs = view();
    assert.equal(readText(fs, 'etc/app.conf'), 'admin');
    assert.equal(readText(fs, 'etc/other.conf'), 'o');
    expectErrno(() => fs.open('etc/app.conf', write), Errno.ACCES);
    expectErrno(() => fs.unlink('etc/app.d/y.conf'), Errno.ACCES);
    const h = fs.open('etc/other.conf', write);
    h.write(new TextEncoder().encode('mine'), 0);
    h.close();
    assert.equal(readText(fs, 'etc/other.conf'), 'mine');
  });

  test('hideLockedInUpper removes the user copy and whiteout of a locked path, keeping the rest', () => {
    const { upper, lowers, view } = setup({
      etc: { 'app.conf': 'user wrote this before the lock', '.wh.app.d': '', 'other.conf': 'mine' },
    });
    assert.equal(readText(view(), 'etc/app.conf'), 'user wrote this before the lock');
    hideLockedInUpper(upper, ['/etc/app.conf', '/etc/app.d'], lowers);
    const fs = view();
    assert.equal(readText(fs, 'etc/app.conf'), 'admin');
    assert.equal(readText(fs, 'etc/app.d/x.conf'), 'x');
    assert.equal(readText(fs, 'etc/other.conf'), 'mine');
  });

  test('a locked file under a directory the user deleted reappears alone; the deletion of the rest holds', () => {
    const { upper, lowers, view } = setup({ '.wh.etc': '' });
    assert.equal(view().kind('etc'), null);
    hideLockedInUpper(upper, ['/etc/app.conf'], lowers);
    const fs = view();
    assert.deepEqual(
      fs.readdir('etc').map((e) => e.name),
      ['app.conf'],
    );
    assert.equal(readText(fs, 'etc/app.conf'), 'admin');
    // On the next run the pinned copy is made again from the current layers.
    const admin2 = [settingsLayer({ '/etc/app.conf': 'admin v2' }), lowers[1]!];
    hideLockedInUpper(upper, ['/etc/app.conf'], admin2);
    assert.equal(readText(new UnionFileSystem(admin2, upper), 'etc/app.conf'), 'admin v2');
  });

  test('an ancestor replaced by a file, or made opaque, does not hide a locked path', () => {
    for (const tree of [{ etc: 'a file now' }, { etc: { '.wh..wh..opq': '', 'new.conf': 'n' } }]) {
      const { upper, lowers, view } = setup(tree);
      hideLockedInUpper(upper, ['/etc/app.d'], lowers);
      const fs = view();
      assert.equal(readText(fs, 'etc/app.d/x.conf'), 'x');
      assert.equal(readText(fs, 'etc/app.d/y.conf'), 'y');
      assert.equal(fs.kind('etc/other.conf'), null, 'what the user removed stays removed');
    }
  });

  test('a locked path that no layer holds is simply removed from the upper', () => {
    const { upper, lowers, view } = setup({ srv: { 'secret.conf': 'user' } });
    hideLockedInUpper(upper, ['/srv/secret.conf'], lowers);
    assert.equal(view().kind('srv/secret.conf'), null);
    assert.equal(view().kind('srv'), 'dir');
  });
});

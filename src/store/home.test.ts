import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { capsuleHome, ensureHome, openLocalStore } from './home.js';
import { tempStoreDir } from './fs/testing.js';

test('CAPSULE_HOME defaults to ~/.capsule, and an empty value counts as unset', () => {
  assert.equal(capsuleHome({}).root, join(homedir(), '.capsule'));
  assert.equal(capsuleHome({ CAPSULE_HOME: '' }).root, join(homedir(), '.capsule'));
});

test('a relative CAPSULE_HOME is made absolute once', () => {
  assert.equal(capsuleHome({ CAPSULE_HOME: 'rel/home' }).root, resolve('rel/home'));
});

test('the layout under CAPSULE_HOME', () => {
  const home = capsuleHome({ CAPSULE_HOME: '/srv/capsule' });
  assert.deepEqual(home, {
    root: '/srv/capsule',
    store: {
      root: '/srv/capsule/store',
      objects: '/srv/capsule/store/objects/sha256',
      packs: '/srv/capsule/store/packs',
      refs: '/srv/capsule/store/refs',
      tmp: '/srv/capsule/store/tmp',
      leases: '/srv/capsule/store/leases',
      locks: '/srv/capsule/store/locks',
    },
    state: '/srv/capsule/state',
    settings: '/srv/capsule/settings',
    policy: '/srv/capsule/policy',
    trust: '/srv/capsule/trust',
    cache: '/srv/capsule/cache',
  });
});

test('ensureHome creates private folders; openLocalStore shares one store root', () => {
  const dir = tempStoreDir();
  try {
    const home = capsuleHome({ CAPSULE_HOME: join(dir.root, 'home') });
    ensureHome(home);
    for (const d of [home.store.root, home.state, home.settings, home.trust]) {
      assert.equal(statSync(d).mode & 0o777, 0o700);
    }
    const { objects, refs } = openLocalStore(home);
    assert.equal(objects.layout.root, home.store.root);
    assert.equal(refs.layout.root, home.store.root);
  } finally {
    dir.cleanup();
  }
});

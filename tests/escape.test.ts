import { test } from 'node:test';
import assert from 'node:assert/strict';
import { linkSync, mkdirSync, readFileSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { capsule, tempDir, wasm } from './helpers.js';

/**
 * A host directory with traps planted by whoever owns the host side: links
 * that point outside the granted directory. The guest is granted only
 * `granted/` and must never read or write `outside/` through any of them.
 */
function plantedHost() {
  const t = tempDir();
  const granted = join(t.path, 'granted');
  const outside = join(t.path, 'outside');
  mkdirSync(granted);
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret.txt'), 'TOP SECRET\n');
  writeFileSync(join(granted, 'ok.txt'), 'fine\n');
  symlinkSync(join(outside, 'secret.txt'), join(granted, 'abs-link')); // absolute, to a file outside
  symlinkSync('../outside/secret.txt', join(granted, 'rel-link')); // relative, climbing out
  symlinkSync('../outside', join(granted, 'rel-dir')); // a directory outside
  symlinkSync('/etc', join(granted, 'etc')); // the host's /etc
  symlinkSync('ok.txt', join(granted, 'inside-link')); // harmless: stays inside
  mkdirSync(join(granted, 'sub'));
  symlinkSync('../../outside', join(granted, 'sub/up2'));
  return { t, granted, outside };
}

const probe = (granted: string, ...args: string[]) =>
  capsule(['run', '--dir', `${granted}::/data`, wasm('probe'), '--', ...args]);

test('host symlinks that lead out of a granted directory are refused', async () => {
  const { t, granted } = plantedHost();
  try {
    for (const path of [
      '/data/abs-link',
      '/data/rel-link',
      '/data/rel-dir/secret.txt',
      '/data/etc/passwd',
      '/data/sub/up2/secret.txt',
      '/data/../outside/secret.txt',
      '/data/sub/../../outside/secret.txt',
    ]) {
      const r = await probe(granted, 'read', path);
      assert.equal(r.code, 1, `${path}: ${r.stdout}`);
      assert.doesNotMatch(r.stdout, /SECRET|root:/, path);
    }
    const inside = await probe(granted, 'read', '/data/inside-link');
    assert.equal(inside.code, 0, inside.stdout);
    assert.equal(inside.stdout, 'fine\n');
  } finally {
    t.cleanup();
  }
});

test('writing through a planted link never touches the outside', async () => {
  const { t, granted, outside } = plantedHost();
  try {
    for (const path of [
      '/data/abs-link',
      '/data/rel-link',
      '/data/rel-dir/new.txt',
      '/data/sub/up2/new.txt',
    ]) {
      const r = await probe(granted, 'write', path);
      assert.equal(r.code, 1, `${path}: ${r.stdout}`);
    }
    assert.equal(readFileSync(join(outside, 'secret.txt'), 'utf8'), 'TOP SECRET\n');
    assert.ok(!existsSync(join(outside, 'new.txt')));
  } finally {
    t.cleanup();
  }
});

test('the parent of a granted directory cannot be listed', async () => {
  const { t, granted } = plantedHost();
  try {
    for (const path of ['/data/..', '/data/../..', '/data/rel-dir', '/data/sub/up2']) {
      const r = await probe(granted, 'list', path);
      if (r.code === 0) {
        // Listing "/data/.." may only ever show the mount itself, never the host.
        assert.doesNotMatch(r.stdout, /outside|secret/, path);
      }
    }
    const r = await probe(granted, 'list', '/data');
    assert.equal(r.code, 0);
    assert.match(r.stdout, /ok\.txt/);
  } finally {
    t.cleanup();
  }
});

test('a hard link planted by the host owner is the owner’s choice and is readable', async () => {
  const { t, granted, outside } = plantedHost();
  try {
    writeFileSync(join(outside, 'shared.txt'), 'shared on purpose\n');
    linkSync(join(outside, 'shared.txt'), join(granted, 'hard.txt'));
    const r = await probe(granted, 'read', '/data/hard.txt');
    assert.equal(r.code, 0);
    assert.equal(r.stdout, 'shared on purpose\n');
  } finally {
    t.cleanup();
  }
});

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SettingsStore } from './settings.js';
import { StateError } from './errors.js';
import { effectiveSettings, emptyPolicy, parseKey, settingRows } from './settings-merge.js';

const manifest = {
  env: { LANG: 'C', MODE: 'pkg', ONLY_PKG: '1' },
  settings: { files: { '/etc/app.conf': 'pkg', '/etc/pkg-only.conf': 'p' } },
};

function withSettings(body: (s: SettingsStore, root: string) => void): () => void {
  return () => {
    const root = mkdtempSync(join(tmpdir(), 'capsule-settings-'));
    try {
      body(new SettingsStore({ settings: join(root, 'settings'), policy: join(root, 'policy') }), root);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  };
}

const code = (c: string) => (e: unknown) => e instanceof StateError && e.code === c;

describe('settings', () => {
  test('precedence: package < policy < user, env sorted', () => {
    const policy = {
      ...emptyPolicy(),
      env: { MODE: 'policy', POL: 'x' },
      files: { '/etc/app.conf': 'policy' },
    };
    const user = { env: { MODE: 'user', ZED: 'z' }, files: { '/etc/app.conf': 'user', '/home/u/.rc': 'rc' } };
    const eff = effectiveSettings(manifest, policy, user);
    assert.deepEqual(eff.env, [
      ['LANG', 'C'],
      ['MODE', 'user'],
      ['ONLY_PKG', '1'],
      ['POL', 'x'],
      ['ZED', 'z'],
    ]);
    assert.deepEqual(eff.files, {
      '/etc/app.conf': 'user',
      '/etc/pkg-only.conf': 'p',
      '/home/u/.rc': 'rc',
    });
    assert.equal(eff.mountsAllowed, true);
    const withoutUser = effectiveSettings(manifest, policy, { env: {}, files: {} });
    assert.deepEqual(withoutUser.files['/etc/app.conf'], 'policy');
    assert.deepEqual(
      withoutUser.env.find(([k]) => k === 'MODE'),
      ['MODE', 'policy'],
    );
  });

  test('a lock keeps the policy (or package) value whatever the user set; a locked directory covers its files', () => {
    const policy = {
      ...emptyPolicy(),
      env: { MODE: 'policy' },
      locked: { env: ['MODE', 'LANG'], paths: ['/etc'] },
      mounts: 'deny' as const,
    };
    const user = {
      env: { MODE: 'user', LANG: 'fr', OK: '1' },
      files: { '/etc/app.conf': 'u', '/srv/x': 'x' },
    };
    const eff = effectiveSettings(manifest, policy, user);
    assert.deepEqual(Object.fromEntries(eff.env), { LANG: 'C', MODE: 'policy', ONLY_PKG: '1', OK: '1' });
    assert.equal(eff.files['/etc/app.conf'], 'pkg');
    assert.equal(eff.files['/srv/x'], 'x');
    assert.deepEqual(eff.lockedPaths, ['/etc']);
    assert.deepEqual(eff.lockedEnv, ['LANG', 'MODE']);
    assert.equal(eff.mountsAllowed, false);
    const rows = settingRows(manifest, policy, user);
    const mode = rows.find((r) => r.key === 'env.MODE')!;
    assert.deepEqual(mode, {
      key: 'env.MODE',
      value: 'policy',
      source: 'policy',
      locked: true,
      ignoredUserValue: 'user',
    });
  });

  test('a file beneath another file is dropped, the one nearer the root wins', () => {
    const eff = effectiveSettings({ env: {}, settings: { files: { '/etc/a': 'file' } } }, emptyPolicy(), {
      env: {},
      files: { '/etc/a/b': 'under', '/etc/ab': 'beside' },
    });
    assert.deepEqual(eff.files, { '/etc/a': 'file', '/etc/ab': 'beside' });
  });

  test('keys: env.NAME or an absolute path, anything else refused', () => {
    assert.deepEqual(parseKey('env.PATH'), { kind: 'env', name: 'PATH' });
    assert.deepEqual(parseKey('/etc/app.conf'), { kind: 'file', path: '/etc/app.conf' });
    for (const bad of [
      'env.',
      'env.A=B',
      'env.A\0',
      'etc/app.conf',
      '/etc/../x',
      '/etc//x',
      '/',
      '/a/.wh.b',
      'PATH',
    ]) {
      assert.throws(() => parseKey(bad), code('BAD_NAME'), bad);
    }
  });

  test(
    'store: set, lock, refuse a locked key with the policy named, unlock, unset',
    withSettings((s) => {
      s.setPolicy('notes', 'env.MODE', 'policy');
      s.setPolicy('notes', '/etc/app.conf', 'admin\n');
      s.setUser('alice', 'notes', 'env.MODE', 'mine');
      s.setUser('alice', 'notes', '/etc/app.conf', 'mine\n');
      s.lock('notes', 'env.MODE');
      s.lock('notes', '/etc');
      s.lock('notes', '/etc'); // twice is once
      assert.deepEqual(s.getPolicy('notes').locked, { env: ['MODE'], paths: ['/etc'] });
      assert.throws(
        () => s.setUser('alice', 'notes', 'env.MODE', 'again'),
        (e: unknown) => code('LOCKED')(e) && (e as Error).message.includes(s.policyFile('notes')),
      );
      assert.throws(() => s.setUser('alice', 'notes', '/etc/sub/x.conf', 'x'), code('LOCKED'));
      const eff = s.effective(manifest, 'alice', 'notes');
      assert.equal(Object.fromEntries(eff.env).MODE, 'policy');
      assert.equal(eff.files['/etc/app.conf'], 'admin\n');
      assert.equal(s.unlock('notes', 'env.MODE'), true);
      assert.equal(s.unlock('notes', 'env.MODE'), false);
      s.setUser('alice', 'notes', 'env.MODE', 'again');
      assert.equal(Object.fromEntries(s.effective(manifest, 'alice', 'notes').env).MODE, 'again');
      assert.equal(s.unsetUser('alice', 'notes', 'env.MODE'), true);
      assert.equal(s.unsetUser('alice', 'notes', 'env.MODE'), false);
      s.setMounts('notes', 'deny');
      assert.equal(s.effective(manifest, 'alice', 'notes').mountsAllowed, false);
      assert.deepEqual(s.getUser('bob', 'notes'), { env: {}, files: {} });
    }),
  );

  test(
    'store: files are written atomically with nothing left in .tmp, and a corrupt file is reported, not replaced',
    withSettings((s, root) => {
      s.setUser('alice', 'notes', 'env.A', '1');
      assert.deepEqual(JSON.parse(readFileSync(s.userFile('alice', 'notes'), 'utf8')), {
        env: { A: '1' },
        files: {},
      });
      assert.deepEqual(readdirSync(join(root, 'settings', '.tmp')), []);
      mkdirSync(join(root, 'policy'), { recursive: true });
      writeFileSync(s.policyFile('notes'), '{"env": {"A=B": "x"}}');
      assert.throws(() => s.getPolicy('notes'), code('CORRUPT'));
      assert.throws(() => s.setUser('alice', 'notes', 'env.B', '2'), code('CORRUPT'));
      writeFileSync(s.policyFile('notes'), '{not json');
      assert.throws(() => s.lock('notes', 'env.X'), code('CORRUPT'));
      assert.equal(readFileSync(s.policyFile('notes'), 'utf8'), '{not json');
      assert.throws(() => s.setUser('../x', 'notes', 'env.A', '1'), code('BAD_NAME'));
      assert.throws(() => s.setPolicy('../x', 'env.A', '1'), code('BAD_NAME'));
      assert.throws(() => s.setUser('alice', 'notes', 'env.A', 'a\0b'), code('BAD_NAME'));
    }),
  );
});

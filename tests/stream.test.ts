/**
 * Streamed runs (`capsule run URL/NAME@VERSION`) against a real `capsule
 * serve`: chunks fetched on demand into an empty CAPSULE_HOME, then the same
 * package run offline from what was kept.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './helpers.js';
import {
  addUser,
  api,
  clientHome,
  packSqlite,
  push,
  runStreamedSql,
  sqliteTree,
  startServe,
} from './server-helpers.js';

const ADMIN = 'admin-token-for-tests-0123456789';

test('capsule run URL streams a package, then runs offline; refusals exit 125', async () => {
  const t = tempDir();
  const server = await startServe(join(t.path, 'data'), ['--allow-unsigned'], { CAPSULE_ADMIN_TOKEN: ADMIN });
  let stopped = false;
  try {
    const { url } = server;
    const admin = clientHome(join(t.path, 'admin'), ADMIN);
    const pub = clientHome(join(t.path, 'pub'), await addUser(admin, url, 'pub', 'publisher'));
    const bobToken = await addUser(admin, url, 'bob', 'user');
    // A file the guest reads only on demand: /share/data.sql, read via `.read`.
    const tree = sqliteTree(join(t.path, 'tree'));
    mkdirSync(join(tree, 'share'));
    writeFileSync(join(tree, 'share/data.sql'), 'create table t(x);\ninsert into t values (40), (2);\n');
    await packSqlite(pub, tree);
    await push(pub, 'sqlite@1.0.0', url);

    // Not entitled yet, and no token at all: refused, clearly, with 125.
    const bob = clientHome(join(t.path, 'bob'), bobToken);
    const refused = await bob.run(['run', '--allow-unsigned', `${url}/sqlite@1.0.0`, '--', ':memory:']);
    assert.equal(refused.code, 125, refused.stderr);
    assert.match(refused.stderr, /not entitled/);
    assert.doesNotMatch(refused.stderr, /\n\s+at /);
    const anon = await clientHome(join(t.path, 'anon')).run([
      'run',
      '--allow-unsigned',
      `${url}/sqlite@1.0.0`,
      '--',
      ':memory:',
    ]);
    assert.equal(anon.code, 125, anon.stderr);
    assert.match(anon.stderr, /capsule login|CAPSULE_TOKEN/);

    assert.equal((await admin.run(['admin', 'grant', 'sqlite', '--user', 'bob', '--server', url])).code, 0);
    const first = await runStreamedSql(bob, url);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout.trim(), '42');
    // The data file comes on demand (no version: the catalog's latest).
    const demand = await bob.run(['run', '--allow-unsigned', `${url}/sqlite`, '--', ':memory:'], {
      input: '.read /share/data.sql\nselect sum(x) from t;\n',
    });
    assert.equal(demand.code, 0, demand.stderr);
    assert.equal(demand.stdout.trim(), '42');

    // A chunk the server holds corrupt never reaches the guest: EIO and a warning, not a crash.
    const m = await api(url, 'GET', '/packages/sqlite/1.0.0/manifest', ADMIN);
    const layer = (m.json.layers as { digest: string }[])[0]!.digest;
    const index = await api(url, 'GET', `/objects/${layer}`, ADMIN);
    const data = (index.json.entries as { path: string; chunks: { digest: string }[] }[]).find(
      (e) => e.path === 'share/data.sql',
    )!;
    const hex = data.chunks[0]!.digest.replace(/^sha256:/, '');
    const onServer = join(t.path, 'data/objects/sha256', hex.slice(0, 2), hex);
    chmodSync(onServer, 0o644);
    writeFileSync(onServer, 'corrupt');
    // The server looks at a kept object's file at most once a second (object-cache.ts,
    // DEFAULT_RECHECK_MS); until then it serves the copy it verified, which is the right bytes.
    await new Promise((r) => setTimeout(r, 1100));
    const fresh = clientHome(join(t.path, 'bob2'), bobToken);
    const bad = await fresh.run(['run', '--allow-unsigned', `${url}/sqlite@1.0.0`, '--', ':memory:'], {
      input: '.read /share/data.sql\nselect 6*7;\n',
    });
    assert.match(bad.stderr, /refused chunk/);
    assert.match(bad.stdout, /^42$/m);

    await server.stop();
    stopped = true;
    const offline = await bob.run(['run', 'sqlite@1.0.0', '--', ':memory:', 'select 6*7;']);
    assert.equal(offline.code, 0, offline.stderr);
    assert.equal(offline.stdout.trim(), '42');
  } finally {
    if (!stopped) await server.stop();
    t.cleanup();
  }
});

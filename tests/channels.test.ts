/**
 * Channels and yanking against a real `capsule serve`: promote, rollback and
 * yank through `capsule admin`, and what `capsule run URL/NAME[@...]` and
 * `capsule pull` then get. Two versions of a package print their own version
 * from a data file, so every run shows which one it got.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './helpers.js';
import { api, clientHome, sqliteTree, startServe } from './server-helpers.js';

const ADMIN = 'admin-token-for-tests-0123456789';

test('channels: promote, rollback (next run sees it), yank; clients follow stable, @beta, --channel, pins', async () => {
  const t = tempDir();
  const server = await startServe(join(t.path, 'data'), ['--allow-unsigned'], { CAPSULE_ADMIN_TOKEN: ADMIN });
  try {
    const { url } = server;
    const admin = clientHome(join(t.path, 'admin'), ADMIN);
    const adm = async (...args: string[]) => {
      const r = await admin.run(['admin', ...args, '--server', url]);
      return r;
    };
    const add = async (name: string, role: string) => {
      const r = await adm('user', 'add', name, '--role', role, '--json');
      assert.equal(r.code, 0, r.stderr);
      return (JSON.parse(r.stdout) as { token: string }).token;
    };
    const pub = clientHome(join(t.path, 'pub'), await add('pub', 'publisher'));
    const bobToken = await add('bob', 'user');
    const bob = clientHome(join(t.path, 'bob'), bobToken);
    for (const v of ['1.0.0', '1.1.0']) {
      const tree = sqliteTree(join(t.path, `tree-${v}`));
      mkdirSync(join(tree, 'share'));
      writeFileSync(join(tree, 'share/v.sql'), `select 'v${v}';\n`);
      const packed = await pub.run([
        'pack',
        tree,
        '--name',
        'sqlite',
        '--version',
        v,
        '--entry',
        '/bin/sqlite3.wasm',
      ]);
      assert.equal(packed.code, 0, packed.stderr);
      const pushed = await pub.run(['push', `sqlite@${v}`, '--server', url]);
      assert.equal(pushed.code, 0, pushed.stderr);
    }
    assert.equal((await adm('grant', 'sqlite', '--user', 'bob')).code, 0);
    /** A streamed run of TARGET: the version it printed, and the result. */
    const which = async (target: string, ...opts: string[]) => {
      const r = await bob.run(['run', '--allow-unsigned', ...opts, target, '--', ':memory:'], {
        input: '.read /share/v.sql\n',
      });
      return { ...r, got: r.stdout.trim() };
    };

    // Admin only: 401 without a token, 403 for a user; the CLI says so and exits 125.
    const routes: [string, string][] = [
      ['GET', '/admin/apps/sqlite/channels'],
      ['POST', '/admin/apps/sqlite/channels/stable'],
      ['POST', '/admin/apps/sqlite/channels/stable/rollback'],
      ['POST', '/admin/apps/sqlite/versions/1.0.0/yank'],
    ];
    for (const [method, path] of routes) {
      const body = method === 'GET' ? undefined : { version: '1.0.0' };
      assert.equal((await api(url, method, path, undefined, body)).status, 401, path);
      assert.equal((await api(url, method, path, bobToken, body)).status, 403, path);
    }
    const notAdmin = await bob.run([
      'admin',
      'promote',
      'sqlite@1.0.0',
      '--channel',
      'stable',
      '--server',
      url,
    ]);
    assert.equal(notAdmin.code, 125);
    assert.match(notAdmin.stderr, /admin role/);

    // No stable channel yet: the highest version.
    assert.equal((await which(`${url}/sqlite`)).got, 'v1.1.0');
    // Promote both to stable in turn; a streamed run sees the newer; a rollback takes effect on the next run.
    const p1 = await adm('promote', 'sqlite@1.0.0', '--channel', 'stable');
    assert.equal(p1.code, 0, p1.stderr);
    assert.match(p1.stdout, /sqlite stable -> 1\.0\.0/);
    assert.equal((await which(`${url}/sqlite`)).got, 'v1.0.0');
    assert.equal((await adm('promote', 'sqlite@1.1.0', '--channel', 'stable')).code, 0);
    assert.match((await adm('promote', 'sqlite@1.1.0', '--channel', 'stable')).stdout, /nothing changed/);
    const newer = await which(`${url}/sqlite`);
    assert.equal(newer.code, 0, newer.stderr);
    assert.equal(newer.got, 'v1.1.0');
    const rb = await adm('rollback', 'sqlite', '--channel', 'stable');
    assert.equal(rb.code, 0, rb.stderr);
    assert.match(rb.stdout, /1\.1\.0 -> 1\.0\.0/);
    assert.equal((await which(`${url}/sqlite`)).got, 'v1.0.0');
    const noHistory = await adm('rollback', 'sqlite', '--channel', 'stable');
    assert.equal(noHistory.code, 125);
    assert.match(noHistory.stderr, /no earlier version/);
    const noChannel = await adm('rollback', 'sqlite', '--channel', 'nightly');
    assert.equal(noChannel.code, 127, noChannel.stderr);

    // beta, by @beta and by --channel; pull follows channels too.
    assert.equal((await adm('promote', 'sqlite@1.1.0', '--channel', 'beta')).code, 0);
    assert.equal((await which(`${url}/sqlite@beta`)).got, 'v1.1.0');
    assert.equal((await which(`${url}/sqlite`, '--channel', 'beta')).got, 'v1.1.0');
    assert.equal((await which(`${url}/sqlite@1.0.0`)).got, 'v1.0.0');
    assert.equal((await which(`${url}/sqlite@latest`)).got, 'v1.1.0');
    const pulled = await clientHome(join(t.path, 'bob-pull'), bobToken).run([
      'pull',
      `${url}/sqlite`,
      '--channel',
      'beta',
      '--allow-unsigned',
    ]);
    assert.equal(pulled.code, 0, pulled.stderr);
    assert.match(pulled.stdout, /pulled sqlite@1\.1\.0/);
    const cat = await bob.run(['catalog', '--server', url]);
    assert.match(cat.stdout, /^sqlite {2}1\.0\.0, 1\.1\.0 {2}\[beta 1\.1\.0, stable 1\.0\.0\]$/m);

    // Bad channel names and unknown channels: clear errors.
    const unknown = await which(`${url}/sqlite@nightly`);
    assert.equal(unknown.code, 127);
    assert.match(unknown.stderr, /no channel nightly .*its channels: beta, stable/);
    for (const bad of [
      ['--channel', 'Bad_Name'],
      ['--channel', 'latest'],
    ]) {
      const r = await which(`${url}/sqlite`, ...bad);
      assert.equal(r.code, 125, r.stderr);
      assert.match(r.stderr, /not a channel name/);
    }
    assert.equal((await which(`${url}/sqlite@1.0.0`, '--channel', 'beta')).code, 125);
    assert.equal((await which(`${url}/sqlite@%%`)).code, 125);
    assert.match((await adm('promote', 'sqlite@1.0.0', '--channel', 'Nope!')).stderr, /not a channel name/);
    assert.equal((await adm('promote', 'sqlite@1.0.0')).code, 125);
    assert.equal((await adm('promote', 'sqlite', '--channel', 'beta')).code, 125);
    for (const path of [
      '/admin/apps/sqlite/channels/latest',
      '/admin/apps/sqlite/channels/x',
      '/admin/apps/sqlite/channels/..%2Fx',
      '/admin/apps/..%2Fetc/channels/stable',
      '/admin/apps/sqlite/channels/' + 'a'.repeat(40),
    ])
      assert.equal((await api(url, 'POST', path, ADMIN, { version: '1.0.0' })).status, 400, path);
    assert.equal(
      (await api(url, 'POST', '/admin/apps/sqlite/channels/beta', ADMIN, { version: 5 })).status,
      400,
    );
    assert.equal(
      (await api(url, 'POST', '/admin/apps/sqlite/channels/beta', ADMIN, { version: '7.0.0' })).status,
      404,
    );

    // Yank 1.1.0: beta points at nothing, "latest" and ranges skip it, a pin still runs with a warning.
    const yank = await adm('yank', 'sqlite@1.1.0');
    assert.equal(yank.code, 0, yank.stderr);
    assert.match(yank.stdout, /sqlite@1\.1\.0 is now yanked/);
    assert.equal((await which(`${url}/sqlite@beta`)).code, 127);
    assert.equal((await which(`${url}/sqlite@latest`)).got, 'v1.0.0');
    assert.equal((await which(`${url}/sqlite@^1`)).got, 'v1.0.0');
    const pinned = await which(`${url}/sqlite@1.1.0`);
    assert.equal(pinned.code, 0, pinned.stderr);
    assert.equal(pinned.got, 'v1.1.0');
    assert.match(pinned.stderr, /warning: sqlite@1\.1\.0 is yanked/);
    assert.match(
      (await bob.run(['catalog', '--server', url])).stdout,
      /1\.1\.0 \(yanked\) {2}\[stable 1\.0\.0\]/,
    );
    const promoteYanked = await adm('promote', 'sqlite@1.1.0', '--channel', 'stable');
    assert.equal(promoteYanked.code, 125);
    assert.match(promoteYanked.stderr, /yanked/);
    // Yanking what stable points at moves stable back at once; with nothing left, clients get nothing.
    assert.equal((await adm('yank', 'sqlite@1.0.0')).code, 0);
    const none = await which(`${url}/sqlite`);
    assert.equal(none.code, 127, none.stderr);
    assert.match(none.stderr, /yanked versions are never chosen/);
    assert.equal((await adm('yank', 'sqlite@1.0.0', '--undo')).code, 0);
    // A missing version: admins get 404 (127); users are refused like everything else admin (403).
    assert.equal((await adm('yank', 'sqlite@9.9.9')).code, 127);
    assert.equal((await adm('yank', 'nosuchapp@1.0.0')).code, 127);
    const asUser = [
      await api(url, 'POST', '/admin/apps/sqlite/versions/9.9.9/yank', bobToken, {}),
      await api(url, 'POST', '/admin/apps/nosuchapp/versions/1.0.0/yank', bobToken, {}),
      await api(url, 'POST', '/admin/apps/sqlite/versions/1.1.0/yank', bobToken, {}),
    ];
    assert.deepEqual(
      asUser.map((r) => r.status),
      [403, 403, 403],
    );
    assert.deepEqual(asUser[0]!.json, asUser[1]!.json);
    assert.deepEqual(asUser[1]!.json, asUser[2]!.json);

    // Un-yank: beta points at 1.1.0 again.
    const undo = await adm('yank', 'sqlite@1.1.0', '--undo');
    assert.equal(undo.code, 0, undo.stderr);
    assert.match(undo.stdout, /no longer yanked/);
    assert.equal((await which(`${url}/sqlite@beta`)).got, 'v1.1.0');

    const list = await adm('channels', 'sqlite');
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^beta {8}1\.1\.0$/m);
    assert.match(list.stdout, /^stable {6}1\.0\.0$/m);
    assert.match(list.stdout, /^ {2}1\.1\.0 .* by admin {2}\(rolled back /m);
    assert.match(list.stdout, /with no version or channel gets: 1\.0\.0/);
    const json = JSON.parse((await adm('channels', 'sqlite', '--json')).stdout) as {
      channels: { name: string; version: string; history: { version: string }[] }[];
    };
    assert.deepEqual(
      json.channels.map((c) => [c.name, c.version, c.history.map((h) => h.version)]),
      [
        ['beta', '1.1.0', ['1.1.0']],
        ['stable', '1.0.0', ['1.1.0', '1.0.0']],
      ],
    );
    assert.equal((await adm('channels', 'nosuchapp')).code, 127);

    const audit = JSON.parse((await adm('audit', '--json')).stdout) as {
      entries: { action: string; detail: Record<string, unknown> }[];
    };
    const actions = audit.entries.map((e) => e.action);
    for (const a of ['channel.promote', 'channel.rollback', 'package.yank', 'package.unyank'])
      assert.ok(actions.includes(a), `${a} in ${actions.join(',')}`);
    assert.deepEqual(audit.entries.find((e) => e.action === 'channel.rollback')!.detail, {
      app: 'sqlite',
      channel: 'stable',
      from: '1.1.0',
      to: '1.0.0',
    });
    const doc = await api(url, 'GET', '/openapi.json');
    const paths = Object.keys(doc.json.paths as object);
    for (const p of [
      '/admin/apps/{name}/channels',
      '/admin/apps/{name}/channels/{channel}',
      '/admin/apps/{name}/channels/{channel}/rollback',
      '/admin/apps/{name}/versions/{version}/yank',
      '/admin/usage',
      '/usage',
    ])
      assert.ok(paths.includes(p), p);
  } finally {
    await server.stop();
    t.cleanup();
  }
});

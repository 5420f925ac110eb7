/**
 * Usage reporting and the unreachable-server fallback, against a real
 * `capsule serve` that is stopped and started again on the same port and
 * data: streamed runs report at once, local runs (and runs that fell back to
 * the local copy) are spooled and reported on the next contact.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './helpers.js';
import { api, clientHome, sqliteTree, startServe, type ServerProcess } from './server-helpers.js';

const ADMIN = 'admin-token-for-tests-0123456789';

interface Row {
  app: string;
  version: string;
  user: string;
  mode: string;
  launches: number;
}

test('usage: streamed runs report, offline local runs are spooled and sent later; unreachable servers fall back to the local copy', async () => {
  const t = tempDir();
  const data = join(t.path, 'data');
  let server: ServerProcess | null = await startServe(data, ['--allow-unsigned'], {
    CAPSULE_ADMIN_TOKEN: ADMIN,
  });
  try {
    const { url } = server;
    const port = new URL(url).port;
    const admin = clientHome(join(t.path, 'admin'), ADMIN);
    const adm = (...args: string[]) => admin.run(['admin', ...args, '--server', url]);
    const add = async (name: string, role: string) => {
      const r = await adm('user', 'add', name, '--role', role, '--json');
      assert.equal(r.code, 0, r.stderr);
      return (JSON.parse(r.stdout) as { token: string }).token;
    };
    const pub = clientHome(join(t.path, 'pub'), await add('pub', 'publisher'));
    const bobToken = await add('bob', 'user');
    const bob = clientHome(join(t.path, 'bob'), bobToken);
    const packed = await pub.run([
      'pack',
      sqliteTree(join(t.path, 'tree')),
      '--name',
      'sqlite',
      '--version',
      '1.0.0',
      '--entry',
      '/bin/sqlite3.wasm',
    ]);
    assert.equal(packed.code, 0, packed.stderr);
    assert.equal((await pub.run(['push', 'sqlite@1.0.0', '--server', url])).code, 0);
    assert.equal((await adm('grant', 'sqlite', '--user', 'bob')).code, 0);
    const usage = async (...args: string[]) => {
      const r = await adm('usage', '--json', ...args);
      assert.equal(r.code, 0, r.stderr);
      return (JSON.parse(r.stdout) as { usage: Row[] }).usage.map((u) => [
        u.app,
        u.version,
        u.user,
        u.mode,
        u.launches,
      ]);
    };
    const sql = (target: string, home = bob, extra: string[] = []) =>
      home.run(['run', '--allow-unsigned', ...extra, target, '--', ':memory:', 'select 6*7;']);

    // A streamed run reports its launch at once; a pull reports a delivery.
    const streamed = await sql(`${url}/sqlite@1.0.0`);
    assert.equal(streamed.code, 0, streamed.stderr);
    assert.equal(streamed.stdout.trim(), '42');
    assert.deepEqual(await usage(), [['sqlite', '1.0.0', 'bob', 'stream', 1]]);
    const pulled = await bob.run(['pull', `${url}/sqlite`, '--allow-unsigned']);
    assert.equal(pulled.code, 0, pulled.stderr);
    // A local run of a package that came from the server is spooled, not sent.
    assert.equal((await sql('sqlite@1.0.0')).code, 0);
    const spool = join(bob.env.CAPSULE_HOME!, 'usage/spool.jsonl');
    assert.match(readFileSync(spool, 'utf8'), /"mode":"local"/);

    // The server goes away.
    assert.equal(await server.stop(), 0);
    server = null;
    const offline = await sql('sqlite@1.0.0');
    assert.equal(offline.code, 0, offline.stderr);
    // A URL run falls back to the local copy, with a one-line warning.
    for (const target of [
      `${url}/sqlite@1.0.0`,
      `${url}/sqlite`,
      `${url}/sqlite@^1`,
      `${url}/sqlite@stable`,
    ]) {
      const fell = await sql(target);
      assert.equal(fell.code, 0, `${target}: ${fell.stderr}`);
      assert.equal(fell.stdout.trim(), '42');
      // (sqlite itself may complain about ~/.sqliterc)
      const lines = fell.stderr.split('\n').filter((l) => l.startsWith('capsule'));
      assert.equal(lines.length, 1, fell.stderr);
      assert.match(
        lines[0]!,
        /warning: cannot reach .*ECONNREFUSED.*; running sqlite@1\.0\.0 from the local store/,
      );
    }
    // Nothing local that matches: a clear error, 125.
    for (const [target, home] of [
      [`${url}/sqlite@2.0.0`, bob],
      [`${url}/nosuchapp`, bob],
      [`${url}/sqlite`, clientHome(join(t.path, 'carol'), bobToken)],
    ] as const) {
      const r = await sql(target, home);
      assert.equal(r.code, 125, `${target}: ${r.stderr}`);
      assert.match(r.stderr, /cannot reach .*; and no copy of .* from it is in the local store/);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    }
    // A package packed locally under the same name does not stand in for the server's.
    const local = clientHome(join(t.path, 'local'), bobToken);
    const localPack = await local.run([
      'pack',
      sqliteTree(join(t.path, 'tree2')),
      '--name',
      'sqlite',
      '--version',
      '1.0.0',
      '--entry',
      '/bin/sqlite3.wasm',
    ]);
    assert.equal(localPack.code, 0, localPack.stderr);
    assert.equal((await sql(`${url}/sqlite`, local)).code, 125);

    // Back on the same port and data: the next contact sends the spool.
    server = await startServe(data, ['--allow-unsigned', '--port', port], { CAPSULE_ADMIN_TOKEN: ADMIN });
    assert.equal(server.url, url);
    // 401 and 403 are answers, not outages: no fallback, even with a local copy.
    const wrongToken = await bob.run(['run', '--allow-unsigned', `${url}/sqlite@1.0.0`, '--', ':memory:'], {
      env: { CAPSULE_TOKEN: 'cap_wrong' },
    });
    assert.equal(wrongToken.code, 125);
    assert.match(wrongToken.stderr, /capsule login/);
    assert.doesNotMatch(wrongToken.stderr, /local store/);
    assert.match(readFileSync(spool, 'utf8'), /"mode":"local"/);
    // The next online command sends what was spooled while offline.
    const cat = await bob.run(['catalog', '--server', url]);
    assert.equal(cat.code, 0, cat.stderr);
    assert.equal(readFileSync(spool, 'utf8'), '');
    assert.deepEqual(await usage('--app', 'sqlite'), [
      ['sqlite', '1.0.0', 'bob', 'local', 6],
      ['sqlite', '1.0.0', 'bob', 'pull', 1],
      ['sqlite', '1.0.0', 'bob', 'stream', 1],
    ]);
    assert.deepEqual(await usage('--since', '2999-01-01'), []);
    assert.equal((await usage('--since', '1d')).length, 3);
    const text = await adm('usage');
    assert.match(text.stdout, /^APP +VERSION +USER +MODE +LAUNCHES +LAST$/m);
    assert.match(text.stdout, /^sqlite +1\.0\.0 +bob +local +6 +\d{4}-/m);
    assert.equal((await adm('usage', '--since', 'last tuesday')).code, 125);
    assert.equal((await bob.run(['admin', 'usage', '--server', url])).code, 125);
    assert.equal((await api(url, 'GET', '/admin/usage?since=never', ADMIN)).status, 400);
    assert.equal((await api(url, 'GET', '/admin/usage?app=..%2Fx', ADMIN)).status, 400);

    // The server checks every report: known mode, the caller's own, an app they may use, a version that exists.
    const launch = (over: Record<string, unknown> = {}) => ({
      launches: [
        {
          id: 'launch-0001',
          app: 'sqlite',
          version: '1.0.0',
          mode: 'local',
          at: new Date().toISOString(),
          ...over,
        },
      ],
    });
    assert.equal((await api(url, 'POST', '/usage', undefined, launch())).status, 401);
    const ok = await api(url, 'POST', '/usage', bobToken, launch());
    assert.deepEqual(ok.json, { recorded: 1, duplicates: 0 });
    assert.deepEqual((await api(url, 'POST', '/usage', bobToken, launch())).json, {
      recorded: 0,
      duplicates: 1,
    });
    for (const over of [
      { mode: 'teleport' },
      { id: 'x' },
      { id: '../../etc/passwd' },
      { version: 'latest' },
      { app: 'Bad Name' },
      { at: 'yesterday' },
      { at: '2999-01-01T00:00:00Z' },
    ]) {
      const r = await api(url, 'POST', '/usage', bobToken, launch({ id: 'launch-0002', ...over }));
      assert.equal(r.status, 400, JSON.stringify(over));
      assert.equal(typeof r.json.message, 'string');
    }
    for (const body of [{}, { launches: [] }, { launches: 'x' }, { launches: [7] }])
      assert.equal((await api(url, 'POST', '/usage', bobToken, body)).status, 400, JSON.stringify(body));
    const others = await api(url, 'POST', '/usage', bobToken, launch({ id: 'launch-0003', user: 'pub' }));
    assert.equal(others.status, 403);
    assert.match(String(others.json.message), /only your own/);
    const hidden = await api(url, 'POST', '/usage', bobToken, launch({ id: 'launch-0004', app: 'yosys' }));
    const missing = await api(
      url,
      'POST',
      '/usage',
      bobToken,
      launch({ id: 'launch-0005', version: '9.9.9' }),
    );
    assert.equal(hidden.status, 403);
    assert.deepEqual(hidden.json, missing.json);
    assert.equal(
      (await api(url, 'POST', '/usage', ADMIN, launch({ id: 'launch-0006', version: '9.9.9' }))).status,
      404,
    );
    // All or nothing: one bad launch refuses the report.
    const mixed = await api(url, 'POST', '/usage', bobToken, {
      launches: [
        launch({ id: 'launch-0007' }).launches[0],
        launch({ id: 'launch-0008', mode: 'nope' }).launches[0],
      ],
    });
    assert.equal(mixed.status, 400);
    assert.deepEqual(await usage('--app', 'sqlite'), [
      ['sqlite', '1.0.0', 'bob', 'local', 7],
      ['sqlite', '1.0.0', 'bob', 'pull', 1],
      ['sqlite', '1.0.0', 'bob', 'stream', 1],
    ]);

    // A spooled launch the server refuses (the grant was revoked) leaves the spool instead of blocking it.
    assert.equal((await adm('revoke', 'sqlite', '--user', 'bob')).code, 0);
    assert.equal((await sql('sqlite@1.0.0')).code, 0);
    assert.match(readFileSync(spool, 'utf8'), /"mode":"local"/);
    assert.equal((await bob.run(['catalog', '--server', url])).code, 0);
    assert.equal(readFileSync(spool, 'utf8'), '');
    assert.ok(existsSync(join(bob.env.CAPSULE_HOME!, 'usage/origins.json')));
  } finally {
    if (server) await server.stop();
    t.cleanup();
  }
});

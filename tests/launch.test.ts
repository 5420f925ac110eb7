/**
 * GET /packages/NAME/VERSION/launch: the record plus, inline, the metadata a
 * client reads before it starts the package, so a cold start needs one
 * round trip for it instead of three. Only what the caller may read is
 * inlined, a hidden package's answer is the same 403 as its record's, and a
 * client that is offered bytes that are not the object refuses them and
 * fetches the object instead.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
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
const sha256 = (text: string) => `sha256:${createHash('sha256').update(text, 'utf8').digest('hex')}`;

test('the launch answer inlines manifest, layer index and profile for the entitled, and nothing for others', async () => {
  const t = tempDir();
  const server = await startServe(join(t.path, 'data'), ['--allow-unsigned'], { CAPSULE_ADMIN_TOKEN: ADMIN });
  try {
    const { url } = server;
    const admin = clientHome(join(t.path, 'admin'), ADMIN);
    await packSqlite(admin, sqliteTree(join(t.path, 'tree')));
    const rec = await admin.run(['profile', 'record', 'sqlite@1.0.0', '--', ':memory:', 'select 1;']);
    assert.equal(rec.code, 0, rec.stderr);
    await push(admin, 'sqlite@1.0.0', url);
    const bob = await addUser(admin, url, 'bob', 'user');
    const carol = await addUser(admin, url, 'carol', 'user');
    assert.equal((await admin.run(['admin', 'grant', 'sqlite', '--user', 'bob', '--server', url])).code, 0);

    const launch = await api(url, 'GET', '/packages/sqlite/1.0.0/launch', bob);
    assert.equal(launch.status, 200);
    const record = await api(url, 'GET', '/packages/sqlite/1.0.0', bob);
    const objects = launch.json.objects as Record<string, string>;
    const { objects: _, ...rest } = launch.json;
    assert.deepEqual(rest, record.json, 'the launch answer carries the same record');
    const manifestDigest = record.json.digest as string;
    const manifest = JSON.parse(objects[manifestDigest]!) as {
      layers: { digest: string }[];
      profile: string;
    };
    assert.ok(manifest.profile, 'the package has a launch profile');
    assert.deepEqual(
      Object.keys(objects).sort(),
      [manifestDigest, ...manifest.layers.map((l) => l.digest), manifest.profile].sort(),
    );
    for (const [d, text] of Object.entries(objects)) assert.equal(sha256(text), d, `${d} is what it claims`);

    // Not entitled, or no such package: the same 403 as the record's, and nothing inline.
    const hidden = await api(url, 'GET', '/packages/sqlite/1.0.0/launch', carol);
    const absent = await api(url, 'GET', '/packages/nothing/1.0.0/launch', carol);
    const hiddenRecord = await api(url, 'GET', '/packages/sqlite/1.0.0', carol);
    assert.equal(hidden.status, 403);
    assert.deepEqual(hidden.json, hiddenRecord.json);
    assert.deepEqual(absent.json, hidden.json);
    assert.equal((await api(url, 'GET', '/packages/sqlite/1.0.0/launch')).status, 401);

    // A streamed run and a pull use it: no manifest request, the objects still counted as fetched.
    const user = clientHome(join(t.path, 'bob'), bob);
    const run = await runStreamedSql(user, url);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout.trim(), '42');
    const pull = await clientHome(join(t.path, 'bob2'), bob).run([
      'pull',
      '--allow-unsigned',
      `${url}/sqlite@1.0.0`,
    ]);
    assert.equal(pull.code, 0, pull.stderr);
    assert.match(pull.stdout, /fetched \d+ objects .*, 0 were already here/);
  } finally {
    await server.stop();
    t.cleanup();
  }
});

test('inline bytes that are not the object they claim are refused, and the object is fetched on its own', async () => {
  const t = tempDir();
  const server = await startServe(join(t.path, 'data'), ['--allow-unsigned'], { CAPSULE_ADMIN_TOKEN: ADMIN });
  // A proxy that rewrites every inline object of the launch answer into another JSON value.
  const requests: string[] = [];
  const proxy = createServer((req, res) => {
    requests.push(req.url!);
    void fetch(server.url + req.url, { headers: { authorization: req.headers.authorization ?? '' } }).then(
      async (up) => {
        let body = Buffer.from(await up.arrayBuffer());
        if (req.url!.endsWith('/launch') && up.ok) {
          const j = JSON.parse(body.toString('utf8')) as { objects: Record<string, string> };
          for (const d of Object.keys(j.objects)) j.objects[d] = '{"forged":true}';
          body = Buffer.from(JSON.stringify(j));
        }
        res.writeHead(up.status, { 'content-type': up.headers.get('content-type') ?? 'application/json' });
        res.end(body);
      },
    );
  });
  await new Promise<void>((ok) => proxy.listen(0, '127.0.0.1', ok));
  const via = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  try {
    const admin = clientHome(join(t.path, 'admin'), ADMIN);
    await packSqlite(admin, sqliteTree(join(t.path, 'tree')));
    await push(admin, 'sqlite@1.0.0', server.url);
    const user = clientHome(join(t.path, 'user'), ADMIN);
    const run = await runStreamedSql(user, via);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout.trim(), '42');
    assert.ok(
      requests.some((r) => r.endsWith('/manifest')),
      'the forged manifest was refused and fetched on its own',
    );
  } finally {
    proxy.close();
    await server.stop();
    t.cleanup();
  }
});

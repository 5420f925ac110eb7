/**
 * The Capsule server end to end: a real `capsule serve` process on an
 * ephemeral port, the real CLI as its client, and raw HTTP for what the CLI
 * never sends (hostile requests, fuzz).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { tempDir } from './helpers.js';
import { addUser, api, clientHome, packSqlite, push, sqliteTree, startServe } from './server-helpers.js';

const ADMIN = 'admin-token-for-tests-0123456789';

/** A server with a publisher who pushed sqlite@1.0.0, and a plain user bob. */
async function seeded(dir: string, args: string[] = ['--allow-unsigned']) {
  const server = await startServe(join(dir, 'data'), args, { CAPSULE_ADMIN_TOKEN: ADMIN });
  const admin = clientHome(join(dir, 'admin'), ADMIN);
  const pubToken = await addUser(admin, server.url, 'pub', 'publisher');
  const bobToken = await addUser(admin, server.url, 'bob', 'user');
  const pub = clientHome(join(dir, 'pub'), pubToken);
  await packSqlite(pub, sqliteTree(join(dir, 'tree')));
  await push(pub, 'sqlite@1.0.0', server.url);
  return { server, admin, pub, pubToken, bobToken, bob: clientHome(join(dir, 'bob'), bobToken) };
}

async function someChunk(url: string): Promise<string> {
  const m = await api(url, 'GET', '/packages/sqlite/1.0.0/manifest', ADMIN);
  const layer = (m.json.layers as { digest: string }[])[0]!.digest;
  const index = await api(url, 'GET', `/objects/${layer}`, ADMIN);
  const entry = (index.json.entries as { chunks?: { digest: string }[] }[]).find((e) => e.chunks?.length)!;
  return entry.chunks![0]!.digest;
}

test('auth: 401 without a token; unentitled users get one 403 for hidden and missing apps alike', async () => {
  const t = tempDir();
  const s = await seeded(t.path);
  try {
    const { url } = s.server;
    assert.equal((await api(url, 'GET', '/health')).status, 200);
    const doc = await api(url, 'GET', '/openapi.json');
    assert.equal(doc.json.openapi, '3.1.0');
    for (const p of ['/catalog', '/admin/users', '/packages/sqlite/1.0.0/manifest', '/admin/audit'])
      assert.equal((await api(url, 'GET', p)).status, 401, p);
    const paths = doc.json.paths as Record<string, Record<string, { security?: unknown[] }>>;
    const publicPaths = [
      '/health',
      '/openapi.json',
      '/auth/login',
      '/run/{app}',
      '/browser/{file}',
      // The web console: its page and assets, and signing in and out (docs/console.md).
      '/',
      '/console',
      '/console/',
      '/console/assets/{file}',
      '/console/login',
      '/console/session',
      '/console/logout',
    ];
    for (const [p, ops] of Object.entries(paths)) {
      // Public operations say so in the document (an empty security list); the list above pins which.
      const open = Object.values(ops).every((op) => Array.isArray(op.security) && op.security.length === 0);
      assert.equal(open, publicPaths.includes(p), `${p} is ${open ? '' : 'not '}public`);
      if (open) continue;
      for (const method of Object.keys(ops)) {
        const r = await api(url, method.toUpperCase(), p.replace(/\{[a-z]+\}/g, 'x'), 'cap_wrong');
        assert.equal(r.status, 401, `${method} ${p}`);
      }
    }

    const hidden = await api(url, 'GET', '/packages/sqlite/1.0.0/manifest', s.bobToken);
    const missing = await api(url, 'GET', '/packages/nosuchapp/1.0.0/manifest', s.bobToken);
    assert.equal(hidden.status, 403);
    assert.equal(missing.status, 403);
    assert.deepEqual(hidden.json, missing.json);
    const chunk = await someChunk(url);
    const hiddenObj = await api(url, 'GET', `/objects/${chunk}`, s.bobToken);
    const missingObj = await api(url, 'GET', `/objects/sha256:${'0'.repeat(64)}`, s.bobToken);
    assert.equal(hiddenObj.status, 403);
    assert.deepEqual(hiddenObj.json, missingObj.json);
    assert.equal((await api(url, 'GET', '/admin/users', s.bobToken)).status, 403);

    const cat = await s.bob.run(['catalog', '--server', url]);
    assert.equal(cat.code, 0, cat.stderr);
    assert.match(cat.stdout, /no apps/);
    const refused = await s.bob.run(['pull', `${url}/sqlite@1.0.0`, '--allow-unsigned']);
    assert.equal(refused.code, 125, refused.stderr);
    const anon = await clientHome(join(t.path, 'anon')).run(['catalog', '--server', url]);
    assert.equal(anon.code, 125);

    // A grant to a group bob is in opens the app to him.
    for (const args of [
      ['group', 'add', 'staff', '--member', 'bob'],
      ['grant', 'sqlite', '--group', 'staff'],
    ]) {
      const r = await s.admin.run(['admin', ...args, '--server', url]);
      assert.equal(r.code, 0, r.stderr);
    }
    assert.match((await s.bob.run(['catalog', '--server', url])).stdout, /^sqlite {2}1\.0\.0$/m);
    const obj = await api(url, 'GET', `/objects/${chunk}`, s.bobToken);
    assert.equal(obj.status, 200);
    assert.equal(obj.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.equal(obj.headers.get('etag'), `"${chunk}"`);
    const again = await api(url, 'GET', `/objects/${chunk}`, s.bobToken, undefined, {
      'if-none-match': `"${chunk}"`,
    });
    assert.equal(again.status, 304);
    // Users cannot publish; admins see 404 where users see 403.
    assert.equal((await api(url, 'POST', '/objects/missing', s.bobToken, { digests: [] })).status, 403);
    assert.equal((await api(url, 'GET', '/packages/nosuchapp/1.0.0/manifest', ADMIN)).status, 404);
    const unknown = await s.admin.run(['pull', `${url}/nosuchapp@1.0.0`, '--allow-unsigned']);
    assert.equal(unknown.code, 127, unknown.stderr);

    const revoke = await s.admin.run(['admin', 'revoke', 'sqlite', '--group', 'staff', '--server', url]);
    assert.equal(revoke.code, 0, revoke.stderr);
    assert.equal((await api(url, 'GET', `/objects/${chunk}`, s.bobToken)).status, 403);
    const audit = await s.admin.run(['admin', 'audit', '--server', url, '--json']);
    const actions = (JSON.parse(audit.stdout) as { entries: { action: string }[] }).entries.map(
      (e) => e.action,
    );
    for (const a of [
      'server.bootstrap',
      'user.add',
      'package.publish',
      'group.add',
      'grant.add',
      'grant.revoke',
    ])
      assert.ok(actions.includes(a), `${a} in ${actions.join(',')}`);
  } finally {
    await s.server.stop();
    t.cleanup();
  }
});

test('push uploads only what the server lacks; pull is verified, resumable, and the app then runs offline', async () => {
  const t = tempDir();
  const s = await seeded(t.path);
  try {
    const { url } = s.server;
    const second = await s.pub.run(['push', 'sqlite@1.0.0', '--server', url]);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /sent 0 of \d+ objects, 0 B/);
    // A new version with one more file sends only its new objects (the layer index and manifest).
    const v2 = await s.pub.run([
      'pack',
      sqliteTree(join(t.path, 'tree2'), 'copy.wasm'),
      '--name',
      'sqlite',
      '--version',
      '1.1.0',
      '--entry',
      '/bin/sqlite3.wasm',
    ]);
    assert.equal(v2.code, 0, v2.stderr);
    const p2 = await s.pub.run(['push', 'sqlite@1.1.0', '--server', url]);
    assert.match(p2.stdout, /sent 2 of \d+ objects/, p2.stdout);

    const grant = await s.admin.run(['admin', 'grant', 'sqlite', '--user', 'bob', '--server', url]);
    assert.equal(grant.code, 0, grant.stderr);
    const pulled = await s.bob.run(['pull', `${url}/sqlite@1.0.0`, '--allow-unsigned']);
    assert.equal(pulled.code, 0, pulled.stderr);
    assert.match(pulled.stdout, /fetched \d+ objects .*, 0 were already here/);
    // The second version shares every chunk: only its index and manifest travel.
    const latest = await s.bob.run(['pull', `${url}/sqlite`, '--allow-unsigned']);
    assert.equal(latest.code, 0, latest.stderr);
    assert.match(latest.stdout, /pulled sqlite@1\.1\.0 .*\n {2}fetched 2 objects/);
    // Resumable: objects already here are skipped; only the lost ones travel again.
    const { readdirSync, rmSync } = await import('node:fs');
    const shards = join(s.bob.env.CAPSULE_HOME!, 'store/objects/sha256');
    let removed = 0;
    for (const shard of readdirSync(shards).slice(0, 5)) {
      removed += readdirSync(join(shards, shard)).length;
      rmSync(join(shards, shard), { recursive: true, force: true });
    }
    const resumed = await s.bob.run(['pull', `${url}/sqlite@1.0.0`, '--allow-unsigned']);
    assert.equal(resumed.code, 0, resumed.stderr);
    const counts = /fetched (\d+) objects .*, (\d+) were already here/.exec(resumed.stdout);
    assert.ok(counts, resumed.stdout);
    assert.ok(Number(counts[1]) > 0 && Number(counts[1]) <= removed, resumed.stdout);
    assert.ok(Number(counts[2]) > 0, resumed.stdout);
    const complete = await s.bob.run(['pull', `${url}/sqlite@1.0.0`, '--allow-unsigned']);
    assert.match(complete.stdout, /fetched 0 objects/);
    const unsigned = await clientHome(join(t.path, 'bob2'), s.bobToken).run(['pull', `${url}/sqlite@1.0.0`]);
    assert.equal(unsigned.code, 125);
    assert.match(unsigned.stderr, /not signed by a key you trust/);

    assert.equal(await s.server.stop(), 0);
    const offline = await s.bob.run(['run', 'sqlite@1.0.0', '--', ':memory:', 'select 6 * 7;']);
    assert.equal(offline.code, 0, offline.stderr);
    assert.equal(offline.stdout.trim(), '42');
    const gone = await s.bob.run(['catalog', '--server', url]);
    assert.equal(gone.code, 125);
    assert.match(gone.stderr, /cannot reach/);
  } finally {
    await s.server.stop();
    t.cleanup();
  }
});

test('bad uploads and bodies: digest mismatch, over the limit, malformed JSON, hostile names, unsigned', async () => {
  const t = tempDir();
  const server = await startServe(join(t.path, 'data'), ['--max-object-bytes', '4096'], {
    CAPSULE_ADMIN_TOKEN: ADMIN,
  });
  try {
    const { url } = server;
    const bytes = randomBytes(1000);
    const right = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    const wrong = `sha256:${createHash('sha256').update('other').digest('hex')}`;
    const mismatch = await api(url, 'PUT', `/objects/${wrong}`, ADMIN, bytes);
    assert.equal(mismatch.status, 422);
    assert.match(String(mismatch.json.message), /not sha256:/);
    assert.equal((await api(url, 'PUT', `/objects/${right}`, ADMIN, bytes)).status, 201);
    assert.equal((await api(url, 'PUT', `/objects/${right}`, ADMIN, bytes)).status, 200);
    const big = randomBytes(5000);
    const over = await api(
      url,
      'PUT',
      `/objects/sha256:${createHash('sha256').update(big).digest('hex')}`,
      ADMIN,
      big,
    );
    assert.equal(over.status, 413);
    const missing = await api(url, 'POST', '/objects/missing', ADMIN, { digests: [right, wrong] });
    assert.deepEqual(missing.json.missing, [wrong]);

    for (const [path, body] of [
      ['/admin/users', '{"name": "x",'],
      ['/admin/users', '[1,2]'],
      ['/packages', 'null'],
      ['/objects/missing', '{"digests": "nope"}'],
    ] as const) {
      const r = await api(url, 'POST', path, ADMIN, body, { 'content-type': 'application/json' });
      assert.equal(r.status, 400, `${path} ${body}`);
      assert.equal(typeof r.json.message, 'string');
      assert.ok(String(r.json.message).length > 5);
    }
    for (const path of [
      '/objects/sha256:..%2F..%2Fetc%2Fpasswd',
      `/objects/SHA256:${'A'.repeat(64)}`,
      '/packages/..%2F..%2Fetc/1.0.0/manifest',
      '/packages/sqlite/..%2F1.0.0',
      '/packages/%E0%A4%A/1.0.0',
    ]) {
      assert.equal((await api(url, 'GET', path, ADMIN)).status, 400, path);
    }
    for (const body of [
      { name: '../evil', role: 'user' },
      { name: 'ok', role: 'root' },
      { name: 'A'.repeat(100) },
      { name: 'x\u0000y' },
    ])
      assert.equal((await api(url, 'POST', '/admin/users', ADMIN, body)).status, 400, JSON.stringify(body));
    const badPkg = await api(url, 'POST', '/packages', ADMIN, {
      name: 'Bad Name',
      version: '1.0.0',
      manifest: right,
    });
    assert.equal(badPkg.status, 400);
    // A metadata object that is not a manifest is refused as one.
    const notManifest = await api(url, 'POST', '/packages', ADMIN, {
      name: 'x',
      version: '1.0.0',
      manifest: right,
    });
    assert.equal(notManifest.status, 422);
  } finally {
    await server.stop();
  }
  // Without --allow-unsigned, an unsigned package is refused.
  const strict = await startServe(join(t.path, 'strict'), [], { CAPSULE_ADMIN_TOKEN: ADMIN });
  try {
    const url = strict.url;
    const pub = clientHome(join(t.path, 'pub'), ADMIN);
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
    const pushed = await pub.run(['push', 'sqlite@1.0.0', '--server', url]);
    assert.equal(pushed.code, 125);
    assert.match(pushed.stderr, /no valid signature/);
  } finally {
    await strict.stop();
    t.cleanup();
  }
});

test('one keep-alive connection: each request is authenticated on its own, and a revoke applies to the next', async () => {
  const t = tempDir();
  const s = await seeded(t.path);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const { url } = s.server;
    const chunk = await someChunk(url);
    const grant = await s.admin.run(['admin', 'grant', 'sqlite', '--user', 'bob', '--server', url]);
    assert.equal(grant.code, 0, grant.stderr);
    const sockets = new Set<unknown>();
    const get = (token: string | undefined) =>
      new Promise<number>((done, fail) => {
        const req = request(
          `${url}/objects/${chunk}`,
          { agent, headers: token ? { authorization: `Bearer ${token}` } : {} },
          (res) => {
            sockets.add(res.socket);
            res.resume();
            res.on('end', () => done(res.statusCode ?? 0));
          },
        );
        req.on('error', fail);
        req.end();
      });
    // The server remembers a connection's last token hash; a different header is hashed and checked anew.
    assert.equal(await get(s.bobToken), 200);
    assert.equal(await get(s.bobToken), 200);
    assert.equal(await get('cap_not-a-token'), 401);
    assert.equal(await get(undefined), 401);
    assert.equal(await get('x y'), 401);
    assert.equal(await get(s.pubToken), 200); // the publisher pushed sqlite, so may read it
    assert.equal(await get(s.bobToken), 200);
    const revoke = await s.admin.run(['admin', 'revoke', 'sqlite', '--user', 'bob', '--server', url]);
    assert.equal(revoke.code, 0, revoke.stderr);
    assert.equal(await get(s.bobToken), 403);
    assert.equal(await get(s.pubToken), 200);
    assert.equal(sockets.size, 1, 'all on one connection');
  } finally {
    agent.destroy();
    await s.server.stop();
    t.cleanup();
  }
});

test('a bounded fuzz of random requests never crashes the server', async () => {
  const t = tempDir();
  const server = await startServe(join(t.path, 'data'), ['--allow-unsigned'], { CAPSULE_ADMIN_TOKEN: ADMIN });
  try {
    const { url } = server;
    const paths = [
      '/health',
      '/catalog',
      '/objects/missing',
      '/objects/sha256:' + '1'.repeat(64),
      '/objects/%00',
      '/packages',
      '/packages/a/1.0.0',
      '/packages/a/1.0.0/manifest',
      '/admin/users',
      '/admin/groups',
      '/admin/grants',
      '/admin/grants/revoke',
      '/admin/audit?limit=-5',
      '/admin/apps/a/channels',
      '/admin/apps/a/channels/stable',
      '/admin/apps/a/channels/stable/rollback',
      '/admin/apps/a/versions/1.0.0/yank',
      '/admin/usage?since=%00&app=a',
      '/usage',
      '/auth/login',
      '/whoami',
      '/%ff%fe',
      '/' + 'x'.repeat(3000),
    ];
    const methods = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'];
    const pick = <T>(a: T[]): T => a[Math.floor(Math.random() * a.length)]!;
    const bodies = [
      () => randomBytes(Math.floor(Math.random() * 2000)),
      () =>
        JSON.stringify({ name: randomBytes(8).toString('hex'), digests: [randomBytes(4).toString('hex')] }),
      () =>
        JSON.stringify({
          user: {},
          password: [],
          app: 1,
          group: null,
          name: 'a',
          version: '1.0.0',
          manifest: 5,
        }),
      () => '{"a":' + '['.repeat(5000),
      () =>
        JSON.stringify({
          launches: [
            { id: randomBytes(6).toString('hex'), app: 'a', version: '1.0.0', mode: 'stream', at: 5 },
          ],
          version: '1.0.0',
          yanked: 'no',
        }),
      () =>
        JSON.stringify({
          digests: Array.from({ length: 50 }, () => `sha256:${randomBytes(32).toString('hex')}`),
        }),
    ];
    for (let i = 0; i < 300; i++) {
      const method = pick(methods);
      const body = method === 'GET' ? undefined : pick(bodies)();
      const token = pick([undefined, ADMIN, 'cap_garbage', 'x'.repeat(600)]);
      const r = await api(url, method, pick(paths), token, body, {
        'content-type': pick(['application/json', 'text/plain']),
      });
      assert.ok(r.status < 500, `${method} -> ${r.status} ${JSON.stringify(r.json)}`);
    }
    assert.equal((await api(url, 'GET', '/health')).status, 200);
  } finally {
    await server.stop();
    t.cleanup();
  }
});

test('a generated admin token is printed once; a restart on the same data keeps users and packages', async () => {
  const t = tempDir();
  const data = join(t.path, 'data');
  try {
    const first = await startServe(data);
    const m = /first start: the admin token is .*\n {2}(cap_\S+)/.exec(first.stdout());
    assert.ok(m, first.stdout());
    const token = m[1]!;
    const add = await api(first.url, 'POST', '/admin/users', token, {
      name: 'carol',
      role: 'user',
      password: 'correct horse',
    });
    assert.equal(add.status, 201);
    assert.equal(await first.stop(), 0);

    const second = await startServe(data);
    try {
      assert.doesNotMatch(second.stdout(), /admin token/);
      const users = await api(second.url, 'GET', '/admin/users', token);
      assert.deepEqual(
        (users.json.users as { name: string }[]).map((u) => u.name),
        ['admin', 'carol'],
      );
      assert.equal((await api(second.url, 'GET', '/whoami', add.json.token as string)).status, 200);
      // Password login, through the CLI: the token lands in credentials.json, 0600.
      const carol = clientHome(join(t.path, 'carol'));
      const login = await carol.run(['login', second.url, '--user', 'carol', '--password-stdin'], {
        input: 'correct horse\n',
      });
      assert.equal(login.code, 0, login.stderr);
      const { statSync, readFileSync } = await import('node:fs');
      const file = join(carol.env.CAPSULE_HOME!, 'credentials.json');
      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.match(readFileSync(file, 'utf8'), /cap_/);
      assert.equal((await carol.run(['catalog', '--server', second.url])).code, 0);
      const wrong = await carol.run(['login', second.url, '--user', 'carol', '--password-stdin'], {
        input: 'nope\n',
      });
      assert.equal(wrong.code, 125);
    } finally {
      await second.stop();
    }
  } finally {
    t.cleanup();
  }
});

test('graceful shutdown: a request in flight at SIGTERM completes, then the server exits 0', async () => {
  const t = tempDir();
  const server = await startServe(join(t.path, 'data'), [], { CAPSULE_ADMIN_TOKEN: ADMIN });
  try {
    const bytes = randomBytes(3000);
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    const u = new URL(server.url);
    const status = new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: u.hostname,
          port: u.port,
          method: 'PUT',
          path: `/objects/${digest}`,
          headers: { authorization: `Bearer ${ADMIN}`, 'content-length': bytes.length },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.write(bytes.subarray(0, 1000));
      setTimeout(() => {
        server.child.kill('SIGTERM');
        setTimeout(() => req.end(bytes.subarray(1000)), 300);
      }, 200);
    });
    assert.equal(await status, 201);
    const code = await new Promise<number | null>((resolve) =>
      server.child.exitCode !== null ? resolve(server.child.exitCode) : server.child.on('exit', resolve),
    );
    assert.equal(code, 0);
    assert.match(server.stdout(), /SIGTERM: finishing requests in flight[\s\S]*stopped/);
    // It stopped accepting.
    await assert.rejects(fetch(`${server.url}/health`));
  } finally {
    t.cleanup();
  }
});

test('signature policy: a signed package is accepted by a strict server; a bad signature never is', async () => {
  const t = tempDir();
  const data = join(t.path, 'data');
  const { mkdirSync, readFileSync, writeFileSync } = await import('node:fs');
  const { keyIdOf } = await import('../src/package/node.js');
  const pub = clientHome(join(t.path, 'pub'), ADMIN);
  const keygen = await pub.run(['keygen', 'acme']);
  assert.equal(keygen.code, 0, keygen.stderr);
  const pem = readFileSync(join(pub.env.CAPSULE_HOME!, 'keys/acme.pub'), 'utf8');
  mkdirSync(join(data, 'trust'), { recursive: true });
  writeFileSync(join(data, 'trust', `${keyIdOf(pem).slice('sha256:'.length)}.pub`), pem);
  const server = await startServe(data, [], { CAPSULE_ADMIN_TOKEN: ADMIN });
  try {
    const { url } = server;
    const packed = await pub.run([
      'pack',
      sqliteTree(join(t.path, 'tree')),
      '--name',
      'sqlite',
      '--version',
      '1.0.0',
      '--entry',
      '/bin/sqlite3.wasm',
      '--sign',
      'acme',
    ]);
    assert.equal(packed.code, 0, packed.stderr);
    const digest = /sha256:[0-9a-f]{64}/.exec(packed.stdout)![0];
    const pushed = await pub.run(['push', 'sqlite@1.0.0', '--server', url]);
    assert.equal(pushed.code, 0, pushed.stderr);
    // A signature that does not verify is refused, whatever else the package has.
    const forged = await api(url, 'POST', '/packages', ADMIN, {
      name: 'sqlite',
      version: '1.0.0',
      manifest: digest,
      signatures: [
        { keyId: keyIdOf(pem), algorithm: 'ed25519', signature: Buffer.alloc(64, 7).toString('base64') },
      ],
    });
    assert.equal(forged.status, 422);
    assert.equal(forged.json.error, 'bad_signature');

    // A client that trusts acme pulls it without --allow-unsigned.
    const client = clientHome(join(t.path, 'client'), ADMIN);
    writeFileSync(join(t.path, 'acme.pub'), pem);
    assert.equal((await client.run(['trust', 'add', join(t.path, 'acme.pub')])).code, 0);
    const pulled = await client.run(['pull', `${url}/sqlite@1.0.0`]);
    assert.equal(pulled.code, 0, pulled.stderr);
    const ran = await client.run(['run', 'sqlite@1.0.0', '--', ':memory:', 'select 1 + 1;']);
    assert.equal(ran.stdout.trim(), '2', ran.stderr);
  } finally {
    await server.stop();
    t.cleanup();
  }
});

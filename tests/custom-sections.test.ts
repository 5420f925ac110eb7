/**
 * Custom sections (DWARF, names, producers) are not needed to run a module:
 * a streamed run never fetches the chunks that hold only them, a later
 * offline run does without them, and a trap fetches the name section then,
 * to say which function it happened in.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, wasm } from './helpers.js';
import {
  api,
  clientHome,
  packSqlite,
  push,
  runStreamedSql,
  sqliteTree,
  startServe,
} from './server-helpers.js';

const ADMIN = 'admin-token-for-custom-sections-01';

/** Where the module's custom tail starts: the end of its data section (the last non-custom section). */
function dataSectionEnd(bytes: Uint8Array): number {
  let at = 8;
  let end = 0;
  while (at < bytes.length) {
    const id = bytes[at]!;
    let size = 0;
    let n = 0;
    for (let shift = 0; ; shift += 7) {
      const b = bytes[at + 1 + n++]!;
      size += (b & 0x7f) * 2 ** shift;
      if (!(b & 0x80)) break;
    }
    at += 1 + n + size;
    if (id !== 0) end = at;
  }
  return end;
}

test('a streamed run fetches no chunk that holds only custom sections; offline runs do without them', async () => {
  const t = tempDir();
  const server = await startServe(join(t.path, 'data'), ['--allow-unsigned'], { CAPSULE_ADMIN_TOKEN: ADMIN });
  let stopped = false;
  try {
    const { url } = server;
    const pub = clientHome(join(t.path, 'pub'), ADMIN);
    await packSqlite(pub, sqliteTree(join(t.path, 'tree')));
    await push(pub, 'sqlite@1.0.0', url);

    const user = clientHome(join(t.path, 'user'), ADMIN);
    const first = await runStreamedSql(user, url);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout.trim(), '42');

    // Which chunks of the entry lie wholly in the custom tail, and which hold runnable bytes.
    const m = await api(url, 'GET', '/packages/sqlite/1.0.0/manifest', ADMIN);
    const layer = (m.json.layers as { digest: string }[])[0]!.digest;
    const index = await api(url, 'GET', `/objects/${layer}`, ADMIN);
    const entry = (index.json.entries as { path: string; chunks: { digest: string; size: number }[] }[]).find(
      (e) => e.path === 'bin/sqlite3.wasm',
    )!;
    const tail = dataSectionEnd(readFileSync(wasm('sqlite3')));
    const stored = (digest: string) => {
      const hex = digest.slice('sha256:'.length);
      return existsSync(join(t.path, 'user/home/store/objects/sha256', hex.slice(0, 2), hex));
    };
    let offset = 0;
    let skipped = 0;
    for (const c of entry.chunks) {
      if (offset >= tail) {
        assert.ok(!stored(c.digest), `chunk at ${offset} holds only custom sections and was fetched`);
        skipped++;
      } else assert.ok(stored(c.digest), `chunk at ${offset} holds code or data and was not fetched`);
      offset += c.size;
    }
    assert.ok(skipped >= 1, `the custom tail spans whole chunks (tail at ${tail} of ${offset})`);

    await server.stop();
    stopped = true;
    const offline = await user.run(['run', 'sqlite@1.0.0', '--', ':memory:', 'select 6*7;']);
    assert.equal(offline.code, 0, offline.stderr);
    assert.equal(offline.stdout.trim(), '42');
  } finally {
    if (!stopped) await server.stop();
    t.cleanup();
  }
});

test('a trap names its function from the name section, fetched only then (streamed and local)', async () => {
  const t = tempDir();
  const server = await startServe(join(t.path, 'data'), ['--allow-unsigned'], { CAPSULE_ADMIN_TOKEN: ADMIN });
  try {
    const { url } = server;
    const pub = clientHome(join(t.path, 'pub'), ADMIN);
    mkdirSync(join(t.path, 'tree'));
    cpSync(wasm('trap'), join(t.path, 'tree/trap.wasm'));
    const pack = [
      'pack',
      join(t.path, 'tree'),
      '--name',
      'trapper',
      '--version',
      '1.0.0',
      '--entry',
      '/trap.wasm',
    ];
    assert.equal((await pub.run(pack)).code, 0);
    const local = await pub.run(['run', 'trapper']);
    assert.equal(local.code, 134, local.stderr);
    assert.match(local.stderr, /trapped in crash_here \(function \d+, offset 0x[0-9a-f]+\)/);

    assert.equal((await pub.run(['push', 'trapper@1.0.0', '--server', url])).code, 0);
    const user = clientHome(join(t.path, 'user'), ADMIN);
    const streamed = await user.run(['run', '--allow-unsigned', `${url}/trapper@1.0.0`]);
    assert.equal(streamed.code, 134, streamed.stderr);
    assert.match(streamed.stdout, /about to trap/);
    assert.match(streamed.stderr, /trapped in crash_here/);
  } finally {
    await server.stop();
    t.cleanup();
  }
});

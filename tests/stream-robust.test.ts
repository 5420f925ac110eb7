/**
 * Streamed delivery when the network and the server misbehave: a real
 * `capsule serve`, the real CLI as the client, and the throttling proxy
 * (bench/lib/throttle-proxy.ts) between them to cut connections, corrupt
 * bytes in flight and add latency. Then 200 concurrent client sessions
 * (the project's RemoteClient and ObjectStreamer, in this process) against
 * the same server. Nothing here is timed: each test waits for events
 * (bytes counted by the proxy, a process's exit) and checks outcomes.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startThrottleProxy } from '../bench/lib/throttle-proxy.js';
import { RemoteClient, eachLimited } from '../src/delivery/remote/client.js';
import { pullPackage } from '../src/delivery/remote/pull.js';
import { ObjectStreamer } from '../src/delivery/remote/stream.js';
import { chunkVerifier, nodeDecoders, nodeHasher, parseLayerIndex } from '../src/package/node.js';
import { FsObjectStore, verifySha256 } from '../src/store/fs/index.js';
import { MemoryObjectStore } from '../src/store/memory.js';
import { tempDir, wasm } from './helpers.js';
import { api, clientHome, sqliteTree, startServe, type ServerProcess } from './server-helpers.js';

const ADMIN = 'admin-token-for-tests-0123456789';
const APP = 'robust@1.0.0';

/** A deterministic byte source (xorshift32), so the data is the same on every run and incompressible. */
function noise(seed: number, n: number): Buffer {
  const out = Buffer.alloc(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = s & 0xff;
  }
  return out;
}

// share/data.sql: 6,000 rows with 100 random bytes each (~1.3 MB of SQL, ~20 chunks), read on demand.
const ROWS = 6000;
const dataSql = (() => {
  const lines = ['create table t(k integer, v blob);', 'begin;'];
  const bytes = noise(7, ROWS * 100);
  for (let i = 0; i < ROWS; i++)
    lines.push(`insert into t values (${i}, x'${bytes.subarray(i * 100, i * 100 + 100).toString('hex')}');`);
  lines.push('commit;', '');
  return lines.join('\n');
})();
const QUERY = '.read /share/data.sql\nselect count(*), sum(k), sum(length(v)) from t;\n';
const ANSWER = `${ROWS}|${(ROWS * (ROWS - 1)) / 2}|${ROWS * 100}`;

const t = tempDir('capsule-robust-');
const dataDir = join(t.path, 'data');
let server: ServerProcess;
let port = 0;
let bobToken = '';

before(async () => {
  server = await startServe(dataDir, ['--allow-unsigned'], { CAPSULE_ADMIN_TOKEN: ADMIN });
  port = Number(new URL(server.url).port);
  const admin = clientHome(join(t.path, 'admin'), ADMIN);
  const add = async (name: string, role: string) => {
    const r = await admin.run([
      'admin',
      'user',
      'add',
      name,
      '--role',
      role,
      '--server',
      server.url,
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { token: string }).token;
  };
  const pub = clientHome(join(t.path, 'pub'), await add('pub', 'publisher'));
  bobToken = await add('bob', 'user');

  const tree = sqliteTree(join(t.path, 'tree'));
  mkdirSync(join(tree, 'share'));
  writeFileSync(join(tree, 'share/data.sql'), dataSql);
  // A small app for the many-clients test: a tiny entry and 6 files of 40 KiB.
  const tiny = join(t.path, 'tiny');
  mkdirSync(join(tiny, 'bin'), { recursive: true });
  mkdirSync(join(tiny, 'share'));
  copyFileSync(wasm('cat'), join(tiny, 'bin/cat.wasm'));
  for (let i = 0; i < 6; i++) writeFileSync(join(tiny, `share/f${i}`), noise(100 + i, 40 * 1024));
  for (const [dir, name, entry] of [
    [tree, 'robust', '/bin/sqlite3.wasm'],
    [tiny, 'tiny', '/bin/cat.wasm'],
  ] as const) {
    const packed = await pub.run(['pack', dir, '--name', name, '--version', '1.0.0', '--entry', entry]);
    assert.equal(packed.code, 0, packed.stderr);
    const pushed = await pub.run(['push', `${name}@1.0.0`, '--server', server.url]);
    assert.equal(pushed.code, 0, pushed.stderr);
    const granted = await admin.run(['admin', 'grant', name, '--user', 'bob', '--server', server.url]);
    assert.equal(granted.code, 0, granted.stderr);
  }
});

after(async () => {
  await server.stop();
  t.cleanup();
});

/** The stored bytes of a chunk of share/data.sql, straight from the server. */
async function dataChunk(i: number): Promise<{ digest: string; bytes: Uint8Array }> {
  const m = await api(server.url, 'GET', `/packages/robust/1.0.0/manifest`, ADMIN);
  const layer = (m.json.layers as { digest: string }[])[0]!.digest;
  const index = await api(server.url, 'GET', `/objects/${layer}`, ADMIN);
  const entry = (index.json.entries as { path: string; chunks: { digest: string }[] }[]).find(
    (e) => e.path === 'share/data.sql',
  )!;
  assert.ok(entry.chunks.length > i + 1, `share/data.sql has ${entry.chunks.length} chunks`);
  const digest = entry.chunks[i]!.digest;
  const r = await api(server.url, 'GET', `/objects/${digest}`, ADMIN);
  assert.equal(r.status, 200);
  return { digest, bytes: r.bytes };
}

const streamedRun = (home: ReturnType<typeof clientHome>, base: string) =>
  home.run(['run', '--allow-unsigned', `${base}/${APP}`, '--', ':memory:'], { input: QUERY });

test('connections cut in mid-stream: the client retries and the streamed app completes', async () => {
  const proxy = await startThrottleProxy({ target: { host: '127.0.0.1', port }, bandwidthBps: 0, rttMs: 4 });
  try {
    // Cut the connection carrying the 150,000th byte from now, four times in a row (~1 MB in all).
    proxy.cutAfter(150_000, 4);
    const r = await streamedRun(clientHome(join(t.path, 'cut'), bobToken), proxy.url);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), ANSWER);
    assert.doesNotMatch(r.stderr, /refused chunk|cannot fetch/);
    assert.equal(proxy.stats().cut, 4, 'every cut fell inside the stream');

    // Every connection reset for a while in the middle: the same.
    const home = clientHome(join(t.path, 'blackout'), bobToken);
    const run = streamedRun(home, proxy.url);
    const before = proxy.stats().down;
    assert.ok(await reached(() => proxy.stats().down > before + 300_000, run), 'the run is still streaming');
    proxy.blackout(1500);
    const b = await run;
    assert.equal(b.code, 0, b.stderr);
    assert.equal(b.stdout.trim(), ANSWER);
    assert.ok(proxy.stats().refused > 0, 'the client tried during the blackout');
  } finally {
    await proxy.close();
  }
});

test('a chunk corrupted in flight is refused, fetched again, and never reaches the guest', async () => {
  const proxy = await startThrottleProxy({ target: { host: '127.0.0.1', port }, bandwidthBps: 0, rttMs: 2 });
  try {
    for (const [i, how] of [
      [1, 'streamed'],
      [2, 'pull'],
    ] as const) {
      const chunk = await dataChunk(i);
      const mid = chunk.bytes.length >> 1;
      proxy.corruptOnce(chunk.bytes.subarray(mid, mid + 32));
      const home = clientHome(join(t.path, `corrupt-${how}`), bobToken);
      const r =
        how === 'streamed'
          ? await streamedRun(home, proxy.url)
          : await home.run(['pull', '--allow-unsigned', `${proxy.url}/${APP}`]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(proxy.stats().corrupted, i, `${how}: the proxy flipped a byte of the chunk`);
      assert.doesNotMatch(r.stderr, /refused chunk|cannot fetch/);
      if (how === 'streamed') assert.equal(r.stdout.trim(), ANSWER);
      // What was kept is the server's copy, byte for byte.
      const local = new FsObjectStore(join(home.env.CAPSULE_HOME!, 'store'));
      assert.deepEqual(
        Buffer.from(local.read(chunk.digest, chunkVerifier(nodeDecoders, nodeHasher))),
        Buffer.from(chunk.bytes),
      );
    }
  } finally {
    await proxy.close();
  }
});

test('the server killed and restarted during a streamed run: the client resumes and the app completes', async () => {
  // 20 Mbit/s and 20 ms RTT, so the stream lasts long enough to be cut in the middle.
  const proxy = await startThrottleProxy({ target: { host: '127.0.0.1', port }, bandwidthBps: 20e6 });
  try {
    const run = streamedRun(clientHome(join(t.path, 'restart'), bobToken), proxy.url);
    assert.ok(await reached(() => proxy.stats().down > 400_000, run), 'the run is still streaming');
    server.child.kill('SIGKILL');
    await new Promise((r) => server.child.once('exit', r));
    const atKill = proxy.stats();
    server = await startServe(dataDir, ['--port', String(port), '--allow-unsigned']);
    const r = await run;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), ANSWER);
    assert.doesNotMatch(r.stderr, /refused chunk|cannot fetch/);
    const end = proxy.stats();
    assert.ok(end.down > atKill.down, 'chunks came from the restarted server');
    assert.ok(end.connections > atKill.connections);
  } finally {
    await proxy.close();
  }
});

test('200 concurrent streaming sessions all get every object, verified, with no error', async () => {
  const SESSIONS = 200;
  let failures = 0;
  const errors: string[] = [];
  /** A client that counts every failed request, retried or not. */
  class CountingClient extends RemoteClient {
    override async bytes(path: string) {
      try {
        return await super.bytes(path);
      } catch (e) {
        failures++;
        errors.push((e as Error).message);
        throw e;
      }
    }
  }
  const verifyChunk = chunkVerifier(nodeDecoders, nodeHasher);
  const session = async (): Promise<number> => {
    const client = new CountingClient(server.url, bobToken);
    // Each session's own store, in memory: the disk's fsyncs would only serialize this one process.
    const store = new MemoryObjectStore({ verify: verifySha256 });
    // As `capsule run URL` does: metadata first, then chunks on demand, a few at a time.
    const { manifest } = await pullPackage(client, store, 'tiny', '1.0.0', undefined, true);
    const chunks: string[] = [];
    for (const layer of manifest.layers)
      for (const e of parseLayerIndex(store.read(layer.digest, verifySha256)).entries)
        for (const c of e.chunks ?? []) chunks.push(c.digest);
    const streamer = new ObjectStreamer(client, store);
    streamer.prefetch(chunks.slice(0, 3));
    await eachLimited(chunks, 4, (d) => streamer.fetch(d));
    streamer.stop();
    for (const d of chunks) store.read(d, verifyChunk);
    store.read(manifest.layers[0]!.digest, verifySha256);
    return chunks.length;
  };
  const results = await Promise.allSettled(Array.from({ length: SESSIONS }, () => session()));
  const rejected = results.filter((r) => r.status === 'rejected');
  assert.equal(rejected.length, 0, String((rejected[0] as PromiseRejectedResult | undefined)?.reason));
  assert.equal(failures, 0, errors.slice(0, 3).join('; '));
  const counts = new Set(results.map((r) => (r as PromiseFulfilledResult<number>).value));
  assert.equal(counts.size, 1);
  assert.ok([...counts][0]! >= 6);
  // The server is still healthy, and logged no failure.
  assert.equal((await api(server.url, 'GET', '/health')).status, 200);
  assert.equal(server.child.exitCode, null);
  assert.doesNotMatch(server.stderr(), /capsule serve:/);
});

/** Polls until `cond` holds (true), or until `running` settles first (false). */
async function reached(cond: () => boolean, running: Promise<unknown>): Promise<boolean> {
  let done = false;
  void running.finally(() => (done = true));
  while (!cond()) {
    if (done) return false;
    await new Promise((r) => setTimeout(r, 5));
  }
  return true;
}

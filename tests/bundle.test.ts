/**
 * `capsule export` / `capsule import` / `capsule verify FILE.capsule`, end to
 * end, as processes with their own CAPSULE_HOME. Packages are packed and
 * signed with the library, so this test does not depend on `capsule pack`.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { splitBundle, joinBundle } from '../src/package/bundle/testing.js';
import { buildManifest, generateKeyPair, packTree, sign, writeManifest } from '../src/package/node.js';
import { SignatureStore } from '../src/delivery/local/trust.js';
import { FsObjectStore, FsRefStore } from '../src/store/fs/index.js';
import { capsuleHome } from '../src/store/home.js';
import { capsule, tempDir, type RunResult } from './helpers.js';

const tmp = tempDir('capsule-bundle-cli-');
after(() => tmp.cleanup());

const homeA = join(tmp.path, 'home-a');
const homeB = join(tmp.path, 'home-b');
const key = generateKeyPair();

function run(home: string, args: string[]): Promise<RunResult> {
  return capsule(args, { env: { ...process.env, CAPSULE_HOME: home } });
}

before(async () => {
  const store = join(homeA, 'store');
  const objects = new FsObjectStore(store);
  const refs = new FsRefStore(store);
  const tree = (name: string, files: Record<string, string>) => {
    const dir = join(tmp.path, name);
    for (const [p, c] of Object.entries(files)) {
      mkdirSync(join(dir, p, '..'), { recursive: true });
      writeFileSync(join(dir, p), c);
    }
    return dir;
  };
  const base = (
    await packTree(tree('base', { 'lib/base.txt': 'base\n'.repeat(5000) }), objects, { workers: 0 })
  ).layer;
  const baseDigest = writeManifest(
    objects,
    buildManifest({ name: 'base', version: '1.0.0', entry: '/lib/base.txt', layers: [base] }),
  );
  refs.setRef('base', '1.0.0', baseDigest);
  for (const version of ['1.0.0', '1.2.0']) {
    const layer = (
      await packTree(tree(`app-${version}`, { 'bin/app.wasm': `app ${version}\n`.repeat(9000) }), objects, {
        workers: 0,
      })
    ).layer;
    const digest = writeManifest(
      objects,
      buildManifest({
        name: 'app',
        version,
        entry: '/bin/app.wasm',
        layers: [layer],
        dependencies: [{ name: 'base', range: '^1.0.0', digest: baseDigest, version: '1.0.0' }],
      }),
    );
    refs.setRef('app', version, digest);
  }
  const signed = (await packTree(tree('signed', { 'bin/s.wasm': 'signed\n' }), objects, { workers: 0 }))
    .layer;
  const signedDigest = writeManifest(
    objects,
    buildManifest({ name: 'signed', version: '0.1.0', entry: '/bin/s.wasm', layers: [signed] }),
  );
  refs.setRef('signed', '0.1.0', signedDigest);
  new SignatureStore(capsuleHome({ CAPSULE_HOME: homeA })).add(
    signedDigest,
    sign(signedDigest, key.privatePem),
  );
});

test('export the highest version with its dependencies, import it elsewhere, verify it', async () => {
  const file = join(tmp.path, 'app.capsule');
  const out = await run(homeA, ['export', 'app', '--with-deps', '-o', file]);
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stdout, /exported app@1\.2\.0 with base@1\.0\.0 to /);
  assert.equal(out.stderr, '', 'no progress bar when stderr is not a terminal');

  const verify = await run(homeA, ['verify', file]);
  assert.equal(verify.code, 0, verify.stderr);
  assert.match(verify.stdout, /^ok: app@1\.2\.0, base@1\.0\.0/m);

  const refused = await run(homeB, ['import', file]);
  assert.equal(refused.code, 125);
  assert.match(refused.stderr, /not signed by a key you trust/);
  assert.deepEqual(new FsRefStore(join(homeB, 'store')).listRefs(), []);

  const imported = await run(homeB, ['import', '--allow-unsigned', file]);
  assert.equal(imported.code, 0, imported.stderr);
  assert.match(imported.stdout, /imported app@1\.2\.0 sha256:/);
  assert.match(imported.stdout, /imported base@1\.0\.0 sha256:/);
  const refs = new FsRefStore(join(homeB, 'store')).listRefs().map((r) => `${r.name}@${r.version}`);
  assert.deepEqual(refs, ['app@1.2.0', 'base@1.0.0']);
});

test('export of an exact version; without --with-deps it says what the bundle lacks', async () => {
  const file = join(tmp.path, 'app-1.0.0.capsule');
  const out = await run(homeA, ['export', 'app@1.0.0', '-o', file]);
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stdout, /exported app@1\.0\.0 to/);
  assert.match(out.stderr, /depends on base@1\.0\.0/);
});

test('exit codes: unknown package 127, missing file 127, bad arguments 125, tampered bundle 125', async () => {
  const unknown = await run(homeA, ['export', 'nope', '-o', join(tmp.path, 'x.capsule')]);
  assert.equal(unknown.code, 127, unknown.stderr);
  assert.match(unknown.stderr, /no package nope/);

  const noOutput = await run(homeA, ['export', 'app']);
  assert.equal(noOutput.code, 125);
  assert.match(noOutput.stderr, /missing -o/);

  const missing = await run(homeB, ['import', join(tmp.path, 'missing.capsule')]);
  assert.equal(missing.code, 127, missing.stderr);

  const file = join(tmp.path, 'tampered.capsule');
  assert.equal((await run(homeA, ['export', 'base', '-o', file])).code, 0);
  const bytes = readFileSync(file);
  bytes[100]! ^= 0xff; // inside the object area
  writeFileSync(file, bytes);
  const verify = await run(homeA, ['verify', file]);
  assert.equal(verify.code, 125);
  assert.match(verify.stdout, /^corrupt sha256:[0-9a-f]{64}$/m);
  const homeC = join(tmp.path, 'home-c');
  const imported = await run(homeC, ['import', '--allow-unsigned', file]);
  assert.equal(imported.code, 125);
  assert.match(imported.stderr, /corrupt/);
  assert.deepEqual(new FsRefStore(join(homeC, 'store')).listRefs(), []);

  writeFileSync(file, bytes.subarray(0, bytes.length - 30));
  const truncated = await run(homeC, ['import', '--allow-unsigned', file]);
  assert.equal(truncated.code, 125);
  assert.match(truncated.stderr, /truncated/);
});

test('a signed package imports without --allow-unsigned where its key is trusted; a forged signature never', async () => {
  const file = join(tmp.path, 'signed.capsule');
  assert.equal((await run(homeA, ['export', 'signed', '-o', file])).code, 0);
  const homeD = join(tmp.path, 'home-d');
  const pub = join(tmp.path, 'signer.pub');
  writeFileSync(pub, key.publicPem);
  assert.equal((await run(homeD, ['trust', 'add', pub])).code, 0);
  const imported = await run(homeD, ['import', file]);
  assert.equal(imported.code, 0, imported.stderr);
  // Exported again from the importing store: the signature came along, the bytes are the same.
  const again = join(tmp.path, 'signed-again.capsule');
  assert.equal((await run(homeD, ['export', 'signed', '-o', again])).code, 0);
  assert.deepEqual(readFileSync(again), readFileSync(file));

  // Another valid-looking signature under the trusted key id, with the index checksum redone.
  const parts = splitBundle(new Uint8Array(readFileSync(file)));
  const other = sign(`sha256:${'0'.repeat(64)}`, key.privatePem);
  parts.index.packages[0]!.signatures = [other];
  const forged = join(tmp.path, 'forged.capsule');
  writeFileSync(forged, joinBundle(parts));
  const homeE = join(tmp.path, 'home-e');
  assert.equal((await run(homeE, ['trust', 'add', pub])).code, 0);
  for (const args of [
    ['import', forged],
    ['import', '--allow-unsigned', forged],
  ]) {
    const refused = await run(homeE, args);
    assert.equal(refused.code, 125);
    assert.match(refused.stderr, /does not verify/);
  }
  assert.deepEqual(new FsRefStore(join(homeE, 'store')).listRefs(), []);
});

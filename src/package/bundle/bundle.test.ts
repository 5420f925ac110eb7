import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FsObjectStore, FsRefStore } from '../../store/fs/index.js';
import { StoreError } from '../../store/types.js';
import { readChunk } from '../chunk-io.js';
import { nodeDecoders } from '../codec-node.js';
import { PackageError } from '../errors.js';
import { nodeHasher } from '../hash-node.js';
import { readManifest } from '../objects.js';
import { generateKeyPair, sign, verifySignature } from '../sign.js';
import { packageObjects } from './closure.js';
import { HEADER_SIZE } from './format.js';
import { importBundle } from './import.js';
import { openBundle } from './reader.js';
import { damageObject } from '../../store/fs/testing.js';
import { makeFixture, splitBundle, tempDir, type Fixture } from './testing.js';
import { verifyBundle } from './verify.js';
import { writeBundle } from './writer.js';

let fx: Fixture;
before(async () => {
  fx = await makeFixture();
});
after(() => rmSync(fx.dir, { recursive: true, force: true }));

function freshStore(): { objects: FsObjectStore; refs: FsRefStore; root: string } {
  const root = join(tempDir(), 'store');
  return { objects: new FsObjectStore(root), refs: new FsRefStore(root), root };
}

function closureOf(roots: string[], withDependencies: boolean): string[] {
  const walk = packageObjects(fx.objects, roots, { withDependencies, hasher: nodeHasher });
  return [...walk.meta, ...walk.chunks].sort();
}

test('a bundle holds the package as stored, and every object reads back verified', async () => {
  const file = join(fx.dir, 'app.capsule');
  const progress: number[] = [];
  const result = await writeBundle(file, fx.objects, [fx.app], { onProgress: (done) => progress.push(done) });
  assert.equal(result.size, readFileSync(file).length);
  assert.deepEqual(
    result.packages.map((p) => [p.name, p.version, p.root]),
    [['app', '2.0.0', true]],
  );
  assert.ok(progress.length > 0 && progress.every((n, i) => i === 0 || n >= progress[i - 1]!));

  const bundle = openBundle(file);
  try {
    const want = closureOf([fx.app], false);
    assert.deepEqual([...bundle.store.list()], want, 'objects sorted by digest, nothing else');
    assert.ok(!bundle.store.has(fx.base), 'the dependency stays out without withDependencies');
    for (const d of want) {
      const stored = fx.objects.read(d, () => true);
      assert.deepEqual(
        bundle.store.read(d, () => true),
        new Uint8Array(stored),
        d,
      );
      assert.equal(bundle.store.size(d), stored.length);
    }
    // Reads go through the kind's verifier: chunks decode, metadata parses.
    assert.equal(readManifest(bundle.store, fx.app).name, 'app');
    const manifest = readManifest(bundle.store, fx.app);
    assert.ok(manifest.profile !== null && bundle.store.kindOf(manifest.profile) === 'meta');
    const chunks = want.filter((d) => bundle.store.kindOf(d) === 'chunk');
    assert.ok(chunks.length >= 3);
    for (const c of chunks) readChunk(bundle.store, c, nodeDecoders, nodeHasher);
    assert.throws(
      () => bundle.store.write(fx.app),
      (e: unknown) => e instanceof StoreError && e.code === 'IO',
    );
    assert.throws(
      () => bundle.store.delete(fx.app),
      (e: unknown) => e instanceof StoreError && e.code === 'IO',
    );
  } finally {
    bundle.close();
  }
  assert.throws(() => bundle.store.read(fx.app), /closed/);
});

test('--with-deps brings the dependencies, marked as such', async () => {
  const file = join(fx.dir, 'app-deps.capsule');
  await writeBundle(file, fx.objects, [fx.app], { withDependencies: true });
  const bundle = openBundle(file);
  try {
    assert.deepEqual(
      bundle.packages.map((p) => [p.name, p.root, p.digest]),
      [
        ['app', true, fx.app],
        ['base', false, fx.base],
      ],
    );
    assert.deepEqual(
      bundle.roots.map((p) => p.name),
      ['app'],
    );
    assert.deepEqual([...bundle.store.list()], closureOf([fx.app], true));
  } finally {
    bundle.close();
  }
  const report = verifyBundle(file);
  assert.ok(report.ok, JSON.stringify(report));
  assert.deepEqual(report.external, []);
});

test('the same packages give the same bytes, from any store that holds them', async () => {
  const a = join(fx.dir, 'a.capsule');
  const b = join(fx.dir, 'b.capsule');
  await writeBundle(a, fx.objects, [fx.app], { withDependencies: true });
  const other = await makeFixture();
  try {
    assert.equal(other.app, fx.app, 'packing is deterministic');
    await writeBundle(b, other.objects, [other.app], { withDependencies: true });
  } finally {
    rmSync(other.dir, { recursive: true, force: true });
  }
  assert.deepEqual(readFileSync(a), readFileSync(b));
  // Roots given in another order, or twice, change nothing either.
  await writeBundle(b, fx.objects, [fx.base, fx.app, fx.app], { withDependencies: true });
  const parts = splitBundle(readFileSync(b));
  assert.deepEqual(
    parts.index.packages.map((p) => p.root),
    [true, true],
  );
});

test('import copies every object, verified, then sets the refs; a second import adds nothing', async () => {
  const file = join(fx.dir, 'import.capsule');
  await writeBundle(file, fx.objects, [fx.app], { withDependencies: true });
  const target = freshStore();
  const result = importBundle(file, target.objects, target.refs);
  assert.deepEqual(
    result.packages.map((p) => `${p.name}@${p.version}`),
    ['app@2.0.0', 'base@1.0.0'],
  );
  assert.equal(result.added, result.objects);
  assert.deepEqual(result.missingDependencies, []);
  assert.equal(target.refs.getRef('app', '2.0.0'), fx.app);
  assert.equal(target.refs.getRef('base', '1.0.0'), fx.base);
  for (const d of closureOf([fx.app], true)) assert.ok(target.objects.has(d), d);
  const walk = packageObjects(target.objects, [fx.app], { withDependencies: true, hasher: nodeHasher });
  for (const c of walk.chunks) readChunk(target.objects, c, nodeDecoders, nodeHasher);

  const again = importBundle(file, target.objects, target.refs);
  assert.equal(again.added, 0);
  assert.equal(again.addedBytes, 0);
});

test('import without the dependencies says which ones the store still lacks', async () => {
  const file = join(fx.dir, 'nodeps.capsule');
  await writeBundle(file, fx.objects, [fx.app]);
  assert.deepEqual(verifyBundle(file).external, [fx.base]);
  const target = freshStore();
  const result = importBundle(file, target.objects, target.refs);
  assert.deepEqual(result.missingDependencies, [fx.base]);
  assert.equal(target.refs.getRef('app', '2.0.0'), fx.app);
  // Once the store has it, nothing is missing.
  const withBase = await writeBundleOf(fx.base);
  importBundle(withBase, target.objects, target.refs);
  assert.deepEqual(importBundle(file, target.objects, target.refs).missingDependencies, []);
});

async function writeBundleOf(root: string): Promise<string> {
  const file = join(fx.dir, `${root.slice(7, 15)}.capsule`);
  await writeBundle(file, fx.objects, [root]);
  return file;
}

test('import refuses to move an existing ref, unless told to replace it', async () => {
  const file = await writeBundleOf(fx.base);
  const target = freshStore();
  target.refs.setRef('base', '1.0.0', fx.app);
  assert.throws(
    () => importBundle(file, target.objects, target.refs),
    (e: unknown) => e instanceof PackageError && e.code === 'REF_CONFLICT' && /base@1\.0\.0/.test(e.message),
  );
  assert.equal(target.refs.getRef('base', '1.0.0'), fx.app);
  assert.ok(!target.objects.has(fx.base), 'nothing copied before the refusal');
  importBundle(file, target.objects, target.refs, { replace: true });
  assert.equal(target.refs.getRef('base', '1.0.0'), fx.base);
});

test('signatures travel with their package', async () => {
  const key = generateKeyPair();
  const file = join(fx.dir, 'signed.capsule');
  const sig = sign(fx.app, key.privatePem);
  await writeBundle(file, fx.objects, [fx.app], {
    withDependencies: true,
    signatures: (d) => (d === fx.app ? [sig] : []),
  });
  const bundle = openBundle(file);
  try {
    const app = bundle.packages.find((p) => p.name === 'app')!;
    assert.deepEqual(app.signatures, [sig]);
    assert.ok(verifySignature(app.digest, app.signatures[0]!, key.publicPem));
    assert.deepEqual(bundle.packages.find((p) => p.name === 'base')!.signatures, []);
  } finally {
    bundle.close();
  }
});

test('a failed export leaves no bundle and no staged file behind, and keeps the old bundle', async () => {
  const dir = tempDir();
  const file = join(dir, 'out.capsule');
  writeFileSync(file, 'previous');
  const broken = await makeFixture(true);
  try {
    const chunk = packageObjects(broken.objects, [broken.app], {
      withDependencies: false,
      hasher: nodeHasher,
    }).chunks[0]!;
    broken.objects.delete(chunk);
    await assert.rejects(
      writeBundle(file, broken.objects, [broken.app]),
      (e: unknown) => e instanceof StoreError && e.code === 'NOT_FOUND' && e.digest === chunk,
    );
    await assert.rejects(writeBundle(file, broken.objects, []), PackageError);
    assert.equal(readFileSync(file, 'utf8'), 'previous');
    assert.deepEqual(readdirSync(dir), ['out.capsule']);
  } finally {
    rmSync(broken.dir, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }
});

test('export refuses a corrupt object in the store rather than copy it', async () => {
  const broken = await makeFixture(true);
  const file = join(broken.dir, 'x.capsule');
  try {
    const walk = packageObjects(broken.objects, [broken.base], {
      withDependencies: false,
      hasher: nodeHasher,
    });
    const chunk = walk.chunks[0]!;
    damageObject(broken.objects, chunk, broken.objects.size(chunk)! - 1);
    await assert.rejects(
      writeBundle(file, broken.objects, [broken.base]),
      (e: unknown) => e instanceof StoreError && e.code === 'CORRUPT' && e.digest === chunk,
    );
    assert.ok(!existsSync(file));
  } finally {
    rmSync(broken.dir, { recursive: true, force: true });
  }
});

test('the object area starts right after the header', async () => {
  const file = await writeBundleOf(fx.base);
  const parts = splitBundle(readFileSync(file));
  assert.equal(parts.index.objects[0]!.offset, HEADER_SIZE);
});

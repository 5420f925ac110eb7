import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FsObjectStore, FsRefStore } from '../../store/fs/index.js';
import { StoreError } from '../../store/types.js';
import { PackageError, type PackageErrorCode } from '../errors.js';
import { FOOTER_SIZE, HEADER_SIZE, type BundleIndex } from './format.js';
import { importBundle } from './import.js';
import { openBundle } from './reader.js';
import { joinBundle, makeFixture, splitBundle, type Fixture } from './testing.js';
import { verifyBundle } from './verify.js';
import { writeBundle } from './writer.js';

let fx: Fixture;
let good: Uint8Array;
let n = 0;

before(async () => {
  fx = await makeFixture(true);
  const file = join(fx.dir, 'good.capsule');
  await writeBundle(file, fx.objects, [fx.app], { withDependencies: true });
  good = new Uint8Array(readFileSync(file));
});
after(() => rmSync(fx.dir, { recursive: true, force: true }));

function save(bytes: Uint8Array): string {
  const file = join(fx.dir, `hostile-${n++}.capsule`);
  writeFileSync(file, bytes);
  return file;
}

function target(): { objects: FsObjectStore; refs: FsRefStore } {
  const root = join(fx.dir, `target-${n++}`);
  return { objects: new FsObjectStore(root), refs: new FsRefStore(root) };
}

const isPackageError = (code: PackageErrorCode, message?: RegExp) => (e: unknown) =>
  e instanceof PackageError && e.code === code && (message === undefined || message.test(e.message));

function withIndex(change: (index: BundleIndex) => void): string {
  const parts = splitBundle(good);
  change(parts.index);
  return save(joinBundle(parts));
}

function flip(bytes: Uint8Array, at: number, mask = 0x01): Uint8Array {
  const out = bytes.slice();
  out[at]! ^= mask;
  return out;
}

const chunkOf = (index: BundleIndex) => index.objects.find((o) => o.kind === 'chunk')!;

test('not a bundle: empty, short, wrong magic, a directory, a missing file', () => {
  for (const bytes of [new Uint8Array(0), good.slice(0, 10), flip(good, 0), flip(good, 7)])
    assert.throws(() => openBundle(save(bytes)), isPackageError('NOT_A_BUNDLE'));
  const dir = join(fx.dir, 'a-dir.capsule');
  mkdirSync(dir);
  assert.throws(() => openBundle(dir), isPackageError('NOT_A_BUNDLE'));
  assert.throws(
    () => openBundle(join(fx.dir, 'nope.capsule')),
    (e: unknown) => e instanceof StoreError && e.code === 'NOT_FOUND',
  );
});

test('another format version or unknown flags: unsupported, not misread', () => {
  assert.throws(
    () => openBundle(save(flip(good, 8, 0x03))),
    isPackageError('UNSUPPORTED_BUNDLE', /version 2/),
  );
  assert.throws(() => openBundle(save(flip(good, 12))), isPackageError('UNSUPPORTED_BUNDLE', /flags/));
});

test('a truncated bundle is refused at every length', () => {
  for (let len = 0; len < good.length; len++) {
    const file = save(good.subarray(0, len));
    assert.throws(
      () => openBundle(file),
      (e: unknown) =>
        e instanceof PackageError &&
        (len < HEADER_SIZE ? e.code === 'NOT_A_BUNDLE' : e.code === 'CORRUPT_BUNDLE'),
      `length ${len}`,
    );
    rmSync(file);
  }
});

test('a flipped bit anywhere is caught: at open, or by verify naming the object', () => {
  const parts = splitBundle(good);
  for (let at = 0; at < good.length; at++) {
    const file = save(flip(good, at, 1 << (at % 8)));
    let report;
    try {
      report = verifyBundle(file);
    } catch (e) {
      assert.ok(e instanceof PackageError, `byte ${at}: ${(e as Error).stack}`);
      rmSync(file);
      continue;
    }
    assert.ok(!report.ok, `byte ${at}: a flip went unnoticed`);
    const o = parts.index.objects.find((x) => x.offset <= at && at < x.offset + x.length);
    assert.ok(o, `byte ${at} is outside the object area, yet open accepted it`);
    assert.deepEqual(report.corrupt, [o.digest], `byte ${at}`);
    rmSync(file);
  }
});

test('a flipped byte in a chunk: verify names it, reading it fails, import refuses and sets no ref', () => {
  const chunk = chunkOf(splitBundle(good).index);
  const file = save(flip(good, chunk.offset + chunk.length - 1, 0x80));
  const report = verifyBundle(file);
  assert.equal(report.ok, false);
  assert.deepEqual(report.corrupt, [chunk.digest]);
  assert.equal(report.objects, splitBundle(good).index.objects.length);

  const bundle = openBundle(file);
  try {
    assert.throws(
      () => bundle.store.read(chunk.digest),
      (e: unknown) => e instanceof StoreError && e.code === 'CORRUPT' && e.digest === chunk.digest,
    );
    bundle.store.read(fx.app); // the rest reads fine
  } finally {
    bundle.close();
  }

  const t = target();
  assert.throws(
    () => importBundle(file, t.objects, t.refs),
    (e: unknown) => e instanceof StoreError && e.code === 'CORRUPT' && e.digest === chunk.digest,
  );
  assert.equal(t.refs.getRef('app', '2.0.0'), null);
  assert.equal(t.refs.getRef('base', '1.0.0'), null);
  assert.ok(!t.objects.has(chunk.digest));
});

test('a flipped byte in the index fails its checksum', () => {
  const indexAt = good.length - FOOTER_SIZE - 10;
  assert.throws(() => openBundle(save(flip(good, indexAt))), isPackageError('CORRUPT_BUNDLE', /checksum/));
  // ...and so does a flipped byte of the checksum itself.
  assert.throws(
    () => openBundle(save(flip(good, good.length - 20))),
    isPackageError('CORRUPT_BUNDLE', /checksum/),
  );
});

test('a footer that claims a huge index is refused before anything is allocated', () => {
  const view = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const huge = good.slice();
  view(huge).setBigUint64(huge.length - 48, 1n << 40n, true);
  assert.throws(() => openBundle(save(huge)), isPackageError('CORRUPT_BUNDLE', /over the .* limit/));
  const wild = good.slice();
  view(wild).setBigUint64(wild.length - 56, 0xffff_ffff_ffff_ffffn, true);
  assert.throws(() => openBundle(save(wild)), isPackageError('CORRUPT_BUNDLE', /footer puts the index/));
});

test('index layout: overlaps, gaps, duplicates, disorder and objects past the area are refused', () => {
  const cases: [string, (index: BundleIndex) => void, RegExp][] = [
    ['overlap', (i) => (i.objects[1]!.offset -= 1), /overlaps/],
    ['gap', (i) => (i.objects[1]!.offset += 1), /gap/],
    ['twice', (i) => (i.objects[1]!.digest = i.objects[0]!.digest), /twice/],
    [
      'order',
      (i) => ([i.objects[0]!.digest, i.objects[1]!.digest] = [i.objects[1]!.digest, i.objects[0]!.digest]),
      /out of digest order/,
    ],
    ['length 0', (i) => (i.objects[0]!.length = 0), /length 0/],
    [
      'chunk past the area',
      (i) => {
        const last = i.objects[i.objects.length - 1]!;
        i.objects.push({
          digest: `sha256:${'f'.repeat(64)}`,
          kind: 'chunk',
          offset: last.offset + last.length,
          length: 100,
        });
      },
      /runs past the object area/,
    ],
    ['short of the area', (i) => i.objects.pop(), /the objects end at/],
    [
      'package not an object',
      (i) => (i.packages[0]!.digest = `sha256:${'0'.repeat(64)}`),
      /not a metadata object/,
    ],
    ['package listed twice', (i) => i.packages.push({ ...i.packages[1]! }), /out of order or listed twice/],
    ['no packages', (i) => (i.packages = []), /at least one package/],
    ['unknown field', (i) => Object.assign(i, { extra: 1 }), /unknown field "extra"/],
    ['bad kind', (i) => Object.assign(i.objects[0]!, { kind: 'blob' }), /kind/],
  ];
  for (const [name, change, message] of cases)
    assert.throws(() => openBundle(withIndex(change)), isPackageError('CORRUPT_BUNDLE', message), name);
});

test('an index that is valid JSON but not canonical is refused', () => {
  const parts = splitBundle(good);
  const loose = new TextEncoder().encode(JSON.stringify(parts.index, null, 1));
  assert.throws(
    () => openBundle(save(joinBundle(parts, loose))),
    isPackageError('CORRUPT_BUNDLE', /canonical/),
  );
});

test('a chunk the layers need but the bundle lacks: verify names it, import refuses', () => {
  const parts = splitBundle(good);
  const chunk = chunkOf(parts.index);
  // Take the chunk's bytes out of the area and its entry out of the index; shift what follows.
  const area = new Uint8Array(parts.area.length - chunk.length);
  area.set(parts.area.subarray(0, chunk.offset - HEADER_SIZE), 0);
  area.set(parts.area.subarray(chunk.offset + chunk.length - HEADER_SIZE), chunk.offset - HEADER_SIZE);
  parts.area = area;
  parts.index.objects = parts.index.objects
    .filter((o) => o !== chunk)
    .map((o) => (o.offset > chunk.offset ? { ...o, offset: o.offset - chunk.length } : o));
  const file = save(joinBundle(parts));

  const report = verifyBundle(file);
  assert.deepEqual(report.missing, [chunk.digest]);
  assert.deepEqual(report.corrupt, []);
  assert.equal(report.ok, false);
  const t = target();
  assert.throws(() => importBundle(file, t.objects, t.refs), isPackageError('INCOMPLETE_BUNDLE'));
  assert.equal(t.refs.getRef('app', '2.0.0'), null);
});

test('an index that lies about kinds or names cannot pass anything off', () => {
  const chunk = chunkOf(splitBundle(good).index);
  const lying = withIndex((i) => (i.objects.find((o) => o.digest === chunk.digest)!.kind = 'meta'));
  assert.ok(verifyBundle(lying).corrupt.includes(chunk.digest));

  // base's manifest listed as app@2.0.0 (order kept): import must not point app@2.0.0 at it.
  const renamed = withIndex((i) => {
    i.packages = [{ ...i.packages[1]!, name: 'app', version: '2.0.0' }];
    i.packages[0]!.root = true;
  });
  const report = verifyBundle(renamed);
  assert.equal(report.ok, false);
  assert.match(report.problems.join('\n'), /calls it app@2\.0\.0, but its manifest is base@1\.0\.0/);
  const t = target();
  assert.throws(() => importBundle(renamed, t.objects, t.refs), isPackageError('CORRUPT_BUNDLE'));
  assert.equal(t.refs.getRef('app', '2.0.0'), null);
});

test('objects no package reaches are not imported', () => {
  const parts = splitBundle(good);
  const extra = new TextEncoder().encode('{}');
  const digest = 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a'; // of "{}"
  const at = parts.index.objects.findIndex((o) => o.digest > digest);
  const offset = at < 0 ? HEADER_SIZE + parts.area.length : parts.index.objects[at]!.offset;
  const area = new Uint8Array(parts.area.length + extra.length);
  area.set(parts.area.subarray(0, offset - HEADER_SIZE), 0);
  area.set(extra, offset - HEADER_SIZE);
  area.set(parts.area.subarray(offset - HEADER_SIZE), offset - HEADER_SIZE + extra.length);
  parts.area = area;
  parts.index.objects = parts.index.objects.map((o) =>
    o.offset >= offset ? { ...o, offset: o.offset + extra.length } : o,
  );
  parts.index.objects.splice(at < 0 ? parts.index.objects.length : at, 0, {
    digest,
    kind: 'meta',
    offset,
    length: extra.length,
  });
  const file = save(joinBundle(parts));
  assert.ok(verifyBundle(file).ok);
  const t = target();
  importBundle(file, t.objects, t.refs);
  assert.ok(!t.objects.has(digest));
  assert.ok(t.objects.has(fx.app));
});

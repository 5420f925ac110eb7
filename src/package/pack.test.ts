import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
  chmodSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsObjectStore } from '../store/fs/object-store.js';
import { StoreError } from '../store/types.js';
import { readChunk } from './chunk-io.js';
import { nodeDecoders } from './codec-node.js';
import { PackageError } from './errors.js';
import { nodeHasher } from './hash-node.js';
import { LayerReader } from './layer-reader.js';
import { buildManifest, readLayerIndex, readManifest } from './objects.js';
import { packTree, writeManifest } from './pack.js';
import { MemoryObjectStore, randomBytes } from './testing.js';
import { ChunkEncoding } from './types.js';

type Tree = [path: string, content: string | Uint8Array | { link: string } | null][];

const big = randomBytes(300_000, 'big');
const text = new TextEncoder().encode('hello capsule\n'.repeat(20_000));
const TREE: Tree = [
  ['bin', null],
  ['bin/app.wasm', big],
  ['bin/copy.wasm', big],
  ['etc', null],
  ['etc/app.conf', 'x=1\n'],
  ['etc/empty', ''],
  ['share', null],
  ['share/text.txt', text],
  ['share/é-ünïcode', 'u'],
  ['share/link', { link: '../etc/app.conf' }],
  ['share/abs', { link: '/etc/app.conf' }],
  ['share/climb', { link: '../../../../outside' }],
  ['z', null],
];

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'capsule-pack-'));
}

/** Creates the tree in the order given, with mtimes from `mtime`. */
function make(dir: string, tree: Tree, mtime: (i: number) => number): void {
  tree.forEach(([path, content], i) => {
    const p = join(dir, path);
    if (content === null) mkdirSync(p, { recursive: true });
    else if (typeof content === 'object' && 'link' in content) symlinkSync(content.link, p);
    else writeFileSync(p, content);
    if (!(typeof content === 'object' && content !== null && 'link' in content))
      utimesSync(p, mtime(i), mtime(i));
  });
}

async function pack(dir: string, store = new MemoryObjectStore(nodeHasher), workers = 0) {
  const result = await packTree(dir, store, { workers });
  const manifest = buildManifest({
    name: 'demo',
    version: '1.0.0',
    entry: '/bin/app.wasm',
    layers: [result.layer],
  });
  return { ...result, store, digest: writeManifest(store, manifest) };
}

test('the same tree gives the same manifest digest whatever the order, mtimes or worker count', async () => {
  const a = tmp();
  const b = tmp();
  try {
    make(a, TREE, (i) => 1_000_000 + i);
    // Reverse creation order (parents first still), other mtimes.
    const dirs = TREE.filter(([, c]) => c === null);
    const rest = TREE.filter(([, c]) => c !== null).reverse();
    make(b, [...dirs.reverse(), ...rest], (i) => 2_000_000_000 - i * 1000);
    const pa = await pack(a);
    const pb = await pack(b, undefined, 2);
    assert.equal(pa.digest, pb.digest);
    assert.equal(pa.layer.digest, pb.layer.digest);
    assert.equal(pa.stats.files, 6);
    assert.equal(pa.layer.entries, TREE.length);
    const index = readLayerIndex(pa.store, pa.layer.digest);
    assert.deepEqual(
      index.entries.map((e) => e.path),
      [
        'bin',
        'bin/app.wasm',
        'bin/copy.wasm',
        'etc',
        'etc/app.conf',
        'etc/empty',
        'share',
        'share/abs',
        'share/climb',
        'share/link',
        'share/text.txt',
        'share/é-ünïcode',
        'z',
      ],
    );
    assert.equal(index.entries.find((e) => e.path === 'share/climb')?.target, '../../../../outside');
    assert.equal(readManifest(pa.store, pa.digest).layers[0]!.digest, pa.layer.digest);
  } finally {
    rmSync(a, { recursive: true });
    rmSync(b, { recursive: true });
  }
});

test('packing into the disk store (through batches) gives the same layer, all chunks present', async () => {
  const dir = tmp();
  const root = tmp();
  try {
    make(dir, TREE, () => 0);
    const inMemory = await packTree(dir, new MemoryObjectStore(nodeHasher), { workers: 0 });
    const disk = new FsObjectStore(root);
    const onDisk = await packTree(dir, disk, { workers: 2 });
    assert.equal(onDisk.layer.digest, inMemory.layer.digest);
    assert.deepEqual(onDisk.stats, inMemory.stats);
    for (const e of readLayerIndex(disk, onDisk.layer.digest).entries)
      for (const c of e.chunks ?? []) assert.ok(disk.has(c.digest), `${e.path}: ${c.digest}`);
    assert.deepEqual(readdirSync(join(root, 'tmp')), []);
  } finally {
    rmSync(dir, { recursive: true });
    rmSync(root, { recursive: true });
  }
});

test('modes are kept, duplicate files and repacks are deduplicated', async () => {
  const dir = tmp();
  try {
    make(dir, TREE, () => 0);
    chmodSync(join(dir, 'bin/app.wasm'), 0o710);
    chmodSync(join(dir, 'etc/app.conf'), 0o600);
    chmodSync(join(dir, 'etc'), 0o700);
    const first = await pack(dir);
    const index = readLayerIndex(first.store, first.layer.digest);
    // Modes are normalized like git's: only "executable or not" survives.
    const mode = (p: string) => index.entries.find((e) => e.path === p)?.mode;
    assert.deepEqual(
      [mode('bin/app.wasm'), mode('etc/app.conf'), mode('etc'), mode('share/link')],
      [0o755, 0o644, 0o755, 0o777],
    );
    // copy.wasm shares every chunk with app.wasm.
    const perFile = (p: string) => index.entries.find((e) => e.path === p)!.chunks!.length;
    assert.equal(first.stats.chunks - first.stats.newChunks, perFile('bin/copy.wasm'));
    assert.equal(first.stats.newBytes, first.stats.bytes - big.length);
    assert.ok(first.stats.storedBytes < first.stats.newBytes);
    const again = await pack(dir, first.store);
    assert.equal(again.stats.newChunks, 0);
    assert.equal(again.digest, first.digest);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('files read back through the store are the files packed; a flipped stored byte is caught', async () => {
  const dir = tmp();
  try {
    make(dir, TREE, () => 0);
    const { store, layer } = await pack(dir);
    const index = readLayerIndex(store, layer.digest);
    const reader = new LayerReader(index, (ref) => readChunk(store, ref, nodeDecoders, nodeHasher));
    assert.deepEqual(reader.read('bin/app.wasm', 0, big.length), big);
    assert.deepEqual(reader.read('share/text.txt', 1000, 200_000), text.subarray(1000, 201_000));
    const file = index.entries.find((e) => e.path === 'share/text.txt')!;
    const ref = file.chunks![0]!;
    assert.equal(store.read(ref.digest, () => true)[0], ChunkEncoding.ZSTD);
    store.tamper(ref.digest, 20);
    assert.throws(
      () => reader.read('share/text.txt', 0, 10),
      (e: unknown) => e instanceof StoreError && e.code === 'CORRUPT',
    );
    // A RAW chunk too.
    const rawRef = index.entries.find((e) => e.path === 'bin/app.wasm')!.chunks![1]!;
    assert.equal(store.read(rawRef.digest, () => true)[0], ChunkEncoding.RAW);
    store.tamper(rawRef.digest, 1000);
    assert.throws(() => readChunk(store, rawRef, nodeDecoders, nodeHasher), StoreError);
    // A layer index with a flipped byte is refused by the store's own check.
    store.tamper(layer.digest, 30);
    assert.throws(() => readLayerIndex(store, layer.digest), StoreError);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('progress reaches the total', async () => {
  const dir = tmp();
  try {
    make(dir, TREE, () => 0);
    const calls: [number, number][] = [];
    const r = await packTree(dir, new MemoryObjectStore(nodeHasher), {
      workers: 0,
      onProgress: (d, t) => calls.push([d, t]),
    });
    assert.ok(calls.length >= 1);
    assert.deepEqual(calls.at(-1), [r.stats.bytes, r.stats.bytes]);
    for (let i = 1; i < calls.length; i++) assert.ok(calls[i]![0] >= calls[i - 1]![0]);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('unsafe trees are refused', async () => {
  const unsafe = (e: unknown) => e instanceof PackageError && e.code === 'UNSAFE_TREE';
  const cases: [string, (dir: string) => void][] = [
    ['a FIFO', (d) => execFileSync('mkfifo', [join(d, 'fifo')])],
    ['a whiteout marker name', (d) => writeFileSync(join(d, '.wh.x'), '')],
    [
      'a name that is not UTF-8',
      (d) => writeFileSync(Buffer.concat([Buffer.from(`${d}/`), Buffer.from([0x66, 0xff])]), ''),
    ],
    ['a symlink target that is not UTF-8', (d) => symlinkSync(Buffer.from([0x2e, 0xfe]), join(d, 'l'))],
  ];
  for (const [what, mk] of cases) {
    const dir = tmp();
    try {
      writeFileSync(join(dir, 'ok'), 'fine');
      mk(dir);
      await assert.rejects(packTree(dir, new MemoryObjectStore(nodeHasher)), unsafe, what);
    } finally {
      rmSync(dir, { recursive: true });
    }
  }
  await assert.rejects(packTree('/dev/null', new MemoryObjectStore(nodeHasher)), unsafe);
});

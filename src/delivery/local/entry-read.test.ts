import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { encodeChunk, nodeDecoders, sha256Digest } from '../../package/node.js';
import { decodeChunkInto } from '../../package/codec.js';
import { PackageError } from '../../package/errors.js';
import { randomBytes } from '../../package/testing.js';
import type { ChunkRef } from '../../package/types.js';
import { runnableBytes, type ModuleLayout } from '../../runtime/module-stream.js';
import { FsObjectStore } from '../../store/fs/object-store.js';
import { MemoryObjectStore } from '../../store/memory.js';
import { chunkVerifier } from '../../package/chunk-io.js';
import { nodeHasher } from '../../package/hash-node.js';
import { ChunkedModuleSource } from '../chunked-source.js';
import { EntryCache, entryCacheKey } from './entry-cache.js';
import { SharedEntryRead, type EntryReadJob } from './entry-read.js';

const leb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
};
const section = (id: number, body: number[] | Uint8Array) => [id, ...leb(body.length), ...body];
const custom = (name: string, body: Uint8Array) =>
  section(0, [...leb(name.length), ...new TextEncoder().encode(name), ...body]);

/**
 * A module with a custom section in the middle (kept out of the runnable
 * bytes, but inside their range) and a large custom tail after the data
 * section (never read), data big enough for many chunks.
 */
function moduleBytes(): Uint8Array {
  // Compressible (mostly zeros), so chunks are stored zstd-encoded as well as raw.
  const data = randomBytes(40_000, 'entry-read data').map((b, i) => (i % 4 ? 0 : b));
  const segment = [0, 0x41, 0, 0x0b, ...leb(data.length), ...data]; // active, i32.const 0
  return new Uint8Array([
    0,
    0x61,
    0x73,
    0x6d,
    1,
    0,
    0,
    0,
    ...section(5, [1, 1, 1, 4]), // memory: min 1, max 4
    ...custom('middle', randomBytes(3_000, 'middle')),
    ...section(11, [1, ...segment]),
    ...custom('.debug_info', randomBytes(30_000, 'tail')),
  ]);
}

/** `bytes` cut into chunks of `size`, encoded and written to `store`. */
function chunked(
  bytes: Uint8Array,
  size: number,
  store: { write(d: string, b: Uint8Array, v?: never): void },
) {
  const chunks: ChunkRef[] = [];
  for (let at = 0; at < bytes.length; at += size) {
    const plain = bytes.slice(at, at + size);
    const digest = sha256Digest(plain);
    (store.write as (d: string, b: Uint8Array, v: unknown) => void)(
      digest,
      encodeChunk(plain, at % (2 * size) === 0 ? 'zstd' : 'raw'),
      chunkVerifier(nodeDecoders, nodeHasher),
    );
    chunks.push({ digest, size: plain.length });
  }
  return chunks;
}

/** What the streaming path yields for the same chunks: the reference. */
async function reference(store: MemoryObjectStore | FsObjectStore, chunks: ChunkRef[], pages?: number) {
  const { readChunk } = await import('../../package/chunk-io.js');
  const src = new ChunkedModuleSource(
    chunks,
    async () => {},
    (c) => readChunk(store, c, nodeDecoders, nodeHasher),
  );
  const layout: ModuleLayout = { customs: [], tail: 0 };
  const parts: number[] = [];
  for await (const p of runnableBytes(src, layout, pages)) parts.push(...p);
  return { bytes: new Uint8Array(parts), layout };
}

test('the shared read yields what runnableBytes yields, custom sections left out, with and without a memory limit', async () => {
  const store = new MemoryObjectStore({ verify: chunkVerifier(nodeDecoders, nodeHasher) });
  const chunks = chunked(moduleBytes(), 1000, store);
  for (const pages of [undefined, 2]) {
    const want = await reference(store, chunks, pages);
    const layout: ModuleLayout = { customs: [], tail: 0 };
    const read = SharedEntryRead.start(store, '/nowhere', chunks, layout);
    const got = await read.bytes(pages);
    assert.deepEqual(got, want.bytes);
    assert.deepEqual(layout, want.layout);
    assert.deepEqual(
      layout.customs.map((c) => c.name),
      ['middle'],
    );
  }
});

test('the custom tail is never read, every chunk before it is, and a plain module is a view of the shared bytes', async () => {
  const bytes = moduleBytes();
  const store = new MemoryObjectStore({ verify: chunkVerifier(nodeDecoders, nodeHasher) });
  const chunks = chunked(bytes, 1000, store);
  const read: string[] = [];
  const counting = Object.assign(Object.create(store) as MemoryObjectStore, {
    read: (d: string, v?: (d: string, b: Uint8Array) => boolean) => {
      read.push(d);
      return store.read(d as never, v);
    },
  });
  const layout: ModuleLayout = { customs: [], tail: 0 };
  await SharedEntryRead.start(counting, '/nowhere', chunks, layout).bytes(undefined);
  // Nothing after the data section. Before it, every chunk, even those holding only the middle
  // custom section (left out of the module): the run leaves a whole prefix for the entry cache.
  const lastNeeded = Math.floor((layout.tail - 1) / 1000);
  const indexes = new Set(read.map((d) => chunks.findIndex((c) => c.digest === d)));
  assert.ok(Math.max(...indexes) === lastNeeded && lastNeeded < chunks.length - 20);
  assert.equal(indexes.size, lastNeeded + 1);
  assert.equal(read.length, indexes.size, 'each chunk is read once');

  // No inner custom section and no limit: no copy.
  const plain = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...section(5, [0, 1])]);
  const out = await SharedEntryRead.start(store, '/nowhere', chunked(plain, 4, store), {
    customs: [],
    tail: 0,
  }).bytes(undefined);
  assert.deepEqual(out, plain);
  assert.ok(out.buffer instanceof SharedArrayBuffer);
});

/** A module for a worker thread that helps read `workerData` (an EntryReadJob) from its own store; its path. */
function helperScript(dir: string): string {
  const url = new URL('./entry-read.js', import.meta.url).href;
  const storeUrl = new URL('../../store/fs/object-store.js', import.meta.url).href;
  const script = join(dir, 'helper.mjs');
  writeFileSync(
    script,
    `import { workerData } from 'node:worker_threads';
     const { helpRead } = await import(${JSON.stringify(url)});
     const { FsObjectStore } = await import(${JSON.stringify(storeUrl)});
     helpRead(workerData, new FsObjectStore(workerData.root));`,
  );
  return script;
}

test('a helper thread reads chunks alongside, from its own store; the result is the same', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'capsule-entry-read-'));
  try {
    const store = new FsObjectStore(dir);
    const chunks = chunked(moduleBytes(), 300, store);
    const want = await reference(store, chunks);
    let worker: Worker | undefined;
    const helped = new Promise<void>((resolve, reject) => {
      const layout: ModuleLayout = { customs: [], tail: 0 };
      const read = SharedEntryRead.start(store, dir, chunks, layout, (job: EntryReadJob) => {
        worker = new Worker(helperScript(dir), { workerData: job });
        worker.once('error', reject);
        return true;
      });
      // Let the helper start first, so both threads take chunks.
      worker!.once('online', () =>
        setTimeout(() => {
          read.bytes(undefined).then((got) => {
            assert.deepEqual(got, want.bytes);
            resolve();
          }, reject);
        }, 20),
      );
    });
    await helped;
    await worker?.terminate();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a flipped byte in a stored chunk fails the read; nothing is handed out', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'capsule-entry-read-'));
  try {
    const store = new FsObjectStore(dir);
    const chunks = chunked(moduleBytes(), 1000, store);
    // A chunk in the middle of the data section, zstd-encoded (even index) or raw.
    for (const k of [20, 21]) {
      const path = store.pathOf(chunks[k]!.digest);
      const original = readFileSync(path);
      const bad = Buffer.from(original);
      bad[bad.length >> 1]! ^= 0x01;
      chmodSync(path, 0o644);
      writeFileSync(path, bad);
      const read = SharedEntryRead.start(store, dir, chunks, { customs: [], tail: 0 });
      await assert.rejects(read.bytes(undefined), /could not be read/);
      writeFileSync(path, original);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('decodeChunkInto writes the plain bytes in place, and refuses another size', () => {
  const plain = randomBytes(5000, 'into').map((b, i) => (i % 3 ? 0 : b));
  for (const codec of ['zstd', 'gzip', 'raw'] as const) {
    const stored = encodeChunk(plain, codec);
    const out = new Uint8Array(plain.length);
    decodeChunkInto(stored, out, nodeDecoders);
    assert.deepEqual(out, plain);
    assert.throws(
      () => decodeChunkInto(stored, new Uint8Array(plain.length - 1), nodeDecoders),
      (e: unknown) => e instanceof PackageError && e.code === 'CORRUPT_CHUNK',
    );
  }
});

/**
 * A store in `dir` holding moduleBytes() in 1000-byte chunks, and an entry cache
 * filled the way a first launch fills it: read from the store, then the verified prefix kept.
 */
async function filledEntryCache(dir: string) {
  const store = new FsObjectStore(join(dir, 'store'));
  const chunks = chunked(moduleBytes(), 1000, store);
  const want = await reference(store, chunks);
  const cache = new EntryCache(join(dir, 'cache'));
  const key = entryCacheKey(chunks);
  const first = SharedEntryRead.start(store, dir, chunks, { customs: [], tail: 0 }, undefined, cache);
  assert.equal(first.fromCache, false);
  assert.deepEqual(await first.bytes(undefined), want.bytes);
  await cache.write(key, first.verifiedPrefix());
  return { store, chunks, want, cache, key };
}

test('the entry cache: a read from the store leaves the prefix, the next read checks it instead of the store, a damaged or torn copy is refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'capsule-entry-cache-'));
  try {
    const { store, chunks, want, cache, key } = await filledEntryCache(dir);
    const file = cache.pathOf(key);
    // Whole chunks, up to the one where the data section ends; the custom tail is not kept.
    const kept = readFileSync(file);
    assert.equal(kept.length % 1000, 0);
    assert.equal(kept.length, (Math.floor((want.layout.tail - 1) / 1000) + 1) * 1000);
    assert.deepEqual(new Uint8Array(kept), moduleBytes().subarray(0, kept.length));

    // From the cache: the store is not read at all, and the result and layout are the same.
    const reads: string[] = [];
    const counting = Object.assign(Object.create(store) as FsObjectStore, {
      read: (d: string, v?: (d: string, b: Uint8Array) => boolean) => {
        reads.push(d);
        return store.read(d as never, v);
      },
    });
    const layout: ModuleLayout = { customs: [], tail: 0 };
    const second = SharedEntryRead.start(counting, dir, chunks, layout, undefined, cache);
    assert.equal(second.fromCache, true);
    assert.deepEqual(await second.bytes(undefined), want.bytes);
    assert.deepEqual(layout, want.layout);
    assert.deepEqual(reads, []);

    // One flipped byte: the check fails; nothing is handed out.
    const bad = Buffer.from(kept);
    bad[bad.length >> 1]! ^= 0x20;
    writeFileSync(file, bad);
    const damaged = SharedEntryRead.start(store, dir, chunks, { customs: [], tail: 0 }, undefined, cache);
    assert.equal(damaged.fromCache, true);
    await assert.rejects(damaged.bytes(undefined), /could not be read/);

    // Torn (not on a chunk boundary): not used, and removed.
    writeFileSync(file, kept.subarray(0, kept.length - 10));
    const torn = SharedEntryRead.start(store, dir, chunks, { customs: [], tail: 0 }, undefined, cache);
    assert.equal(torn.fromCache, false);
    assert.equal(existsSync(file), false);
    assert.deepEqual(await torn.bytes(undefined), want.bytes);

    // gc's pruning keeps only the keys it is given.
    await cache.write(key, torn.verifiedPrefix());
    await cache.write('f'.repeat(64), new Uint8Array([1, 2, 3]));
    assert.equal(cache.prune(new Set([key])), 3);
    assert.deepEqual(readdirSync(join(dir, 'cache')), [key]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('from the entry cache, this thread reads batches on the thread pool while a helper takes chunks; a flipped byte is caught', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'capsule-entry-cache-'));
  const was = SharedEntryRead.pipelineBytes;
  SharedEntryRead.pipelineBytes = 5000; // five chunks a batch: many batches, several in flight
  try {
    const { store, chunks, want, cache, key } = await filledEntryCache(dir);

    const script = helperScript(dir);
    const withHelper = async () => {
      let worker: Worker | undefined;
      const layout: ModuleLayout = { customs: [], tail: 0 };
      const read = SharedEntryRead.start(
        store,
        join(dir, 'store'),
        chunks,
        layout,
        (job: EntryReadJob) => {
          worker = new Worker(script, { workerData: job });
          return true;
        },
        cache,
      );
      assert.equal(read.fromCache, true);
      await new Promise((resolve) => worker!.once('online', resolve));
      try {
        return { bytes: await read.bytes(undefined), layout };
      } finally {
        await worker?.terminate();
      }
    };
    const got = await withHelper();
    assert.deepEqual(got.bytes, want.bytes);
    assert.deepEqual(got.layout, want.layout);

    // A flipped byte in the last cached chunk: whichever thread checks it, nothing is handed out.
    const file = cache.pathOf(key);
    const bad = readFileSync(file);
    bad[bad.length - 3]! ^= 0x01;
    writeFileSync(file, bad);
    await assert.rejects(withHelper(), /could not be read/);
  } finally {
    SharedEntryRead.pipelineBytes = was;
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the entry cache stays under its limit: the least recently used copies go first', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'capsule-entry-cache-'));
  try {
    const cache = new EntryCache(dir, 3500);
    const keys = ['a', 'b', 'c'].map((c) => c.repeat(64));
    for (const [i, k] of keys.entries()) {
      await cache.write(k, new Uint8Array(1000));
      utimesSync(cache.pathOf(k), 1000 + i, 1000 + i); // written in this order
    }
    cache.touch(keys[0]!); // a used just now: b is the oldest
    await cache.write('d'.repeat(64), new Uint8Array(1000));
    assert.deepEqual(readdirSync(dir).sort(), [keys[0], keys[2], 'd'.repeat(64)]);
    // Larger than the whole limit: not kept at all.
    await cache.write('e'.repeat(64), new Uint8Array(4000));
    assert.equal(existsSync(cache.pathOf('e'.repeat(64))), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

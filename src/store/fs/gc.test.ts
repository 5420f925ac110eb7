import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Digest } from '../../package/types.js';
import { digestOf, expectStoreError } from '../store.case.test.js';
import { reachable, verifyAll, type ChildrenOf } from '../walk.js';
import { collectGarbage } from './gc.js';
import { acquireLock } from './lock.js';
import { FsObjectStore } from './object-store.js';
import { FsRefStore } from './refs.js';
import { deadPid, finished, moduleUrl, printed, spawnModule, tempStoreDir } from './testing.js';

/*
 * A fake package format, standing in for package/'s parsers: a "node" object is
 * JSON {"kind":"node","objects":[...],"leaves":[...]}; anything else (a
 * "chunk") has no children.
 */
const children: ChildrenOf = (_digest, bytes) => {
  const text = new TextDecoder().decode(bytes);
  if (!text.startsWith('{"kind":"node"')) return [];
  const { objects, leaves } = JSON.parse(text) as { objects: Digest[]; leaves: Digest[] };
  return { objects, leaves };
};

function put(store: FsObjectStore, bytes: Uint8Array): Digest {
  const d = digestOf(bytes);
  store.write(d, bytes);
  return d;
}
const chunk = (store: FsObjectStore, s: string): Digest => put(store, new TextEncoder().encode(`chunk ${s}`));
const node = (store: FsObjectStore, objects: Digest[], leaves: Digest[], tag = ''): Digest =>
  put(store, new TextEncoder().encode(JSON.stringify({ kind: 'node', objects, leaves, tag })));

/** A package: manifest -> layer -> chunks, plus a dependency manifest. */
function pkg(
  store: FsObjectStore,
  name: string,
  dependency: Digest[] = [],
): { manifest: Digest; all: Digest[] } {
  const c1 = chunk(store, `${name}-1`);
  const c2 = chunk(store, `${name}-2`);
  const shared = chunk(store, 'shared by everyone');
  const layer = node(store, [], [c1, c2, shared], `${name} layer`);
  const manifest = node(store, [layer, ...dependency], [], `${name} manifest`);
  return { manifest, all: [manifest, layer, c1, c2, shared] };
}

function withStore(
  body: (store: FsObjectStore, refs: FsRefStore) => void | Promise<void>,
): () => Promise<void> {
  return async () => {
    const dir = tempStoreDir();
    try {
      await body(new FsObjectStore(dir.root), new FsRefStore(dir.root));
    } finally {
      dir.cleanup();
    }
  };
}

const sorted = (ds: Iterable<Digest>): Digest[] => [...ds].sort();

test(
  'gc keeps what refs reach (through dependencies) and removes the rest',
  withStore((store, refs) => {
    const base = pkg(store, 'base');
    const app = pkg(store, 'app', [base.manifest]);
    const orphan = pkg(store, 'orphan');
    refs.setRef('app', '1.0.0', app.manifest);
    const dry = collectGarbage(store, { children, graceMs: 0, dryRun: true });
    assert.equal(dry.removed, 4); // orphan minus the shared chunk
    assert.equal([...store.list()].length, 13); // 3 packages x 5 objects, one chunk shared

    const result = collectGarbage(store, { children, graceMs: 0 });
    const gone = orphan.all.filter((d) => !app.all.includes(d));
    assert.deepEqual(result.removedDigests, sorted(gone));
    assert.equal(result.removed, 4);
    assert.equal(result.kept, 9);
    assert.ok(result.freedBytes > 0);
    assert.deepEqual(sorted(store.list()), sorted(new Set([...app.all, ...base.all])));
    assert.deepEqual(result.missing, []);

    // Once the ref goes, everything goes.
    refs.deleteRef('app', '1.0.0');
    assert.equal(collectGarbage(store, { children, graceMs: 0 }).kept, 0);
    assert.deepEqual([...store.list()], []);
  }),
);

test(
  'explicit roots are kept; young unreachable objects survive the grace period',
  withStore((store) => {
    const a = pkg(store, 'a');
    const b = pkg(store, 'b');
    const result = collectGarbage(store, { children, roots: [a.manifest] });
    assert.equal(result.removed, 0);
    assert.equal(result.young, 4);
    const old = new Date(Date.now() - 2 * 3_600_000);
    for (const d of b.all) utimesSync(store.pathOf(d), old, old);
    const later = collectGarbage(store, { children, roots: [a.manifest] });
    assert.equal(later.removed, 4);
    assert.deepEqual(sorted(store.list()), sorted(a.all));
  }),
);

test(
  'a lease held by a live process protects its package; once it dies, it does not',
  withStore(async (store) => {
    const leased = pkg(store, 'running');
    const child = spawnModule(`
      import { registerLease } from ${JSON.stringify(moduleUrl('lease.js'))};
      import { storeLayout } from ${JSON.stringify(moduleUrl('layout.js'))};
      registerLease(storeLayout(${JSON.stringify(store.layout.root)}), [${JSON.stringify(leased.manifest)}]);
      console.log('ready');
      setInterval(() => {}, 1000);`);
    const done = finished(child);
    await printed(child, 'ready');
    try {
      const during = collectGarbage(store, { children, graceMs: 0 });
      assert.equal(during.removed, 0);
      assert.equal(during.kept, leased.all.length);
    } finally {
      child.kill('SIGKILL');
      await done;
    }
    const after = collectGarbage(store, { children, graceMs: 0 });
    assert.equal(after.removed, leased.all.length);
    assert.equal(after.deadLeases, 1);
    assert.deepEqual(readdirSync(store.layout.leases), []);
  }),
);

test(
  'a lease file of a dead pid protects nothing',
  withStore(async (store) => {
    const p = pkg(store, 'p');
    mkdirSync(store.layout.leases, { recursive: true });
    const lease = {
      pid: await deadPid(),
      hostname: hostname(),
      time: new Date().toISOString(),
      digests: [p.manifest],
    };
    writeFileSync(join(store.layout.leases, '1-dead.json'), JSON.stringify(lease));
    const result = collectGarbage(store, { children, graceMs: 0 });
    assert.equal(result.removed, p.all.length);
  }),
);

test(
  'gc cleans old staged files, leaves young ones, and reports missing roots',
  withStore((store) => {
    mkdirSync(store.layout.tmp, { recursive: true });
    const oldTmp = join(store.layout.tmp, '999-old.tmp');
    const youngTmp = join(store.layout.tmp, '999-young.tmp');
    writeFileSync(oldTmp, 'partial');
    writeFileSync(youngTmp, 'in progress');
    const old = new Date(Date.now() - 2 * 3_600_000);
    utimesSync(oldTmp, old, old);
    const missing = `sha256:${'e'.repeat(64)}`;
    const result = collectGarbage(store, { children, roots: [missing] });
    assert.equal(result.staleStaged, 1);
    assert.deepEqual(readdirSync(store.layout.tmp), ['999-young.tmp']);
    assert.deepEqual(result.missing, [missing]);
  }),
);

test(
  'gc refuses to sweep when a reachable index is corrupt, and waits for the lock',
  withStore((store, refs) => {
    const p = pkg(store, 'p');
    const orphan = chunk(store, 'orphan');
    refs.setRef('p', '1.0.0', p.manifest);
    const lock = acquireLock(store.layout.locks, 'store', { purpose: 'pack' });
    try {
      expectStoreError(
        () => collectGarbage(store, { children, graceMs: 0, lock: { timeoutMs: 50 } }),
        'LOCKED',
      );
    } finally {
      lock.release();
    }
    const layer = p.all[1] ?? '';
    writeFileSync(store.pathOf(layer), '{"kind":"node","objects":[],"leaves":[]}');
    expectStoreError(() => collectGarbage(store, { children, graceMs: 0 }), 'CORRUPT', layer);
    assert.equal(store.has(orphan), true);
  }),
);

test(
  'reachable and verifyAll name corrupt and missing objects',
  withStore((store) => {
    const p = pkg(store, 'p');
    const [manifest, layer, c1] = p.all as [Digest, Digest, Digest];
    const { marked } = reachable(store, [manifest], children);
    assert.deepEqual(sorted(marked), sorted(p.all));
    writeFileSync(store.pathOf(c1), 'flipped');
    const all = verifyAll(store, (d, b) => digestOf(b) === d);
    assert.deepEqual(all, { checked: 5, corrupt: [c1], missing: [] });
    const absent = `sha256:${'f'.repeat(64)}`;
    const some = verifyAll(store, (d, b) => digestOf(b) === d, [layer, absent]);
    assert.deepEqual(some, { checked: 2, corrupt: [], missing: [absent] });
  }),
);

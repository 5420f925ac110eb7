import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { expectStoreError } from '../store.case.test.js';
import { storeLayout, type StoreLayout } from './layout.js';
import { registerLease, scanLeases } from './lease.js';
import { acquireLock } from './lock.js';
import { FsObjectStore } from './object-store.js';
import { deadPid, tempStoreDir } from './testing.js';

const A = `sha256:${'a'.repeat(64)}`;

function withLayout(body: (layout: StoreLayout) => void | Promise<void>): () => Promise<void> {
  return async () => {
    const dir = tempStoreDir();
    try {
      await body(storeLayout(dir.root));
    } finally {
      dir.cleanup();
    }
  };
}

test(
  'a lease is a JSON file naming this process and its digests, live until released',
  withLayout((layout) => {
    const lease = registerLease(layout, [A]);
    assert.match(lease.path, new RegExp(`/leases/${process.pid}-[0-9a-f]{16}\\.json$`));
    const record = JSON.parse(readFileSync(lease.path, 'utf8')) as Record<string, unknown>;
    assert.deepEqual(
      { pid: record.pid, hostname: record.hostname, digests: record.digests },
      { pid: process.pid, hostname: hostname(), digests: [A] },
    );
    assert.deepEqual(
      scanLeases(layout).live.map((l) => l.record.digests),
      [[A]],
    );
    lease.release();
    assert.equal(existsSync(lease.path), false);
    assert.deepEqual(scanLeases(layout), { live: [], dead: [] });
  }),
);

test(
  'leases of dead processes and damaged lease files are dead',
  withLayout(async (layout) => {
    mkdirSync(layout.leases, { recursive: true });
    const gone = join(layout.leases, 'gone.json');
    writeFileSync(
      gone,
      JSON.stringify({ pid: await deadPid(), hostname: hostname(), time: '', digests: [A] }),
    );
    const damaged = join(layout.leases, 'damaged.json');
    writeFileSync(
      damaged,
      JSON.stringify({ pid: process.pid, hostname: hostname(), time: '', digests: ['../x'] }),
    );
    const remote = join(layout.leases, 'remote.json');
    writeFileSync(remote, JSON.stringify({ pid: 1, hostname: 'elsewhere.invalid', time: '', digests: [A] }));
    const scan = scanLeases(layout);
    assert.deepEqual(scan.dead.sort(), [damaged, gone].sort());
    assert.deepEqual(
      scan.live.map((l) => l.path),
      [remote],
    );
  }),
);

test(
  'registering refuses bad digests and waits for the store lock',
  withLayout((layout) => {
    expectStoreError(() => registerLease(layout, ['sha256:../../x']), 'BAD_DIGEST');
    const lock = acquireLock(layout.locks, 'store', { purpose: 'gc' });
    try {
      expectStoreError(() => registerLease(layout, [A], { timeoutMs: 50 }), 'LOCKED', 'gc');
    } finally {
      lock.release();
    }
    assert.deepEqual(scanLeases(layout).live, []);
  }),
);

test(
  'with a store, a lease on a missing object is refused and not left behind',
  withLayout((layout) => {
    const store = new FsObjectStore(layout.root);
    expectStoreError(() => registerLease(layout, [A], { store }), 'NOT_FOUND', A);
    assert.deepEqual(scanLeases(layout), { live: [], dead: [] });
  }),
);

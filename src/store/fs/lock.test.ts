import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { expectStoreError } from '../store.case.test.js';
import { acquireLock, withLock } from './lock.js';
import { deadPid, finished, moduleUrl, spawnModule, tempStoreDir } from './testing.js';

function withDir(body: (locks: string) => void | Promise<void>): () => Promise<void> {
  return async () => {
    const dir = tempStoreDir();
    try {
      await body(join(dir.root, 'locks'));
    } finally {
      dir.cleanup();
    }
  };
}

const record = (pid: number, host = hostname()): string =>
  JSON.stringify({ pid, hostname: host, time: new Date().toISOString(), purpose: 'test', nonce: 'n' });

test(
  'the lock file names its holder; release removes it',
  withDir((locks) => {
    const lock = acquireLock(locks, 'store', { purpose: 'gc' });
    const held = JSON.parse(readFileSync(join(locks, 'store.lock'), 'utf8')) as Record<string, unknown>;
    assert.equal(held.pid, process.pid);
    assert.equal(held.hostname, hostname());
    assert.equal(held.purpose, 'gc');
    assert.equal(typeof held.time, 'string');
    lock.release();
    lock.release();
    assert.deepEqual(readdirSync(locks), []);
  }),
);

test(
  'a held lock times out with a message naming the holder and the file',
  withDir((locks) => {
    const lock = acquireLock(locks, 'store', { purpose: 'pack app@1.0.0' });
    try {
      const t0 = Date.now();
      expectStoreError(() => acquireLock(locks, 'store', { timeoutMs: 150 }), 'LOCKED', `pid ${process.pid}`);
      assert.ok(Date.now() - t0 >= 150);
      expectStoreError(
        () => acquireLock(locks, 'store', { timeoutMs: 0 }),
        'LOCKED',
        join(locks, 'store.lock'),
      );
      // Other names are other locks.
      withLock(locks, () => undefined, { name: 'other', timeoutMs: 0 });
    } finally {
      lock.release();
    }
    assert.deepEqual(readdirSync(locks), []);
  }),
);

test(
  'a lock left by a dead process on this host is broken',
  withDir(async (locks) => {
    mkdirSync(locks, { recursive: true });
    writeFileSync(join(locks, 'store.lock'), record(await deadPid()));
    const lock = acquireLock(locks, 'store', { timeoutMs: 1000 });
    assert.equal((JSON.parse(readFileSync(lock.path, 'utf8')) as { pid: number }).pid, process.pid);
    lock.release();
  }),
);

test(
  "a lock held on another host is never broken (its pid can't be checked)",
  withDir(async (locks) => {
    mkdirSync(locks, { recursive: true });
    writeFileSync(join(locks, 'store.lock'), record(await deadPid(), 'some-other-host.invalid'));
    expectStoreError(
      () => acquireLock(locks, 'store', { timeoutMs: 100 }),
      'LOCKED',
      'some-other-host.invalid',
    );
  }),
);

test(
  'an unreadable lock file is waited on while fresh and broken once old',
  withDir((locks) => {
    mkdirSync(locks, { recursive: true });
    const path = join(locks, 'store.lock');
    writeFileSync(path, '{"pid":');
    expectStoreError(() => acquireLock(locks, 'store', { timeoutMs: 100 }), 'LOCKED', 'unreadable');
    const old = new Date(Date.now() - 60_000);
    utimesSync(path, old, old);
    acquireLock(locks, 'store', { timeoutMs: 100 }).release();
    assert.equal(existsSync(path), false);
  }),
);

test(
  'release leaves alone a lock that is no longer ours',
  withDir((locks) => {
    const lock = acquireLock(locks);
    writeFileSync(lock.path, record(process.pid));
    lock.release();
    assert.equal(existsSync(lock.path), true);
  }),
);

test(
  'processes contending for the lock never interleave, starting from a stale lock they all see',
  withDir(async (locks) => {
    mkdirSync(locks, { recursive: true });
    writeFileSync(join(locks, 'store.lock'), record(await deadPid()));
    const counter = join(locks, '..', 'counter');
    writeFileSync(counter, '0');
    // Each child does a slow read-modify-write of the counter under the lock.
    const source = `
      import { readFileSync, writeFileSync } from 'node:fs';
      import { withLock } from ${JSON.stringify(moduleUrl('lock.js'))};
      const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
      for (let i = 0; i < 15; i++) {
        withLock(${JSON.stringify(locks)}, () => {
          const n = Number(readFileSync(${JSON.stringify(counter)}, 'utf8'));
          sleep(2);
          writeFileSync(${JSON.stringify(counter)}, String(n + 1));
        }, { timeoutMs: 20000, pollMs: 1 });
      }`;
    const results = await Promise.all(
      [spawnModule(source), spawnModule(source), spawnModule(source)].map(finished),
    );
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(counter, 'utf8'), '45');
    assert.deepEqual(readdirSync(locks), []);
  }),
);

/**
 * The contract every MetadataStore passes (SQLite now; PostgreSQL later).
 * `make` returns a fresh store and a way to reopen it on the same data.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MetadataStore } from './types.js';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;

export function runTest(
  name: string,
  make: () => { store: MetadataStore; reopen: () => MetadataStore; done: () => void },
) {
  test(`${name}: users, tokens, groups, grants, entitlements`, () => {
    const { store, done } = make();
    try {
      const ann = store.createUser('ann', 'publisher', null);
      const bob = store.createUser('bob', 'user', { salt: 's', hash: 'h', params: 'p' });
      assert.throws(() => store.createUser('bob', 'user', null));
      assert.deepEqual(store.password(bob.id), { salt: 's', hash: 'h', params: 'p' });
      assert.equal(store.password(ann.id), null);
      store.addToken(bob.id, 'hash-b', 'test');
      assert.equal(store.userByTokenHash('hash-b')?.name, 'bob');
      assert.equal(store.userByTokenHash('nope'), null);

      store.createGroup('staff');
      store.addMember('staff', bob.id);
      store.addMember('staff', bob.id);
      assert.deepEqual(store.groups(), [{ name: 'staff', members: ['bob'] }]);
      assert.deepEqual(store.entitledApps(bob.id), []);
      assert.equal(store.addGrant({ app: 'sqlite', kind: 'group', subject: 'staff' }), true);
      assert.equal(store.addGrant({ app: 'sqlite', kind: 'group', subject: 'staff' }), false);
      assert.equal(store.addGrant({ app: 'flite', kind: 'user', subject: 'bob' }), true);
      assert.deepEqual(store.entitledApps(bob.id), ['flite', 'sqlite']);
      assert.equal(store.removeGrant({ app: 'flite', kind: 'user', subject: 'bob' }), true);
      assert.equal(store.removeGrant({ app: 'flite', kind: 'user', subject: 'bob' }), false);
      assert.deepEqual(store.entitledApps(bob.id), ['sqlite']);

      // The change stamp moves with every change, and only then.
      const stamp = store.changeStamp();
      assert.equal(store.changeStamp(), stamp);
      store.entitledApps(bob.id);
      assert.equal(store.changeStamp(), stamp);
      store.addGrant({ app: 'flite', kind: 'user', subject: 'bob' });
      const granted = store.changeStamp();
      assert.notEqual(granted, stamp);
      store.removeGrant({ app: 'flite', kind: 'user', subject: 'bob' });
      assert.notEqual(store.changeStamp(), granted);
    } finally {
      done();
    }
  });

  test(`${name}: packages, the objects they hold, audit; all kept across a reopen`, () => {
    const { store, reopen, done } = make();
    let again: MetadataStore | null = null;
    try {
      const ann = store.createUser('ann', 'publisher', null);
      const record = {
        name: 'yosys',
        version: '1.0.0',
        digest: D1,
        signatures: [],
        publisher: 'ann',
        createdAt: '2026-01-01T00:00:00.000Z',
      };
      assert.equal(store.addPackage(record, [D1, D2, D2]), true);
      assert.equal(store.addPackage(record, [D1]), false);
      assert.deepEqual(store.packageByRef('yosys', '1.0.0'), record);
      assert.equal(store.packageByRef('yosys', '2.0.0'), null);
      assert.deepEqual(store.appsHolding(D2), ['yosys']);
      assert.deepEqual(store.entitledApps(ann.id), ['yosys']);
      store.audit('admin', 'user.add', { name: 'ann' });
      store.close();
      again = reopen();
      assert.deepEqual(again.packages(), [record]);
      assert.deepEqual(
        again.auditLog(10).map((e) => [e.actor, e.action, e.detail]),
        [['admin', 'user.add', { name: 'ann' }]],
      );
      assert.equal(again.userByName('ann')?.role, 'publisher');
    } finally {
      again?.close();
      done();
    }
  });
}

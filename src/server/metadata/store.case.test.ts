/**
 * The contract every MetadataStore passes (SQLite now; PostgreSQL later).
 * `make` returns a fresh store and a way to reopen it on the same data.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Launch, MetadataStore } from './types.js';

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

  test(`${name}: console sign-ins expire, sign out, and are kept across a reopen`, () => {
    const { store, reopen, done } = make();
    let again: MetadataStore | null = null;
    try {
      const bob = store.createUser('bob', 'user', null);
      const t0 = '2026-01-01T00:00:00.000Z';
      store.addConsoleSession('live', bob.id, 'csrf-1', '2026-01-02T00:00:00.000Z');
      store.addConsoleSession('old', bob.id, 'csrf-2', '2026-01-01T01:00:00.000Z');
      const s = store.consoleSession('live', t0);
      assert.equal(s?.user.name, 'bob');
      assert.equal(s?.csrf, 'csrf-1');
      assert.equal(s?.expiresAt, '2026-01-02T00:00:00.000Z');
      assert.equal(store.consoleSession('old', '2026-01-01T01:00:00.000Z'), null, 'expired at its instant');
      assert.equal(store.consoleSession('nope', t0), null);
      store.close();
      again = reopen();
      assert.equal(again.consoleSession('live', t0)?.user.name, 'bob');
      assert.equal(again.removeConsoleSession('live', '2026-01-01T02:00:00.000Z'), true);
      assert.equal(again.removeConsoleSession('live', t0), false);
      assert.equal(again.consoleSession('live', t0), null);
      assert.equal(again.consoleSession('old', t0), null, 'swept as expired by the sign-out');
    } finally {
      again?.close();
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

  test(`${name}: channels keep their history; rollbacks mark entries; a throwing transaction changes nothing`, () => {
    const { store, reopen, done } = make();
    let again: MetadataStore | null = null;
    try {
      assert.deepEqual(store.channels(), []);
      const a = store.addChannelEntry('sqlite', 'stable', '1.0.0', 'admin');
      const b = store.addChannelEntry('sqlite', 'stable', '1.1.0', 'admin');
      store.addChannelEntry('sqlite', 'beta', '1.2.0', 'ann');
      store.addChannelEntry('yosys', 'stable', '0.1.0', 'admin');
      assert.ok(b.id !== a.id);
      assert.equal(b.rolledBackAt, null);
      const sqlite = store.channels('sqlite');
      assert.deepEqual(
        sqlite.map((c) => [c.app, c.name, c.entries.map((e) => [e.version, e.by])]),
        [
          ['sqlite', 'beta', [['1.2.0', 'ann']]],
          [
            'sqlite',
            'stable',
            [
              ['1.1.0', 'admin'],
              ['1.0.0', 'admin'],
            ],
          ],
        ],
      );
      assert.equal(store.channels().length, 3);
      store.markRolledBack([b.id], '2026-02-02T00:00:00.000Z');
      store.markRolledBack([b.id], '2026-03-03T00:00:00.000Z');
      const stable = store.channels('sqlite').find((c) => c.name === 'stable')!;
      assert.deepEqual(
        stable.entries.map((e) => [e.version, e.rolledBackAt]),
        [
          ['1.1.0', '2026-02-02T00:00:00.000Z'],
          ['1.0.0', null],
        ],
      );
      assert.throws(() =>
        store.transaction(() => {
          store.addChannelEntry('sqlite', 'stable', '9.9.9', 'admin');
          store.setYanked('sqlite', '1.0.0', true, 'admin');
          throw new Error('abort');
        }),
      );
      assert.equal(store.channels('sqlite').find((c) => c.name === 'stable')!.entries.length, 2);
      assert.deepEqual(store.yanked(), []);

      assert.equal(store.setYanked('sqlite', '1.0.0', true, 'admin'), true);
      assert.equal(store.setYanked('sqlite', '1.0.0', true, 'admin'), false);
      assert.equal(store.setYanked('yosys', '0.1.0', true, 'ann'), true);
      assert.deepEqual(
        store.yanked('sqlite').map((y) => [y.name, y.version, y.by]),
        [['sqlite', '1.0.0', 'admin']],
      );
      assert.equal(store.yanked().length, 2);
      assert.equal(store.setYanked('yosys', '0.1.0', false, 'ann'), true);
      assert.equal(store.setYanked('yosys', '0.1.0', false, 'ann'), false);
      store.close();
      again = reopen();
      assert.equal(again.channels().length, 3);
      assert.deepEqual(
        again.yanked().map((y) => `${y.name}@${y.version}`),
        ['sqlite@1.0.0'],
      );
    } finally {
      again?.close();
      done();
    }
  });

  test(`${name}: launches are counted per app, version, user and mode; a resent id counts once`, () => {
    const { store, done } = make();
    try {
      const launch = (
        id: string,
        user: string,
        version: string,
        mode: Launch['mode'],
        at: string,
      ): Launch => ({
        id,
        user,
        app: 'sqlite',
        version,
        mode,
        at,
      });
      assert.equal(
        store.addLaunch(launch('aaaaaaaa', 'bob', '1.0.0', 'stream', '2026-01-01T00:00:00.000Z')),
        true,
      );
      assert.equal(
        store.addLaunch(launch('aaaaaaaa', 'bob', '1.0.0', 'stream', '2026-01-01T00:00:00.000Z')),
        false,
      );
      // Ids are per user: another user's launch may carry the same one.
      assert.equal(
        store.addLaunch(launch('aaaaaaaa', 'ann', '1.0.0', 'local', '2026-01-03T00:00:00.000Z')),
        true,
      );
      store.addLaunch(launch('bbbbbbbb', 'bob', '1.0.0', 'stream', '2026-01-05T00:00:00.000Z'));
      store.addLaunch(launch('cccccccc', 'bob', '1.1.0', 'local', '2026-01-06T00:00:00.000Z'));
      store.addLaunch({
        ...launch('dddddddd', 'bob', '0.1.0', 'pull', '2026-01-07T00:00:00.000Z'),
        app: 'yosys',
      });
      assert.deepEqual(store.usage({ app: 'sqlite' }), [
        {
          app: 'sqlite',
          version: '1.0.0',
          user: 'ann',
          mode: 'local',
          launches: 1,
          first: '2026-01-03T00:00:00.000Z',
          last: '2026-01-03T00:00:00.000Z',
        },
        {
          app: 'sqlite',
          version: '1.0.0',
          user: 'bob',
          mode: 'stream',
          launches: 2,
          first: '2026-01-01T00:00:00.000Z',
          last: '2026-01-05T00:00:00.000Z',
        },
        {
          app: 'sqlite',
          version: '1.1.0',
          user: 'bob',
          mode: 'local',
          launches: 1,
          first: '2026-01-06T00:00:00.000Z',
          last: '2026-01-06T00:00:00.000Z',
        },
      ]);
      assert.equal(store.usage({}).length, 4);
      assert.deepEqual(
        store.usage({ since: '2026-01-05T00:00:00.000Z' }).map((r) => [r.app, r.version, r.launches]),
        [
          ['sqlite', '1.0.0', 1],
          ['sqlite', '1.1.0', 1],
          ['yosys', '0.1.0', 1],
        ],
      );
      assert.deepEqual(store.usage({ app: 'nothing' }), []);
    } finally {
      done();
    }
  });
}

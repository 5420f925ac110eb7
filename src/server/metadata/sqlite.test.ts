import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteMetadataStore } from './sqlite.js';
import { runTest } from './store.case.test.js';

runTest('SqliteMetadataStore', () => {
  const dir = mkdtempSync(join(tmpdir(), 'capsule-meta-'));
  const file = join(dir, 'metadata.db');
  const store = new SqliteMetadataStore(file);
  return {
    store,
    reopen: () => new SqliteMetadataStore(file),
    done: () => {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

test('SqliteMetadataStore: a schema 1 database is migrated forward, keeping its rows', () => {
  const dir = mkdtempSync(join(tmpdir(), 'capsule-meta-'));
  const file = join(dir, 'metadata.db');
  try {
    const first = new SqliteMetadataStore(file);
    first.createUser('ann', 'publisher', null);
    first.close();
    // Make it what a schema 1 server left behind.
    const db = new Database(file);
    db.exec('DROP TABLE channel_entries; DROP TABLE yanked; DROP TABLE launches;');
    db.pragma('user_version = 1');
    db.close();
    const migrated = new SqliteMetadataStore(file);
    try {
      assert.equal(migrated.userByName('ann')?.role, 'publisher');
      migrated.addChannelEntry('sqlite', 'stable', '1.0.0', 'admin');
      assert.equal(migrated.channels().length, 1);
    } finally {
      migrated.close();
    }
    const newer = new Database(file);
    newer.pragma('user_version = 99');
    newer.close();
    assert.throws(() => new SqliteMetadataStore(file), /schema 99/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

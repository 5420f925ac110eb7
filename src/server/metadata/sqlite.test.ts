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

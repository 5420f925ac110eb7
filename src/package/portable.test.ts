import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The Node adapters; everything else in package/ must run in a browser too. */
const NODE_ADAPTERS = new Set([
  'hash-node.ts',
  'codec-node.ts',
  'tree-scan.ts',
  'pack.ts',
  'pack-worker.ts',
  'encoder-pool.ts',
  'sign.ts',
  'node.ts',
]);

test('the platform-neutral part of package/ imports no Node API', () => {
  const dir = new URL('../../../src/package/', import.meta.url).pathname;
  const files = readdirSync(dir).filter(
    (f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !NODE_ADAPTERS.has(f),
  );
  assert.ok(files.length >= 10);
  for (const f of files) {
    const text = readFileSync(join(dir, f), 'utf8');
    assert.doesNotMatch(text, /from '(node:|zstd-napi)/, `${f} imports a Node module`);
    assert.doesNotMatch(
      text,
      /from '\.\/[\w-]*-node\.js'|from '\.\/(pack|sign|tree-scan)\.js'/,
      `${f} imports a Node adapter`,
    );
    assert.doesNotMatch(text, /\bBuffer\b|\bprocess\./, `${f} uses Buffer or process`);
  }
});

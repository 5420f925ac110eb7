import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalBytes } from './canonical.js';
import { PackageError } from './errors.js';
import { parseLayerIndex, validateLayerIndex } from './layer-index.js';
import { LAYER_SCHEMA, type LayerEntry, type LayerIndex } from './types.js';

const D = `sha256:${'b'.repeat(64)}`;

function good(): LayerIndex {
  return {
    schema: LAYER_SCHEMA,
    entries: [
      { path: 'bin', type: 'dir', mode: 0o755, size: 0 },
      {
        path: 'bin/app.wasm',
        type: 'file',
        mode: 0o644,
        size: 7,
        chunks: [
          { digest: D, size: 3 },
          { digest: D, size: 4 },
        ],
      },
      { path: 'bin/empty', type: 'file', mode: 0o644, size: 0, chunks: [] },
      { path: 'bin/link', type: 'symlink', mode: 0o777, size: 0, target: '/etc/../../x' },
      { path: 'bin0', type: 'dir', mode: 0o755, size: 0 },
      { path: 'é', type: 'dir', mode: 0o700, size: 0 },
      { path: '\uffff', type: 'dir', mode: 0o700, size: 0 },
      { path: '\u{1f600}', type: 'dir', mode: 0o700, size: 0 },
    ],
    whiteouts: ['etc/old', 'var'],
    opaque: ['bin'],
  };
}

function refuses(path: string, mutate: (ix: LayerIndex) => void, detail?: RegExp): void {
  const ix = good();
  mutate(ix);
  assert.throws(
    () => validateLayerIndex(ix),
    (e: unknown) => {
      assert.ok(e instanceof PackageError && e.code === 'INVALID_LAYER', String(e));
      assert.ok(e.message.includes(`${path}: `), `"${e.message}" should name ${path}`);
      if (detail) assert.match(e.message, detail);
      return true;
    },
  );
}

const entry = (ix: LayerIndex, i: number): LayerEntry => ix.entries[i]!;

test('a good index passes; UTF-8 byte order puts U+FFFF before U+1F600', () => {
  // In UTF-16 code units the emoji (a surrogate pair, 0xD83D...) would sort before U+FFFF.
  const ix = good();
  assert.deepEqual(parseLayerIndex(canonicalBytes(ix)), ix);
  ix.entries.push(ix.entries.splice(6, 1)[0]!);
  assert.throws(() => validateLayerIndex(ix), /entries\[7\]: not sorted/);
  // "-" (0x2d) sorts before "/" (0x2f): a sibling can come between a directory and its contents.
  const dash = good();
  dash.entries.splice(1, 0, { path: 'bin-x', type: 'dir', mode: 0o755, size: 0 });
  validateLayerIndex(dash);
});

test('unsafe paths are refused', () => {
  refuses('entries[0].path', (ix) => (entry(ix, 0).path = '/bin'), /absolute/);
  refuses('entries[0].path', (ix) => (entry(ix, 0).path = '../bin'), /".."/);
  refuses('entries[0].path', (ix) => (entry(ix, 0).path = './bin'), /"\."/);
  refuses('entries[0].path', (ix) => (entry(ix, 0).path = 'a//b'), /empty/);
  refuses('entries[0].path', (ix) => (entry(ix, 0).path = 'a/'), /empty/);
  refuses('entries[0].path', (ix) => (entry(ix, 0).path = ''), /empty/);
  refuses('entries[0].path', (ix) => (entry(ix, 0).path = 'a\0'), /NUL/);
  refuses('entries[0].path', (ix) => (entry(ix, 0).path = 'a\ud800'), /UTF-8/);
  refuses('entries[0].path', (ix) => (entry(ix, 0).path = 'x'.repeat(300)), /255/);
  refuses('entries[0].path', (ix) => (entry(ix, 0).path = Array(1000).fill('abcd').join('/')), /4096/);
  refuses('entries[0].path', (ix) => (entry(ix, 0).path = 'a/.wh.b'), /whiteout/);
  refuses('whiteouts[0]', (ix) => (ix.whiteouts[0] = '../etc'));
  refuses('opaque[0]', (ix) => (ix.opaque[0] = '/bin'));
});

test('order and uniqueness', () => {
  refuses('entries[1]', (ix) => (entry(ix, 1).path = 'bin'), /duplicate/);
  refuses('entries[2]', (ix) => ix.entries.splice(1, 2, entry(ix, 2), entry(ix, 1)), /not sorted/);
  refuses('whiteouts[1]', (ix) => (ix.whiteouts = ['b', 'a']), /not sorted/);
  refuses('whiteouts[1]', (ix) => (ix.whiteouts = ['a', 'a']), /duplicate/);
});

test('entries are consistent with their type', () => {
  refuses('entries[1].chunks', (ix) => (entry(ix, 1).size = 8), /add up to 7, not size 8/);
  refuses('entries[1].chunks', (ix) => delete entry(ix, 1).chunks, /needs a chunk list/);
  refuses('entries[1].chunks[0].size', (ix) => (entry(ix, 1).chunks![0]!.size = 0));
  refuses('entries[1].chunks[0].size', (ix) => (entry(ix, 1).chunks![0]!.size = 2 ** 40));
  refuses('entries[1].chunks[0].digest', (ix) => (entry(ix, 1).chunks![0]!.digest = 'x'));
  refuses('entries[1].target', (ix) => (entry(ix, 1).target = 'x'));
  refuses('entries[0].chunks', (ix) => (entry(ix, 0).chunks = []), /a dir has no chunks/);
  refuses('entries[0].size', (ix) => (entry(ix, 0).size = 1));
  refuses('entries[3].target', (ix) => delete entry(ix, 3).target);
  refuses('entries[3].target', (ix) => (entry(ix, 3).target = ''));
  refuses('entries[3].target', (ix) => (entry(ix, 3).target = 'a\0'), /NUL/);
  refuses('entries[3].chunks', (ix) => (entry(ix, 3).chunks = []));
  refuses('entries[0].mode', (ix) => (entry(ix, 0).mode = 0o4755));
  refuses('entries[0].type', (ix) => ((entry(ix, 0) as { type: string }).type = 'fifo'));
  refuses('entries[1].size', (ix) => (entry(ix, 1).size = 2 ** 53));
  refuses(
    'entries[0]',
    (ix) => ((entry(ix, 0) as unknown as Record<string, unknown>).mtime = 0),
    /unknown field "mtime"/,
  );
});

test('nothing lives under a file or a symlink, and opaque names a directory', () => {
  refuses(
    'entries[4].path',
    (ix) => ix.entries.splice(4, 0, { path: 'bin/link/x', type: 'dir', mode: 0o755, size: 0 }),
    /parent "bin\/link" is a symlink/,
  );
  refuses('opaque[0]', (ix) => (ix.opaque = ['bin/app.wasm']), /not a directory/);
  refuses('opaque[0]', (ix) => (ix.opaque = ['nowhere']), /not a directory/);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { LayerFileSystem, type ChunkSource, type LayerContent, type LayerFileEntry } from './layer.js';
import { MemoryFileSystem } from './memfs.js';
import { UnionFileSystem } from './union.js';
import { readText, type TreeSpec } from './populate.js';
import { runFileSystemContract, runReadOnlyContract } from './fs.case.test.js';

/** Builds a layer from a tree literal, cutting files into tiny chunks so reads cross chunk boundaries. */
function layerOf(
  tree: TreeSpec,
  chunkSize = 3,
): { content: LayerContent; source: ChunkSource & { reads: number } } {
  const store = new Map<string, Uint8Array>();
  const entries: LayerFileEntry[] = [];
  const walk = (t: TreeSpec, at: string) => {
    for (const [name, spec] of Object.entries(t)) {
      const path = at ? `${at}/${name}` : name;
      if (typeof spec === 'string' || spec instanceof Uint8Array) {
        const data = typeof spec === 'string' ? new TextEncoder().encode(spec) : spec;
        const chunks = [];
        for (let i = 0; i < data.length; i += chunkSize) {
          const part = data.subarray(i, i + chunkSize);
          const digest = 'sha256:' + createHash('sha256').update(part).digest('hex');
          store.set(digest, part);
          chunks.push({ digest, size: part.length });
        }
        entries.push({ path, type: 'file', mode: 0o644, size: data.length, chunks });
      } else if (typeof spec.symlink === 'string') {
        entries.push({ path, type: 'symlink', mode: 0o777, size: 0, target: spec.symlink });
      } else {
        entries.push({ path, type: 'dir', mode: 0o755, size: 0 });
        walk(spec as TreeSpec, path);
      }
    }
  };
  walk(tree, '');
  entries.sort((a, b) => (a.path < b.path ? -1 : 1));
  const source = {
    reads: 0,
    read(digest: string) {
      this.reads++;
      const b = store.get(digest);
      if (!b) throw new Error(`missing chunk ${digest}`);
      return b;
    },
  };
  return { content: { entries, whiteouts: [], opaque: [] }, source };
}

runReadOnlyContract('LayerFileSystem', (tree) => {
  const { content, source } = layerOf(tree ?? {});
  return { fs: new LayerFileSystem(content, source), seeded: true };
});

runFileSystemContract('UnionFileSystem over a package layer', (tree) => {
  const { content, source } = layerOf(tree ?? {});
  return {
    fs: new UnionFileSystem([new LayerFileSystem(content, source)], new MemoryFileSystem()),
    seeded: true,
  };
});

test('a layer reads across chunk boundaries and fetches only the chunks it needs', () => {
  const text = 'abcdefghijklmnopqrstuvwxyz';
  const { content, source } = layerOf({ big: text, other: 'x'.repeat(30) }, 4);
  const fs = new LayerFileSystem(content, source);
  const h = fs.open('big', { read: true, write: false });
  const buf = new Uint8Array(7);
  assert.equal(h.read(buf, 6), 7);
  assert.equal(new TextDecoder().decode(buf), 'ghijklm');
  assert.equal(source.reads, 3, 'bytes 6..12 lie in the 4-byte chunks at 4, 8 and 12');
  assert.equal(h.read(new Uint8Array(10), 26), 0, 'EOF');
  assert.equal(readText(fs, 'big'), text);
});

test('whiteouts and opaque directories in a layer hide what is below it', () => {
  const bottom = layerOf({ a: 'A', d: { x: 'X', y: 'Y' }, keep: 'K' });
  const top = layerOf({ d: { z: 'Z' } });
  top.content.whiteouts.push('a');
  top.content.opaque.push('d');
  const view = new UnionFileSystem(
    [new LayerFileSystem(top.content, top.source), new LayerFileSystem(bottom.content, bottom.source)],
    new MemoryFileSystem(),
  );
  assert.equal(view.kind('a'), null);
  assert.deepEqual(
    view.readdir('d').map((e) => e.name),
    ['z'],
  );
  assert.deepEqual(
    view.readdir('').map((e) => e.name),
    ['d', 'keep'],
  );
  assert.equal(readText(view, 'keep'), 'K');
});

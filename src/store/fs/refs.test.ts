import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expectStoreError } from '../store.case.test.js';
import { FsRefStore } from './refs.js';
import { finished, moduleUrl, printed, spawnModule, tempStoreDir } from './testing.js';

const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;
const C = `sha256:${'c'.repeat(64)}`;

function withRefs(body: (refs: FsRefStore, root: string) => void | Promise<void>): () => Promise<void> {
  return async () => {
    const dir = tempStoreDir();
    try {
      await body(new FsRefStore(dir.root), dir.root);
    } finally {
      dir.cleanup();
    }
  };
}

test(
  'set, get, overwrite and delete a ref',
  withRefs((refs, root) => {
    assert.equal(refs.getRef('sqlite', '3.45.0'), null);
    refs.setRef('sqlite', '3.45.0', A);
    assert.equal(refs.getRef('sqlite', '3.45.0'), A);
    assert.equal(readFileSync(join(root, 'refs', 'sqlite', '3.45.0'), 'utf8'), `${A}\n`);
    refs.setRef('sqlite', '3.45.0', B);
    assert.equal(refs.getRef('sqlite', '3.45.0'), B);
    assert.equal(refs.deleteRef('sqlite', '3.45.0'), true);
    assert.equal(refs.deleteRef('sqlite', '3.45.0'), false);
    assert.equal(refs.getRef('sqlite', '3.45.0'), null);
    assert.deepEqual(readdirSync(join(root, 'tmp')), []);
  }),
);

test(
  'versions sort by semver, listRefs by name then version',
  withRefs((refs) => {
    for (const v of [
      '1.10.0',
      '1.9.0',
      '1.0.0',
      '2.0.0-rc.1',
      '2.0.0-rc.10',
      '2.0.0-rc.2',
      '2.0.0',
      '1.0.0+b2',
    ]) {
      refs.setRef('yosys', v, A);
    }
    refs.setRef('flite', '0.1.1', B);
    assert.deepEqual(refs.versions('yosys'), [
      '1.0.0',
      '1.0.0+b2',
      '1.9.0',
      '1.10.0',
      '2.0.0-rc.1',
      '2.0.0-rc.2',
      '2.0.0-rc.10',
      '2.0.0',
    ]);
    assert.deepEqual(refs.versions('nothing'), []);
    const listed = refs.listRefs().map((r) => `${r.name}@${r.version}`);
    assert.deepEqual(listed.slice(0, 3), ['flite@0.1.1', 'yosys@1.0.0', 'yosys@1.0.0+b2']);
    assert.equal(listed.length, 9);
  }),
);

test(
  'resolve picks the highest match',
  withRefs((refs) => {
    refs.setRef('app', '1.2.0', A);
    refs.setRef('app', '1.10.3', B);
    refs.setRef('app', '2.0.0', C);
    refs.setRef('app', '3.0.0-beta.1', A);
    assert.deepEqual(refs.resolve('app'), { name: 'app', version: '2.0.0', digest: C });
    assert.equal(refs.resolve('app', 'latest')?.version, '2.0.0');
    assert.equal(refs.resolve('app', '^1.2.0')?.version, '1.10.3');
    assert.equal(refs.resolve('app', '~1.2')?.version, '1.2.0');
    assert.equal(refs.resolve('app', '1.x')?.version, '1.10.3');
    assert.equal(refs.resolve('app', '>=1 <2')?.version, '1.10.3');
    assert.equal(refs.resolve('app', '1.2.0')?.digest, A);
    assert.equal(refs.resolve('app', '1.2.1'), null);
    assert.equal(refs.resolve('app', '>=4'), null);
    // Pre-releases: only by name, or when the range asks for them.
    assert.equal(refs.resolve('app', '*')?.version, '2.0.0');
    assert.equal(refs.resolve('app', '3.0.0-beta.1')?.version, '3.0.0-beta.1');
    assert.equal(refs.resolve('app', '>=3.0.0-beta.0')?.version, '3.0.0-beta.1');
    assert.equal(refs.resolve('missing'), null);
    expectStoreError(() => refs.resolve('app', 'not a range!'), 'BAD_REF');
  }),
);

test(
  'with only pre-releases, no range gives the highest pre-release',
  withRefs((refs) => {
    refs.setRef('edge', '0.1.0-alpha.1', A);
    refs.setRef('edge', '0.1.0-alpha.2', B);
    assert.equal(refs.resolve('edge')?.version, '0.1.0-alpha.2');
  }),
);

test(
  'hostile names and versions are refused before they become paths',
  withRefs((refs, root) => {
    for (const name of ['../x', '..', '.hidden', 'a/b', 'UPPER', '', 'a'.repeat(65), 'a\0b', '-dash']) {
      expectStoreError(() => refs.setRef(name, '1.0.0', A), 'BAD_REF');
      expectStoreError(() => refs.getRef(name, '1.0.0'), 'BAD_REF');
      expectStoreError(() => refs.versions(name), 'BAD_REF');
    }
    for (const version of [
      '../../x',
      '1.0.0/../../x',
      'v1.0.0',
      ' 1.0.0',
      '1.0',
      '01.0.0',
      '',
      'latest',
      '1.0.0\0',
    ]) {
      expectStoreError(() => refs.setRef('app', version, A), 'BAD_REF');
      expectStoreError(() => refs.deleteRef('app', version), 'BAD_REF');
    }
    expectStoreError(() => refs.setRef('app', '1.0.0', 'sha256:../../x'), 'BAD_DIGEST');
    assert.equal(existsSync(join(root, 'refs')), false);
    assert.equal(existsSync(join(root, '..', 'x')), false);
  }),
);

test(
  'a damaged ref file is CORRUPT on get and skipped by listRefs',
  withRefs((refs, root) => {
    refs.setRef('app', '1.0.0', A);
    mkdirSync(join(root, 'refs', 'app'), { recursive: true });
    writeFileSync(join(root, 'refs', 'app', '2.0.0'), 'sha256:garbage');
    writeFileSync(join(root, 'refs', 'app', 'notes.txt'), A);
    expectStoreError(() => refs.getRef('app', '2.0.0'), 'CORRUPT');
    assert.deepEqual(refs.listRefs(), [{ name: 'app', version: '1.0.0', digest: A }]);
    assert.deepEqual(refs.versions('app'), ['1.0.0', '2.0.0']);
  }),
);

test(
  'a reader racing a writer only ever sees a whole digest',
  withRefs(async (refs, root) => {
    refs.setRef('app', '1.0.0', A);
    const child = spawnModule(`
      import { FsRefStore } from ${JSON.stringify(moduleUrl('refs.js'))};
      const refs = new FsRefStore(${JSON.stringify(root)});
      console.log('ready');
      for (let i = 0; i < 400; i++) refs.setRef('app', '1.0.0', i % 2 ? ${JSON.stringify(A)} : ${JSON.stringify(B)});`);
    const done = finished(child);
    await printed(child, 'ready');
    const seen = new Set<string | null>();
    let reads = 0;
    while (child.exitCode === null && reads < 200_000) {
      seen.add(refs.getRef('app', '1.0.0'));
      reads++;
      if (reads % 500 === 0) await new Promise((r) => setImmediate(r));
    }
    const r = await done;
    assert.equal(r.code, 0, r.stderr);
    assert.ok(
      [...seen].every((d) => d === A || d === B),
      `saw ${[...seen].join(', ')}`,
    );
    assert.deepEqual(readdirSync(join(root, 'tmp')), []);
  }),
);

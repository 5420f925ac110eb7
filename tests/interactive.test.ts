import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cliPath, tempDir, wasm } from './helpers.js';
import { Terminal } from './terminal.js';

test('the SQLite shell is interactive on a terminal: prompt, answers line by line, Ctrl-D ends it', async () => {
  const t = tempDir();
  const term = new Terminal(
    `${process.execPath} ${cliPath} run --dir ${t.path}::/data ${wasm('sqlite3')} -- /data/i.db`,
  );
  try {
    const prompts = (n: number) => new RegExp(`(sqlite>[^]*){${n}}`);
    await term.waitFor(prompts(1));
    // Each line is typed only once the prompt for it is shown, as a person would.
    term.type('create table x(a);');
    await term.waitFor(prompts(2));
    term.type('insert into x values (7),(8);');
    await term.waitFor(prompts(3));
    term.type('select sum(a) as total from x;');
    const s = await term.waitFor(/15/);
    assert.match(s, /^sqlite> select sum\(a\) as total from x;$/m);
    await term.waitFor(prompts(4));
    term.type('select 6*7;');
    await term.waitFor(/42/);
    term.key('C-d');
    await term.waitFor(/\[exit 0\]/);
  } finally {
    term.close();
    t.cleanup();
  }
});

test('Ctrl-C stops an interactive app with exit 130', async () => {
  const t = tempDir();
  const term = new Terminal(
    `${process.execPath} ${cliPath} run --dir ${t.path}::/data ${wasm('sqlite3')} -- /data/i.db`,
  );
  try {
    await term.waitFor(/^sqlite>/m);
    term.key('C-c');
    await term.waitFor(/\[exit 130\]/);
  } finally {
    term.close();
    t.cleanup();
  }
});

test('isatty is true on a terminal and false on a pipe', async () => {
  const term = new Terminal(`${process.execPath} ${cliPath} run ${wasm('cat')} -- -v`);
  try {
    const s = await term.waitFor(/isatty\(0\)\s*[=:]\s*1/);
    assert.match(s, /isatty\(1\)\s*[=:]\s*1/);
    term.type('hello');
    await term.waitFor(/hello\n(.|\n)*hello|hello\s*\n\s*hello/);
    term.key('C-d');
    await term.waitFor(/\[exit 0\]/);
  } finally {
    term.close();
  }
});

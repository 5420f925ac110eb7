import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cliPath, tempDir, wasm } from './helpers.js';

/** A terminal driven by tmux: the app sees a real tty, as a person's shell would give it. */
class Terminal {
  private readonly socket = `capsule-test-${process.pid}-${Math.random().toString(36).slice(2)}`;
  constructor(command: string) {
    this.tmux(
      'new-session',
      '-d',
      '-s',
      'app',
      '-x',
      '100',
      '-y',
      '40',
      `${command}; echo "[exit $?]"; sleep 30`,
    );
  }
  private tmux(...args: string[]): string {
    // CI runs without a terminal; tmux only needs TERM to describe the one it emulates.
    return execFileSync('tmux', ['-L', this.socket, ...args], {
      encoding: 'utf8',
      env: { ...process.env, TERM: process.env.TERM || 'xterm-256color' },
    });
  }
  /** Types a line; tmux would take a trailing ";" for its own command separator, so it is escaped. */
  type(line: string): void {
    this.tmux('send-keys', '-t', 'app', '-l', line.replace(/;$/, '\\;'));
    this.tmux('send-keys', '-t', 'app', 'Enter');
  }
  key(k: string): void {
    this.tmux('send-keys', '-t', 'app', k);
  }
  screen(): string {
    return this.tmux('capture-pane', '-t', 'app', '-p');
  }
  async waitFor(pattern: RegExp, ms = 15_000): Promise<string> {
    const end = Date.now() + ms;
    for (;;) {
      const s = this.screen();
      if (pattern.test(s)) return s;
      if (Date.now() > end) throw new Error(`timed out waiting for ${pattern}; screen:\n${s}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  close(): void {
    try {
      this.tmux('kill-server');
    } catch {
      // already gone
    }
  }
}

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

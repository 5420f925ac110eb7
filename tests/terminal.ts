/** Test support: an app in a real terminal (tmux), driven as a person at a keyboard would. */
import { execFileSync } from 'node:child_process';

/** A terminal driven by tmux: the app sees a real tty, as a person's shell would give it. */
export class Terminal {
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
  /** Sends text as keystrokes, without Enter. */
  keys(text: string): void {
    this.tmux('send-keys', '-t', 'app', '-l', text);
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

/** A `capsule serve` with users, packages and grants for the cloud tests, and a terminal client that collects output. */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { TerminalConnection, type TerminalTarget } from '../src/delivery/remote/terminal.js';
import { wasm } from './helpers.js';
import { api, clientHome, startServe, type ServerProcess } from './server-helpers.js';

export const ADMIN = 'admin-token-for-cloud-tests-0123456789';

/** Apps: sqlite (the SQLite shell), and the guest test programs cat, spin and hog. */
const APPS: [string, string][] = [
  ['sqlite', 'sqlite3'],
  ['cat', 'cat'],
  ['spin', 'spin'],
  ['hog', 'hog'],
];

export interface CloudServer {
  server: ServerProcess;
  url: string;
  tokens: Record<'ann' | 'bob' | 'cy', string>;
  admin: ReturnType<typeof clientHome>;
  stop(): Promise<void>;
}

/**
 * A server with three users: ann (sqlite, cat, spin, hog), bob (cat only) and
 * cy (sqlite, cat); the apps are published by pub, unsigned (--allow-unsigned).
 */
export async function cloudServer(dir: string, args: string[] = []): Promise<CloudServer> {
  const server = await startServe(join(dir, 'data'), ['--allow-unsigned', ...args], {
    CAPSULE_ADMIN_TOKEN: ADMIN,
  });
  const { url } = server;
  const addUser = async (name: string, role = 'user') => {
    const r = await api(url, 'POST', '/admin/users', ADMIN, { name, role });
    assert.equal(r.status, 201, JSON.stringify(r.json));
    return r.json.token as string;
  };
  const pubToken = await addUser('pub', 'publisher');
  const tokens = { ann: await addUser('ann'), bob: await addUser('bob'), cy: await addUser('cy') };
  const pub = clientHome(join(dir, 'pub'), pubToken);
  for (const [app, program] of APPS) {
    const tree = join(dir, 'trees', app);
    mkdirSync(join(tree, 'bin'), { recursive: true });
    cpSync(wasm(program), join(tree, 'bin', `${program}.wasm`));
    const packed = await pub.run([
      'pack',
      tree,
      '--name',
      app,
      '--version',
      '1.0.0',
      '--entry',
      `/bin/${program}.wasm`,
      '--env',
      'HOME=/',
    ]);
    assert.equal(packed.code, 0, packed.stderr);
    const pushed = await pub.run(['push', `${app}@1.0.0`, '--server', url]);
    assert.equal(pushed.code, 0, pushed.stderr);
  }
  const grants: [string, string][] = [
    ['sqlite', 'ann'],
    ['cat', 'ann'],
    ['spin', 'ann'],
    ['hog', 'ann'],
    ['cat', 'bob'],
    ['sqlite', 'cy'],
    ['cat', 'cy'],
  ];
  for (const [app, user] of grants) {
    const r = await api(url, 'POST', '/admin/grants', ADMIN, { app, user });
    assert.equal(r.status, 201, JSON.stringify(r.json));
  }
  return {
    server,
    url,
    tokens,
    admin: clientHome(join(dir, 'admin'), ADMIN),
    stop: async () => {
      const code = await server.stop();
      assert.equal(code, 0, 'capsule serve stops cleanly with sessions running');
    },
  };
}

/** A terminal client that keeps what it receives, for waiting on it. */
export class Term {
  out = '';
  err = '';
  conn!: TerminalConnection;

  static async open(url: string, token: string | null, target: TerminalTarget): Promise<Term> {
    const term = new Term();
    await term.attach(url, token, target);
    return term;
  }

  /** Opens a connection whose output adds to this one's (a first attach, or a reattach). */
  async attach(url: string, token: string | null, target: TerminalTarget): Promise<void> {
    this.conn = await TerminalConnection.open(url, token, target, {
      output: (fd, bytes) => {
        if (fd === 1) this.out += bytes.toString('utf8');
        else this.err += bytes.toString('utf8');
      },
    });
  }

  get id(): string {
    return this.conn.hello!.id;
  }

  send(text: string): void {
    this.conn.stdin(Buffer.from(text));
  }

  /** Waits until the output matches (or the socket closes first, which fails with what was seen). */
  async waitFor(re: RegExp, what: 'out' | 'err' = 'out'): Promise<string> {
    let closed = false;
    void this.conn.closed.then(() => (closed = true));
    const deadline = Date.now() + 60_000;
    for (;;) {
      const text = this[what];
      if (re.test(text)) return text;
      if (closed) {
        await new Promise((r) => setTimeout(r, 50));
        if (re.test(this[what])) return this[what];
        throw new Error(`the terminal closed before ${re}; ${what}: ${JSON.stringify(this[what])}`);
      }
      if (Date.now() > deadline) throw new Error(`no ${re} in ${JSON.stringify(text)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

export interface SessionRecord {
  id: string;
  user: string;
  app: string;
  state: string;
  attached: boolean;
  exit: { code: number; reason: string; message: string } | null;
}

export async function sessionsOf(url: string, token: string, admin = false): Promise<SessionRecord[]> {
  const r = await api(url, 'GET', admin ? '/admin/sessions' : '/sessions', token);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return r.json.sessions as SessionRecord[];
}

/** Polls the session list until `pred` holds for session `id` (or it is gone, when `gone`). */
export async function waitSession(
  url: string,
  token: string,
  id: string,
  pred: (s: SessionRecord | undefined) => boolean,
): Promise<SessionRecord | undefined> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const s = (await sessionsOf(url, token)).find((x) => x.id === id);
    if (pred(s)) return s;
    if (Date.now() > deadline) throw new Error(`session ${id} never got there: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

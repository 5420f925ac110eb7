/**
 * Cloud sessions end to end: a real `capsule serve`, the real CLI
 * (`capsule run --cloud`, `state push|pull`, `sessions`, `admin`), and real
 * WebSocket clients (the `ws` package) for what the CLI never sends.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { join } from 'node:path';
import WebSocket from 'ws';
import { RemoteError } from '../src/delivery/remote/client.js';
import { SUBPROTOCOL, TerminalConnection } from '../src/delivery/remote/terminal.js';
import { cliPath, tempDir } from './helpers.js';
import { api, clientHome } from './server-helpers.js';
import { ADMIN, Term, cloudServer, sessionsOf, waitSession, type CloudServer } from './cloud-helpers.js';
import { Terminal } from './terminal.js';

let t: ReturnType<typeof tempDir>;
let s: CloudServer;

before(async () => {
  t = tempDir('capsule-cloud-');
  s = await cloudServer(join(t.path, 'main'));
});

after(async () => {
  await s?.stop();
  t?.cleanup();
});

const home = (name: 'ann' | 'bob' | 'cy') => clientHome(join(t.path, name), s.tokens[name]);

/** A raw WebSocket on /terminal (for what TerminalConnection never sends), open once the session message came. */
async function rawSession(token: string, query: string): Promise<{ ws: WebSocket; id: string }> {
  const ws = new WebSocket(`${s.url.replace(/^http/, 'ws')}/terminal?${query}`, SUBPROTOCOL, {
    headers: { authorization: `Bearer ${token}` },
  });
  const [first] = (await once(ws, 'message')) as [Buffer];
  const hello = JSON.parse(first.toString('utf8')) as { type: string; id: string };
  assert.equal(hello.type, 'session');
  return { ws, id: hello.id };
}

async function closeOf(ws: WebSocket): Promise<{ code: number; reason: string }> {
  const [code, reason] = (await once(ws, 'close')) as [number, Buffer];
  return { code, reason: reason.toString('utf8') };
}

async function refusal(token: string | null, target: Parameters<typeof TerminalConnection.open>[2]) {
  try {
    const c = await TerminalConnection.open(s.url, token, target);
    c.close();
  } catch (e) {
    assert.ok(e instanceof RemoteError, String(e));
    return e;
  }
  assert.fail('the upgrade was accepted');
}

test('run --cloud: SQL piped into the SQLite shell on the server, its answer and exit code come back', async () => {
  const ann = home('ann');
  const r = await ann.run(['run', '--cloud', `${s.url}/sqlite`, '--', ':memory:'], {
    input: "select 6*7;\nselect upper('cloud');\n",
  });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '42\nCLOUD\n');

  const failing = await ann.run(['run', '--cloud', `${s.url}/sqlite@1.0.0`, '--', ':memory:'], {
    input: '.exit 7\n',
  });
  assert.equal(failing.code, 7, 'the app exit code is capsule exit code');

  // The version is chosen as for a streamed run: channels, and --channel.
  const promoted = await api(s.url, 'POST', '/admin/apps/sqlite/channels/beta', ADMIN, { version: '1.0.0' });
  assert.equal(promoted.status, 200, JSON.stringify(promoted.json));
  const beta = await ann.run(['run', '--cloud', '--channel', 'beta', `${s.url}/sqlite`, '--', ':memory:'], {
    input: 'select 1;\n',
  });
  assert.equal(beta.stdout, '1\n', beta.stderr);
  const noChannel = await ann.run(['run', '--cloud', `${s.url}/sqlite@nightly`], { input: '' });
  assert.equal(noChannel.code, 125);
  // Each session is a launch in the usage report, mode "cloud".
  const usage = await api(s.url, 'GET', '/admin/usage?app=sqlite', ADMIN);
  const row = (usage.json.usage as { user: string; mode: string; launches: number }[]).find(
    (u) => u.user === 'ann' && u.mode === 'cloud',
  );
  assert.equal(row?.launches, 3);

  // Errors the user can act on, as exit codes.
  const anon = clientHome(join(t.path, 'anon'));
  const unauth = await anon.run(['run', '--cloud', `${s.url}/sqlite`, '--', ':memory:'], { input: '' });
  assert.equal(unauth.code, 125);
  assert.match(unauth.stderr, /token/);
  const unentitled = await home('bob').run(['run', '--cloud', `${s.url}/sqlite`], { input: '' });
  assert.equal(unentitled.code, 125);
  assert.match(unentitled.stderr, /not entitled/);
  const missing = await clientHome(join(t.path, 'admin2'), ADMIN).run(['run', '--cloud', `${s.url}/nope`], {
    input: '',
  });
  assert.equal(missing.code, 127, missing.stderr);
  const local = await ann.run(['run', '--cloud', '--dir', '/tmp', `${s.url}/sqlite`], { input: '' });
  assert.equal(local.code, 125);
  assert.match(local.stderr, /--dir does not apply to a cloud session/);
});

test('state moves between local runs and cloud sessions: export format both ways (push, pull)', async () => {
  const ann = home('ann');
  const pulled = await ann.run(['pull', `${s.url}/sqlite@1.0.0`, '--allow-unsigned']);
  assert.equal(pulled.code, 0, pulled.stderr);
  const made = await ann.run([
    'run',
    'sqlite',
    '--',
    '/notes.db',
    "create table n(t); insert into n values ('made locally');",
  ]);
  assert.equal(made.code, 0, made.stderr);
  const push = await ann.run(['state', 'push', 'sqlite', '--server', s.url]);
  assert.equal(push.code, 0, push.stderr);
  assert.match(push.stdout, /pushed \d+ entries/);

  // The cloud session sees the database made locally, and adds to it.
  const cloud = await ann.run(['run', '--cloud', `${s.url}/sqlite`, '--', '/notes.db'], {
    input: "select t from n;\ninsert into n values ('made in the cloud');\n",
  });
  assert.equal(cloud.code, 0, cloud.stderr);
  assert.equal(cloud.stdout, 'made locally\n');

  const pull = await ann.run(['state', 'pull', 'sqlite', '--server', s.url]);
  assert.equal(pull.code, 0, pull.stderr);
  const after = await ann.run(['run', 'sqlite', '--', '/notes.db', 'select t from n order by rowid;']);
  assert.equal(after.code, 0, after.stderr);
  assert.equal(after.stdout, 'made locally\nmade in the cloud\n');

  // The server's copy is ann's alone: cy, entitled to the same app, has her own (empty) state.
  const cyList = await api(s.url, 'GET', '/state', s.tokens.cy);
  assert.deepEqual(cyList.json.state, []);
  const annList = await api(s.url, 'GET', '/state', s.tokens.ann);
  assert.deepEqual(
    (annList.json.state as { app: string }[]).map((x) => x.app),
    ['sqlite'],
  );
  const cyRun = await home('cy').run(['run', '--cloud', `${s.url}/sqlite`, '--', '/notes.db'], {
    input: 'select count(*) from sqlite_master;\n',
  });
  assert.equal(cyRun.stdout, '0\n', 'cy does not see ann’s database');
  // bob is not entitled to sqlite: its state is the same 403 as anything else hidden.
  assert.equal((await api(s.url, 'GET', '/state/sqlite', s.tokens.bob)).status, 403);
  assert.equal((await api(s.url, 'PUT', '/state/sqlite', s.tokens.bob, new Uint8Array(8))).status, 403);

  // A bad archive is refused whole, and the state stays as it was.
  const bad = await api(s.url, 'PUT', '/state/sqlite', s.tokens.ann, Buffer.from('CAPSTAT1 but not really'));
  assert.equal(bad.status, 422);
  assert.equal(bad.json.error, 'bad_archive');
  const still = await ann.run(['run', '--cloud', `${s.url}/sqlite`, '--', '/notes.db'], {
    input: 'select count(*) from n;\n',
  });
  assert.equal(still.stdout, '2\n');
});

test('a session survives its client: reattach by id replays the buffered output, from where the client stopped', async () => {
  const term = await Term.open(s.url, s.tokens.ann, { app: 'cat' });
  const id = term.id;
  term.send('one\n');
  await term.waitFor(/^one\n$/);
  term.conn.close();
  await term.conn.closed;
  await waitSession(s.url, s.tokens.ann, id, (x) => x?.attached === false);

  // Everything again from the start ...
  const again = await Term.open(s.url, s.tokens.ann, { session: id });
  assert.deepEqual(again.conn.hello!.replay, { from: 0, to: 4, lost: 0 });
  await again.waitFor(/^one\n$/);
  again.send('two\n');
  await again.waitFor(/^one\ntwo\n$/);
  const seen = again.conn.received;
  assert.equal(seen, 8);

  // ... or only what came after what the client saw. A second client takes the session over.
  const third = await Term.open(s.url, s.tokens.ann, { session: id, since: seen });
  assert.equal((await again.conn.closed).code, 4001, 'the first client is told another attached');
  third.send('three\n');
  await third.waitFor(/^three\n$/);

  // The CLI reattaches too: `capsule run --cloud --session ID URL`.
  third.conn.close();
  await third.conn.closed;
  const cli = await home('ann').run(['run', '--cloud', '--session', id, s.url], { input: 'four\n' });
  assert.equal(cli.code, 0, cli.stderr);
  assert.equal(cli.stdout, 'one\ntwo\nthree\nfour\n');
  await waitSession(s.url, s.tokens.ann, id, (x) => x === undefined || x.state === 'ended');
});

test('nobody attaches to, lists, ends or reads another user’s session; admins list and end them, audited', async () => {
  const annTerm = await Term.open(s.url, s.tokens.ann, { app: 'cat' });
  const id = annTerm.id;
  annTerm.send('private\n');
  await annTerm.waitFor(/private/);

  // bob: not his to attach to, see, or end — the same 403 as a session that does not exist.
  const other = await refusal(s.tokens.bob, { session: id });
  assert.equal(other.status, 403);
  const none = await refusal(s.tokens.bob, { session: 's_AAAAAAAAAAAAAAAAAAAAAA' });
  assert.equal(none.status, 403);
  assert.equal(none.message.replace(/^.*?: /, ''), other.message.replace(/^.*?: /, ''));
  assert.ok(!(await sessionsOf(s.url, s.tokens.bob)).some((x) => x.id === id));
  assert.equal((await api(s.url, 'POST', `/sessions/${id}/end`, s.tokens.bob)).status, 403);
  assert.equal((await api(s.url, 'GET', '/admin/sessions', s.tokens.bob)).status, 403);
  const bobCli = await home('bob').run(['sessions', '--server', s.url, '--json']);
  assert.equal(bobCli.code, 0, bobCli.stderr);
  assert.ok(!bobCli.stdout.includes(id));
  // An admin may list and end sessions, never attach to someone else's.
  assert.equal((await refusal(ADMIN, { session: id })).status, 403);
  assert.equal((await refusal(ADMIN, { session: 's_AAAAAAAAAAAAAAAAAAAAAA' })).status, 404);

  const annCli = await home('ann').run(['sessions', '--server', s.url]);
  assert.match(annCli.stdout, new RegExp(`${id}\\s+cat@1.0.0\\s+running\\s+yes`));
  const listed = await s.admin.run(['admin', 'sessions', '--server', s.url]);
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, new RegExp(`${id}\\s+ann\\s+cat@1.0.0\\s+running`));

  const ended = await s.admin.run(['admin', 'end-session', id, '--server', s.url]);
  assert.equal(ended.code, 0, ended.stderr);
  await annTerm.conn.closed;
  assert.equal(annTerm.conn.exit?.reason, 'ended');
  assert.equal(annTerm.conn.exit?.code, 143);
  assert.match(annTerm.conn.exit?.message ?? '', /administrator admin/);
  const audit = await s.admin.run(['admin', 'audit', '--server', s.url, '--json']);
  const entries = (JSON.parse(audit.stdout) as { entries: { action: string; detail: { id?: string } }[] })
    .entries;
  assert.ok(entries.some((e) => e.action === 'session.end' && e.detail.id === id));
  const unknown = await s.admin.run(['admin', 'end-session', 's_AAAAAAAAAAAAAAAAAAAAAA', '--server', s.url]);
  assert.equal(unknown.code, 127);
});

test('a terminal session: isatty is true, the server echoes and edits input, Ctrl-C ends it with 130', async () => {
  const term = await Term.open(s.url, s.tokens.ann, { app: 'cat', tty: true, cols: 120, rows: 40 });
  assert.equal(term.conn.hello?.tty, true);
  await term.waitFor(/^> $/); // cat prompts only when stdin is a terminal
  term.send('hellx\x7fo\r');
  // The echo (with the erase), then cat's copy of the edited line, with CRLF line ends.
  await term.waitFor(/hello\r\n> $/);
  assert.equal(term.out, '> hellx\b \bo\r\nhello\r\n> ');
  term.conn.resize(100, 30);
  await waitSession(s.url, s.tokens.ann, term.id, (x) => (x as { cols?: number } | undefined)?.cols === 100);
  term.send('\x03');
  await term.conn.closed;
  assert.equal(term.conn.exit?.reason, 'interrupt');
  assert.equal(term.conn.exit?.code, 130);
});

test('upgrade refusals: 401 without or with a wrong token, 403 unentitled or absent alike, 400 bad queries', async () => {
  assert.equal((await refusal(null, { app: 'cat' })).status, 401);
  assert.equal((await refusal('cap_wrong', { app: 'cat' })).status, 401);
  const hidden = await refusal(s.tokens.bob, { app: 'sqlite' });
  const absent = await refusal(s.tokens.bob, { app: 'nope' });
  assert.equal(hidden.status, 403);
  assert.equal(absent.status, 403);
  assert.equal(hidden.message.replace(/^.*?: /, ''), absent.message.replace(/^.*?: /, ''));
  assert.equal((await refusal(s.tokens.ann, { app: '../etc' })).status, 400);
  assert.equal((await refusal(s.tokens.ann, { app: 'cat', cols: 99999 })).status, 400);
  assert.equal((await refusal(s.tokens.ann, { session: 'not-an-id' })).status, 400);
  // A plain GET on a terminal endpoint says it is a WebSocket.
  assert.equal((await api(s.url, 'GET', '/terminal?app=cat', s.tokens.ann)).status, 426);
  // Another subprotocol is refused before the handshake.
  const ws = new WebSocket(`${s.url.replace(/^http/, 'ws')}/terminal?app=cat`, 'other.v9', {
    headers: { authorization: `Bearer ${s.tokens.ann}` },
  });
  const [, res] = (await once(ws, 'unexpected-response')) as [unknown, { statusCode: number }];
  assert.equal(res.statusCode, 400);
  ws.on('error', () => {});
  ws.terminate();
});

test('bad input ends only the offending session, with the reason in the close frame; others go on', async () => {
  const bystander = await Term.open(s.url, s.tokens.bob, { app: 'cat' });
  const bystanderStillWorks = async (word: string) => {
    bystander.send(`${word}\n`);
    await bystander.waitFor(new RegExp(`${word}\\n$`));
  };
  const cases: { name: string; attack: (ws: WebSocket) => void; code: number; reason: RegExp }[] = [
    {
      name: 'a flood of messages',
      attack: (ws) => {
        for (let i = 0; i < 20_000; i++) ws.send(Buffer.from([0, 0x61]));
      },
      code: 1008,
      reason: /more than 500 messages per second/,
    },
    {
      name: 'an oversized frame',
      attack: (ws) => ws.send(Buffer.alloc(1024 * 1024, 0)),
      code: 1009,
      reason: /^/,
    },
    { name: 'text that is not JSON', attack: (ws) => ws.send('hello'), code: 1008, reason: /JSON object/ },
    {
      name: 'an unknown message type',
      attack: (ws) => ws.send(JSON.stringify({ type: 'shell', cmd: 'rm -rf /' })),
      code: 1008,
      reason: /unknown message type/,
    },
    {
      name: 'a resize out of range',
      attack: (ws) => ws.send(JSON.stringify({ type: 'resize', cols: 0, rows: 1e9 })),
      code: 1008,
      reason: /resize/,
    },
    {
      name: 'output sent by the client',
      attack: (ws) => ws.send(Buffer.from([1, 0x61])),
      code: 1008,
      reason: /channel 0/,
    },
    {
      name: 'an empty binary message',
      attack: (ws) => ws.send(Buffer.alloc(0)),
      code: 1008,
      reason: /stdin/,
    },
    {
      name: 'text that is not UTF-8',
      attack: (ws) => ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false }),
      code: 1007,
      reason: /^/,
    },
  ];
  let n = 0;
  for (const c of cases) {
    const { ws, id } = await rawSession(s.tokens.ann, 'app=cat');
    c.attack(ws);
    const closed = await closeOf(ws);
    assert.equal(closed.code, c.code, `${c.name}: ${closed.reason}`);
    assert.match(closed.reason, c.reason, c.name);
    await waitSession(s.url, s.tokens.ann, id, (x) => x === undefined || x.state === 'ended');
    await bystanderStillWorks(`still-here-${n++}`);
  }
  bystander.conn.eof();
  await bystander.conn.closed;
  assert.equal(bystander.conn.exit?.code, 0);
});

test('interactive under tmux: raw terminal, the server echoes and edits lines, Ctrl-D ends it with 0', async () => {
  const annEnv = home('ann').env;
  const env = `CAPSULE_HOME=${annEnv.CAPSULE_HOME} CAPSULE_TOKEN=${annEnv.CAPSULE_TOKEN}`;
  const term = new Terminal(
    `env ${env} ${process.execPath} ${cliPath} run --cloud ${s.url}/sqlite -- :memory:`,
  );
  const waitFor = (re: RegExp) => term.waitFor(re, 60_000);
  const type = (line: string) => term.type(line);
  try {
    const prompts = (k: number) => new RegExp(`(sqlite>[^]*){${k}}`);
    await waitFor(prompts(1));
    type('create table x(a);');
    await waitFor(prompts(2));
    // A typo, fixed with Backspace: the line discipline on the server edits it.
    term.keys('insert into x values (40),(2)X');
    term.key('BSpace');
    type(';');
    await waitFor(prompts(3));
    type('select sum(a) as total from x;');
    const shown = await waitFor(/42/);
    assert.match(shown, /sqlite> insert into x values \(40\),\(2\);/);
    assert.match(shown, /sqlite> select sum\(a\) as total from x;/);
    await waitFor(prompts(4));
    term.key('C-d');
    await waitFor(/\[exit 0\]/);
  } finally {
    term.close();
  }
});

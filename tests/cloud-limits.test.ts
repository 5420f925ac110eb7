/**
 * Cloud session limits end to end, on servers started with small limits:
 * sessions per user and per host, CPU time, memory, wall time, and the idle
 * timeout of a detached session.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { RemoteError } from '../src/delivery/remote/client.js';
import { TerminalConnection } from '../src/delivery/remote/terminal.js';
import { exec, cliPath, tempDir } from './helpers.js';
import { api, clientHome } from './server-helpers.js';
import { Term, cloudServer, waitSession } from './cloud-helpers.js';

test('caps, CPU time, memory and the idle timeout, as `capsule serve` sets them', async () => {
  const t = tempDir('capsule-cloud-limits-');
  const s = await cloudServer(t.path, [
    '--sessions-per-user',
    '2',
    '--max-sessions',
    '3',
    '--session-cpu',
    '1',
    '--session-memory',
    '16',
    '--session-idle',
    '1',
    '--max-state-bytes',
    '1000',
  ]);
  const ann = clientHome(join(t.path, 'ann'), s.tokens.ann);
  try {
    // Per user: ann's third session is refused while two run; then bob fills the host.
    const a1 = await Term.open(s.url, s.tokens.ann, { app: 'cat' });
    const a2 = await Term.open(s.url, s.tokens.ann, { app: 'cat' });
    const third = await TerminalConnection.open(s.url, s.tokens.ann, { app: 'cat' }).catch((e: unknown) => e);
    assert.ok(third instanceof RemoteError);
    assert.equal(third.status, 429);
    assert.match(third.message, /you have 2 sessions running, the most one user may have/);
    const cli = await ann.run(['run', '--cloud', `${s.url}/cat`], { input: '' });
    assert.equal(cli.code, 125);
    assert.match(cli.stderr, /you have 2 sessions running/);
    const b1 = await Term.open(s.url, s.tokens.bob, { app: 'cat' });
    const full = await TerminalConnection.open(s.url, s.tokens.cy, { app: 'cat' }).catch((e: unknown) => e);
    assert.ok(full instanceof RemoteError);
    assert.equal(full.status, 503);
    assert.match(full.message, /maximum of 3 sessions/);
    for (const term of [a1, a2, b1]) {
      term.conn.eof();
      await term.conn.closed;
      assert.equal(term.conn.exit?.code, 0);
    }

    // CPU time: a loop is stopped after its second of CPU, exit 124.
    const spin = await ann.run(['run', '--cloud', `${s.url}/spin`], { input: '' });
    assert.equal(spin.code, 124, spin.stderr);
    assert.equal(spin.stdout, 'spinning\n');
    assert.match(spin.stderr, /more than 1s of CPU time/);

    // Memory: malloc fails inside the app at the limit, as on a smaller machine.
    const hog = await ann.run(['run', '--cloud', `${s.url}/hog`], { input: '' });
    assert.equal(hog.code, 3, hog.stderr);
    const mib = Number(/malloc failed at (\d+) MiB/.exec(hog.stdout)?.[1]);
    assert.ok(mib > 0 && mib < 16, hog.stdout);

    // A state archive over --max-state-bytes is refused before it is stored.
    const big = await api(s.url, 'PUT', '/state/cat', s.tokens.ann, new Uint8Array(4000));
    assert.equal(big.status, 413);
    assert.match(big.json.message as string, /at most 1000 bytes/);

    // Idle: a detached session is ended after --session-idle; its user can still read how it ended.
    const idle = await Term.open(s.url, s.tokens.ann, { app: 'cat' });
    idle.send('before\n');
    await idle.waitFor(/before/);
    const id = idle.id;
    idle.conn.close();
    const ended = await waitSession(s.url, s.tokens.ann, id, (x) => x?.state === 'ended');
    assert.equal(ended?.exit?.reason, 'idle');
    assert.equal(ended?.exit?.code, 143);
    const late = await Term.open(s.url, s.tokens.ann, { session: id });
    await late.conn.closed;
    assert.equal(late.out, 'before\n');
    assert.equal(late.conn.hello?.ended, true);
    assert.equal(late.conn.exit?.reason, 'idle');

    // A server that stops ends its sessions and tells their clients why.
    const term = await Term.open(s.url, s.tokens.ann, { app: 'cat' });
    assert.equal(await s.server.stop(), 0);
    await term.conn.closed;
    assert.equal(term.conn.exit?.reason, 'shutdown');
    assert.equal(term.conn.exit?.code, 143);
  } finally {
    await s.stop();
    t.cleanup();
  }
});

test('wall time: a session that outlives --session-wall is ended with 124', async () => {
  const t = tempDir('capsule-cloud-wall-');
  const s = await cloudServer(t.path, ['--session-wall', '1']);
  try {
    const env = { ...clientHome(join(t.path, 'ann'), s.tokens.ann).env };
    // stdin stays open: cat would wait for ever.
    const r = await exec(process.execPath, [cliPath, 'run', '--cloud', `${s.url}/cat`], {
      env,
      onSpawn: () => {},
    });
    assert.equal(r.code, 124, r.stderr);
    assert.match(r.stderr, /ran longer than 1s/);
  } finally {
    await s.stop();
    t.cleanup();
  }
});

/**
 * A server that accepts connections and never answers (a black hole) must not
 * hang the client: a GET with no byte for CAPSULE_STALL_TIMEOUT_MS counts as
 * a broken connection, and the command ends with a clear error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { tempDir } from './helpers.js';
import { clientHome } from './server-helpers.js';

test('a server that accepts and never answers ends the command with a clear error, not a hang', async () => {
  const t = tempDir();
  const sockets: Socket[] = [];
  const hole = createServer((s) => sockets.push(s)); // reads nothing, writes nothing
  await new Promise<void>((resolve) => hole.listen(0, '127.0.0.1', resolve));
  const port = (hole.address() as { port: number }).port;
  try {
    const user = clientHome(join(t.path, 'user'), 'some-token');
    const r = await user.run(['catalog', '--server', `http://127.0.0.1:${port}`], {
      env: { CAPSULE_STALL_TIMEOUT_MS: '300' },
      timeoutMs: 60_000,
    });
    assert.equal(r.code, 125, r.stderr);
    assert.match(r.stderr, /no answer for 0\.3 s/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    assert.ok(sockets.length >= 1, 'the client did connect');
  } finally {
    for (const s of sockets) s.destroy();
    hole.close();
    t.cleanup();
  }
});

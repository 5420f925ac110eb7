/**
 * Launch profiles in streamed runs: the chunks the profiled run read before
 * its first output are prefetched at once, those it read afterwards once the
 * entry is compiled, and chunks it never read are left on the server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { join } from 'node:path';
import { tempDir } from './helpers.js';
import { api, clientHome, packSqlite, sqliteTree, startServe } from './server-helpers.js';

const ADMIN = 'admin-token-for-profile-tests-012';

/** SQL that makes a file of several chunks, so each script has chunks of its own. */
function script(table: string, rows: number): string {
  const lines = [`create table ${table}(x, pad);`];
  for (let i = 0; i < rows; i++)
    lines.push(`insert into ${table} values (${i}, '${table}-${i}-${'x'.repeat(40)}');`);
  return lines.join('\n') + '\n';
}

test('a streamed run prefetches its launch profile, before- and after-output chunks, and nothing else', async () => {
  const t = tempDir();
  const server = await startServe(join(t.path, 'data'), ['--allow-unsigned'], { CAPSULE_ADMIN_TOKEN: ADMIN });
  let stopped = false;
  try {
    const { url } = server;
    const pub = clientHome(join(t.path, 'pub'), ADMIN);
    const tree = sqliteTree(join(t.path, 'tree'));
    mkdirSync(join(tree, 'share'));
    for (const name of ['a', 'b', 'c']) writeFileSync(join(tree, `share/${name}.sql`), script(name, 1500));
    // HOME=/: otherwise the shell's first output is a warning that it has no home directory.
    await packSqlite(pub, tree, ['--env', 'HOME=/']);
    // a.sql is read before the first output, b.sql after it, c.sql never.
    const rec = await pub.run(['profile', 'record', 'sqlite', '--', ':memory:'], {
      input: '.read /share/a.sql\nselect count(*) from a;\n.read /share/b.sql\nselect count(*) from b;\n',
    });
    assert.equal(rec.code, 0, rec.stderr);
    assert.equal((await pub.run(['push', 'sqlite@1.0.0', '--server', url])).code, 0);

    const m = await api(url, 'GET', '/packages/sqlite/1.0.0/manifest', ADMIN);
    const profile = await api(url, 'GET', `/objects/${m.json.profile as string}`, ADMIN);
    const layer = await api(
      url,
      'GET',
      `/objects/${(m.json.layers as { digest: string }[])[0]!.digest}`,
      ADMIN,
    );
    const chunksOf = (path: string) =>
      (layer.json.entries as { path: string; chunks: { digest: string }[] }[])
        .find((e) => e.path === path)!
        .chunks.map((c) => c.digest);
    const [a, b, c] = ['share/a.sql', 'share/b.sql', 'share/c.sql'].map(chunksOf) as [
      string[],
      string[],
      string[],
    ];
    const before = profile.json.chunks as string[];
    const after = profile.json.after as string[];
    assert.ok(
      a.every((d) => before.includes(d)),
      'a.sql is in the profile, before the output',
    );
    assert.ok(
      b.every((d) => after.includes(d) && !before.includes(d)),
      'b.sql is in the profile, after the output',
    );
    assert.ok(!c.some((d) => before.includes(d) || after.includes(d)), 'c.sql is not in the profile');

    // A streamed run whose guest reads nothing until told to: the profile arrives on its own.
    const user = clientHome(join(t.path, 'user'), ADMIN);
    const stored = (d: string) => {
      const hex = d.slice('sha256:'.length);
      return existsSync(join(t.path, 'user/home/store/objects/sha256', hex.slice(0, 2), hex));
    };
    const result = user.run(['run', '--allow-unsigned', `${url}/sqlite@1.0.0`, '--', ':memory:'], {
      onSpawn: (child) => {
        void (async () => {
          for (let i = 0; i < 600 && ![...a, ...b].every(stored); i++) await delay(50);
          // Everything the profile names is here; the server can go away.
          await server.stop();
          stopped = true;
          child.stdin!.end(
            '.read /share/a.sql\n.read /share/b.sql\nselect count(*) from a, b where a.x = b.x;\n',
          );
        })();
      },
    });
    const r = await result;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), '1500');
    assert.ok(!c.some(stored), 'chunks outside the profile were not fetched');
  } finally {
    if (!stopped) await server.stop();
    t.cleanup();
  }
});

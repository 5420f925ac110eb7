/**
 * End to end: `capsule state|settings|policy` as a user runs them, against a
 * temporary CAPSULE_HOME.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliPath, exec, type RunResult } from './helpers.js';

let home: string;

const env = () => ({ ...process.env, CAPSULE_HOME: home, CAPSULE_USER: 'alice' });

function capsule(...args: string[]): Promise<RunResult> {
  return exec(process.execPath, [cliPath, ...args], { env: env() });
}

before(() => {
  home = mkdtempSync(join(tmpdir(), 'capsule-e2e-state-'));
});

after(() => rmSync(home, { recursive: true, force: true }));

function appState(app: string): string {
  return join(home, 'state', 'alice', app);
}

describe('capsule state / settings / policy (end to end)', () => {
  test('every command prints its help', async () => {
    for (const cmd of ['state', 'settings', 'policy']) {
      const r = await capsule(cmd, '--help');
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`Usage: capsule ${cmd}`));
    }
    const bad = await capsule('state', 'frobnicate', 'x');
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /unknown subcommand/);
  });

  test('state: snapshot, reset, rollback, export and import, with ls and --json', async () => {
    const first = await capsule('state', 'snapshot', 'notes', 'empty');
    assert.equal(first.code, 0, first.stderr);
    const gen = join(appState('notes'), 'current');
    writeFileSync(join(gen, 'note.txt'), 'remember');
    writeFileSync(join(gen, '.wh.deleted-by-user'), '');
    assert.equal((await capsule('state', 'snapshot', 'notes', 'one')).code, 0);
    const ls = await capsule('state', 'ls', '--json');
    const rows = JSON.parse(ls.stdout) as {
      app: string;
      files: number;
      whiteouts: number;
      snapshots: unknown[];
    }[];
    assert.deepEqual(
      rows.map((r) => [r.app, r.files, r.whiteouts, r.snapshots.length]),
      [['notes', 1, 1, 2]],
    );
    const human = await capsule('state', 'ls', 'notes');
    assert.match(human.stdout, /USER\s+APP\s+FILES/);
    assert.match(human.stdout, /Snapshots of notes/);

    const archive = join(home, 'notes.state');
    assert.equal((await capsule('state', 'export', 'notes', archive)).code, 0);
    assert.equal((await capsule('state', 'reset', 'notes')).code, 0);
    assert.deepEqual(readdirSync(gen), []);
    assert.equal((await capsule('state', 'import', 'notes', archive)).code, 0);
    assert.deepEqual(readdirSync(gen).sort(), ['.wh.deleted-by-user', 'note.txt']);
    assert.equal((await capsule('state', 'rollback', 'notes', 'empty')).code, 0);
    assert.deepEqual(readdirSync(gen), []);
    assert.equal((await capsule('state', 'rollback', 'notes', 'one')).code, 0);
    assert.equal(readFileSync(join(gen, 'note.txt'), 'utf8'), 'remember');

    const missing = await capsule('state', 'rollback', 'notes', 'nope');
    assert.equal(missing.code, 125);
    assert.match(missing.stderr, /no snapshot named nope/);
    const badName = await capsule('state', 'reset', '../etc');
    assert.equal(badName.code, 125);
    const tampered = readFileSync(archive);
    tampered[tampered.length - 40]! ^= 0xff;
    writeFileSync(archive, tampered);
    const refused = await capsule('state', 'import', 'notes', archive);
    assert.equal(refused.code, 125);
    assert.match(refused.stderr, /not a valid state archive/);
    assert.equal(readFileSync(join(gen, 'note.txt'), 'utf8'), 'remember');
  });

  test('state import killed with SIGKILL mid-write: the state is the old one and the next command cleans up', async () => {
    // Build a large archive by exporting a large state of another app.
    assert.equal((await capsule('state', 'reset', 'bulk')).code, 0);
    const bulkGen = join(appState('bulk'), 'current');
    for (let i = 0; i < 40; i++) writeFileSync(join(bulkGen, `f${i}`), Buffer.alloc(1 << 20, i));
    const archive = join(home, 'bulk.state');
    assert.equal((await capsule('state', 'export', 'bulk', archive)).code, 0);

    assert.equal((await capsule('state', 'reset', 'victim')).code, 0);
    writeFileSync(join(appState('victim'), 'current', 'precious'), 'keep me');
    const args = [cliPath];
    const child = spawn(process.execPath, [...args, 'state', 'import', 'victim', archive], { env: env() });
    const tmp = join(appState('victim'), 'tmp');
    const deadline = Date.now() + 20_000;
    while (
      Date.now() < deadline &&
      !(existsSync(tmp) && readdirSync(tmp).some((n) => n.startsWith('gen-')))
    ) {
      await new Promise((r) => setTimeout(r, 2));
    }
    child.kill('SIGKILL');
    await new Promise((r) => child.on('close', r));
    assert.equal(readFileSync(join(appState('victim'), 'current', 'precious'), 'utf8'), 'keep me');
    assert.equal((await capsule('state', 'snapshot', 'victim', 'after')).code, 0);
    assert.deepEqual(readdirSync(tmp), []);
    assert.equal(readdirSync(join(appState('victim'), 'gens')).length, 1);
  });

  test('settings and policy: precedence, a locked key refused with exit 125 naming the policy, mounts', async () => {
    const ok = (r: RunResult) => assert.equal(r.code, 0, r.stderr);
    ok(await capsule('policy', 'set', 'notes', 'env.MODE', 'admin'));
    ok(await capsule('settings', 'set', 'notes', 'env.MODE', 'mine'));
    assert.equal((await capsule('settings', 'get', 'notes', 'env.MODE')).stdout, 'mine\n');
    const conf = join(home, 'app.conf');
    writeFileSync(conf, 'level=3\n');
    ok(await capsule('policy', 'set', 'notes', '/etc/notes.conf', '--file', conf));
    ok(await capsule('policy', 'lock', 'notes', '/etc/notes.conf'));
    ok(await capsule('policy', 'lock', 'notes', 'env.MODE'));
    assert.equal((await capsule('settings', 'get', 'notes', 'env.MODE')).stdout, 'admin\n');
    const refused = await capsule('settings', 'set', 'notes', '/etc/notes.conf', 'level=9');
    assert.equal(refused.code, 125);
    assert.match(refused.stderr, /locked by the admin policy .*policy\/notes\.json/);
    assert.equal((await capsule('settings', 'get', 'notes', '/etc/notes.conf')).stdout, 'level=3\n');
    const ls = JSON.parse((await capsule('settings', 'ls', 'notes', '--json')).stdout) as { key: string }[];
    assert.deepEqual(
      ls.map((r) => r.key),
      ['/etc/notes.conf', 'env.MODE'],
    );
    assert.match(
      (await capsule('settings', 'ls', 'notes')).stdout,
      /env\.MODE\s+admin\s+policy\s+locked \(your value ignored\)/,
    );
    ok(await capsule('policy', 'mounts', 'notes', 'deny'));
    const pol = await capsule('policy', 'ls', 'notes');
    assert.match(pol.stdout, /mounts: deny/);
    assert.equal(JSON.parse((await capsule('policy', 'ls', 'notes', '--json')).stdout).mounts, 'deny');
    assert.equal((await capsule('policy', 'mounts', 'notes', 'maybe')).code, 125);
    ok(await capsule('policy', 'unlock', 'notes', 'env.MODE'));
    assert.equal((await capsule('settings', 'get', 'notes', 'env.MODE')).stdout, 'mine\n');
    ok(await capsule('settings', 'unset', 'notes', 'env.MODE'));
    assert.equal((await capsule('settings', 'get', 'notes', 'env.MODE')).stdout, 'admin\n');
    assert.equal((await capsule('settings', 'get', 'notes', 'env.NOPE')).code, 1);
    assert.equal((await capsule('settings', 'set', 'notes', 'NOPE', 'x')).code, 125);
  });
});

/**
 * Runs every C guest program in tests/guest/ through `capsule run`, as
 * tests/guest/programs.json describes it. The programs check the WASI host
 * from inside: each prints "ok - ..." / "not ok - ..." lines and exits 0 only
 * when every check passed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { capsule, root, tempDir } from './helpers.js';

interface Program {
  name: string;
  wasm: string;
  args: string[];
  env: Record<string, string>;
  sandbox: boolean;
  ro: boolean;
  expectExit: number | null;
  timeout?: number;
  memory?: number;
  stdin?: string;
  expectStdout?: string;
  expectStdoutIncludes?: string[];
  expectStderrIncludes?: string[];
}

const programs = JSON.parse(readFileSync(join(root, 'tests/guest/programs.json'), 'utf8')) as Program[];

for (const p of programs) {
  test(`guest program ${p.name}`, async () => {
    const t = tempDir();
    try {
      const args: string[] = ['run'];
      if (p.sandbox) {
        mkdirSync(join(t.path, 'sandbox'));
        args.push('--dir', `${join(t.path, 'sandbox')}::/sandbox`);
      }
      if (p.ro) {
        mkdirSync(join(t.path, 'ro'));
        writeFileSync(join(t.path, 'ro/hello.txt'), 'hello\n');
        args.push('--ro-dir', `${join(t.path, 'ro')}::/ro`);
      }
      for (const [k, v] of Object.entries(p.env)) args.push('--env', `${k}=${v}`);
      if (p.timeout !== undefined) args.push('--timeout', String(p.timeout));
      if (p.memory !== undefined) args.push('--memory', String(p.memory));
      args.push(join(root, p.wasm), '--', ...p.args);
      const r = await capsule(args, { input: p.stdin });
      const failed = (r.stdout + r.stderr)
        .split('\n')
        .filter((l) => l.startsWith('not ok'))
        .join('\n');
      if (p.expectExit === null) assert.notEqual(r.code, 0, `${p.name} should fail`);
      else
        assert.equal(r.code, p.expectExit, `${p.name} exit ${r.code}\n${failed}\n${r.stderr.slice(-2000)}`);
      assert.equal(failed, '', failed);
      if (p.expectStdout !== undefined) assert.equal(r.stdout, p.expectStdout);
      for (const s of p.expectStdoutIncludes ?? [])
        assert.ok(r.stdout.includes(s), `stdout lacks ${s}:\n${r.stdout}`);
      for (const s of p.expectStderrIncludes ?? [])
        assert.ok(r.stderr.includes(s), `stderr lacks ${s}:\n${r.stderr}`);
    } finally {
      t.cleanup();
    }
  });
}

test('every guest program has a harness entry', () => {
  const names = new Set(programs.map((p) => p.name));
  for (const n of ['fs_paths', 'fd_ops', 'misc', 'wild', 'exit_code', 'trap', 'spin', 'hog', 'cat']) {
    assert.ok(names.has(n), `${n} missing from programs.json`);
  }
});

/**
 * Function-level streaming: `capsule profile record --split` splits a
 * package's entry module by the functions a profiled run called; the runtime
 * loads the secondary module on the first call to a split-out function.
 * Every path must give the output of the unsplit module, including paths the
 * profile never saw, locally and streamed from a real `capsule serve`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Digest } from '../src/package/types.js';
import { FsObjectStore } from '../src/store/fs/index.js';
import { damageObject } from '../src/store/fs/testing.js';
import { capsule, root, tempDir, wasm } from './helpers.js';
import { clientHome, startServe } from './server-helpers.js';

const ADMIN = 'admin-token-for-split-tests-0123';
/** Every path of split_paths but the profiled one ("hello"). */
const OTHER_PATHS = ['sum', '10', 'sort', 'float', '3', 'ptr', '5', 'ptr', '7', 'file', '/data.txt'];

interface Inspected {
  manifest: {
    entry: string;
    split?: { secondary: string; primaryFunctions: number; secondaryFunctions: number };
  };
  layers: { digest: string }[];
}

function splitTree(dir: string): string {
  mkdirSync(join(dir, 'bin'), { recursive: true });
  cpSync(wasm('split_paths'), join(dir, 'bin/split_paths.wasm'));
  writeFileSync(join(dir, 'data.txt'), 'some data\n');
  return dir;
}

/** The digests of the secondary module's chunks, from the package's layer index in a store. */
function secondaryChunks(info: Inspected, path: string, indexStore: string): Digest[] {
  const index = JSON.parse(
    new TextDecoder().decode(new FsObjectStore(indexStore).read(info.layers[0]!.digest as Digest)),
  ) as { entries: { path: string; chunks?: { digest: Digest }[] }[] };
  const entry = index.entries.find((e) => e.path === path.replace(/^\//, ''));
  assert.ok(entry?.chunks?.length, `${path} is in the layer`);
  return entry.chunks.map((c) => c.digest);
}

test('a split package gives the unsplit output on every path; the profiled path never loads the secondary', async () => {
  const t = tempDir();
  try {
    const env = { ...process.env, CAPSULE_HOME: join(t.path, 'home'), CAPSULE_USER: 'tester' };
    const run = (args: string[]) => capsule(args, { env });
    const tree = splitTree(join(t.path, 'tree'));
    const reference = await capsule([
      'run',
      '--dir',
      `${tree}::/`,
      wasm('split_paths'),
      '--',
      ...OTHER_PATHS,
    ]);
    assert.equal(reference.code, 0, reference.stderr);
    assert.match(reference.stdout, /^sum 385$/m);

    assert.equal(
      (await run(['pack', tree, '--name', 'sp', '--version', '1.0.0', '--entry', '/bin/split_paths.wasm']))
        .code,
      0,
    );
    const rec = await run(['profile', 'record', '--split', 'sp', '--', 'hello']);
    assert.equal(rec.code, 0, rec.stderr);
    assert.match(
      rec.stdout,
      /split \/bin\/split_paths\.wasm: primary .* \((\d+) functions\), secondary .* \((\d+) functions\)/,
    );
    const info = JSON.parse((await run(['inspect', 'sp', '--json'])).stdout) as Inspected;
    const split = info.manifest.split!;
    assert.equal(split.secondary, '/bin/split_paths.secondary.wasm');
    assert.ok(split.primaryFunctions > 0 && split.secondaryFunctions > 0, JSON.stringify(split));

    const again = await run(['run', 'sp', '--', ...OTHER_PATHS]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, reference.stdout);
    // Splitting twice is refused: the profile must come from the module as packed.
    const twice = await run(['profile', 'record', '--split', 'sp', '--', 'hello']);
    assert.equal(twice.code, 125);
    assert.match(twice.stderr, /split already/);

    // Damage the secondary in the store. The profiled path never touches it…
    const store = new FsObjectStore(join(t.path, 'home/store'));
    for (const d of secondaryChunks(info, split.secondary, store.layout.root)) damageObject(store, d);
    const profiled = await run(['run', 'sp', '--', 'hello']);
    assert.equal(profiled.code, 0, profiled.stderr);
    assert.equal(profiled.stdout, 'hello from split_paths\n');
    // …and a path that needs it ends clearly, with 125, not a crash.
    const needs = await run(['run', 'sp', '--', 'sum', '10']);
    assert.equal(needs.code, 125, needs.stderr);
    assert.match(needs.stderr, /secondary module/);
    assert.doesNotMatch(needs.stderr, /\n\s+at /);
  } finally {
    t.cleanup();
  }
});

/** The loose files the secondary's chunks would have in a store (a streamed client stores them one by one). */
function secondaryFiles(info: Inspected, path: string, storeRoot: string, indexStore = storeRoot) {
  return secondaryChunks(info, path, indexStore).map((d) => new FsObjectStore(storeRoot).pathOf(d));
}

test('streamed from a server, a split package fetches its secondary only when a path needs it', async () => {
  const t = tempDir();
  const server = await startServe(join(t.path, 'data'), ['--allow-unsigned'], { CAPSULE_ADMIN_TOKEN: ADMIN });
  try {
    const { url } = server;
    const pub = clientHome(join(t.path, 'pub'), ADMIN);
    const tree = splitTree(join(t.path, 'tree'));
    const reference = await capsule([
      'run',
      '--dir',
      `${tree}::/`,
      wasm('split_paths'),
      '--',
      ...OTHER_PATHS,
    ]);
    assert.equal(
      (
        await pub.run([
          'pack',
          tree,
          '--name',
          'sp',
          '--version',
          '1.0.0',
          '--entry',
          '/bin/split_paths.wasm',
        ])
      ).code,
      0,
    );
    assert.equal((await pub.run(['profile', 'record', '--split', 'sp', '--', 'hello'])).code, 0);
    const push = await pub.run(['push', 'sp@1.0.0', '--server', url]);
    assert.equal(push.code, 0, push.stderr);
    const info = JSON.parse((await pub.run(['inspect', 'sp', '--json'])).stdout) as Inspected;
    const secondary = info.manifest.split!.secondary;

    const user = clientHome(join(t.path, 'user'), ADMIN);
    const first = await user.run(['run', '--allow-unsigned', `${url}/sp@1.0.0`, '--', 'hello']);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout, 'hello from split_paths\n');
    const files = secondaryFiles(
      info,
      secondary,
      join(t.path, 'user/home/store'),
      join(t.path, 'pub/home/store'),
    );
    assert.ok(
      files.every((f) => !existsSync(f)),
      'the profiled path fetched none of the secondary',
    );

    const other = await user.run(['run', '--allow-unsigned', `${url}/sp@1.0.0`, '--', ...OTHER_PATHS]);
    assert.equal(other.code, 0, other.stderr);
    assert.equal(other.stdout, reference.stdout);
    assert.ok(
      files.every((f) => existsSync(f)),
      'a path outside the profile fetched the secondary',
    );
  } finally {
    await server.stop();
    t.cleanup();
  }
});

test('Yosys split by a synth profile still runs a flow the profile never saw', async () => {
  const t = tempDir();
  try {
    const env = { ...process.env, CAPSULE_HOME: join(t.path, 'home'), CAPSULE_USER: 'tester' };
    const run = (args: string[]) => capsule(args, { env });
    const tree = join(t.path, 'tree');
    mkdirSync(join(tree, 'bin'), { recursive: true });
    mkdirSync(join(tree, 'work'));
    mkdirSync(join(tree, 'tmp'));
    cpSync(join(root, 'node_modules/@yowasp/yosys/gen/yosys.core.wasm'), join(tree, 'bin/yosys.wasm'));
    cpSync(join(root, 'build/yosys/share'), join(tree, 'share'), { recursive: true });
    writeFileSync(
      join(tree, 'work/counter.v'),
      'module counter(input clk, input rst, output reg [7:0] q);\n' +
        '  always @(posedge clk) if (rst) q <= 0; else q <= q + 1;\nendmodule\n',
    );
    const flow =
      'read_verilog /work/counter.v; synth_ice40 -top counter; stat; write_verilog -noattr /tmp/out.v';
    const noise = /CPU: user|Time spent|Logfile hash|^Yosys \d|ABC: elapse/;
    const clean = (s: string) =>
      s
        .split('\n')
        .filter((l) => !noise.test(l))
        .join('\n');
    const reference = await capsule([
      'run',
      '--dir',
      `${tree}::/`,
      join(tree, 'bin/yosys.wasm'),
      '--',
      '-p',
      flow,
    ]);
    assert.equal(reference.code, 0, reference.stderr);

    assert.equal(
      (await run(['pack', tree, '--name', 'yosys', '--version', '1.0.0', '--entry', '/bin/yosys.wasm'])).code,
      0,
    );
    const rec = await run([
      'profile',
      'record',
      '--split',
      'yosys',
      '--',
      '-p',
      'read_verilog /work/counter.v; synth -top counter; stat',
    ]);
    assert.equal(rec.code, 0, rec.stderr);
    const m = /primary ([\d.]+) MiB .* secondary ([\d.]+) MiB/.exec(rec.stdout);
    assert.ok(m, rec.stdout);
    assert.ok(Number(m[1]) < Number(m[2]), `most of Yosys is outside a synth run: ${rec.stdout}`);

    const split = await run(['run', 'yosys', '--', '-p', flow]);
    assert.equal(split.code, 0, split.stderr);
    assert.match(split.stdout, /SB_LUT4/);
    // The statistics and the netlist summary must be identical (the log around them carries timings).
    const stats = (out: string) => clean(out.slice(out.lastIndexOf('Printing statistics')));
    assert.match(stats(split.stdout), /Number of cells/);
    assert.equal(stats(split.stdout), stats(reference.stdout));
  } finally {
    t.cleanup();
  }
});

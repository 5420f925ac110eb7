/**
 * Hostile packages end to end (issue 3, "Bad input"), through the real CLI,
 * each test in its own CAPSULE_HOME. What packages.test.ts and
 * bundle.test.ts already cover (damaged chunks, tampered or truncated
 * bundles) is not repeated; state-settings.test.ts covers a `state import`
 * killed mid-write.
 *
 * Hostile objects are written by hand, as an attacker with write access to a
 * store or a bundle would: canonical JSON, named by its SHA-256, at
 * objects/sha256/<2 hex>/<hex>, with a ref pointing at it. Whatever they
 * hold, capsule must answer 125 with one `capsule: ...` line naming the
 * problem (no stack trace), leave the other packages intact and runnable,
 * and never let the guest out of its view.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { canonicalBytes } from '../src/package/canonical.js';
import type { Digest } from '../src/package/types.js';
import { FsObjectStore } from '../src/store/fs/index.js';
import { damageObject } from '../src/store/fs/testing.js';
import { cliPath, capsule, tempDir, wasm, type RunOpts, type RunResult } from './helpers.js';

type Json = Record<string, unknown>;

const ELOOP = 32; // WASI errno numbers, as wasi-libc prints them
const EIO = 29;
const EPERM = 63;

const scratch = tempDir('capsule-hostile-');
after(() => scratch.cleanup());

function home(label: string) {
  const dir = join(scratch.path, label);
  mkdirSync(dir, { recursive: true });
  const env = { ...process.env, CAPSULE_HOME: join(dir, 'home'), CAPSULE_USER: 'alice' };
  const store = join(env.CAPSULE_HOME, 'store');
  const run = (args: string[], opts: RunOpts = {}) =>
    capsule(args, { ...opts, env: { ...env, ...opts.env } });
  return { dir, env, store, run };
}
type Home = ReturnType<typeof home>;

const sha256 = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

function objectPath(h: Home, digest: string): string {
  const hex = digest.slice('sha256:'.length);
  return join(h.store, 'objects/sha256', hex.slice(0, 2), hex);
}

/** Stores `bytes` under `digest` (by default their own SHA-256), as capsule lays objects out. */
function putObject(h: Home, bytes: Uint8Array, digest = sha256(bytes)): string {
  const path = objectPath(h, digest);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, bytes);
  return digest;
}

const putJson = (h: Home, value: unknown) => putObject(h, canonicalBytes(value));

/** A chunk as stored: the RAW codec byte, then the plain bytes; named by the plain bytes. */
function putChunk(h: Home, plain: string | Uint8Array): { digest: string; size: number } {
  const bytes = typeof plain === 'string' ? Buffer.from(plain) : plain;
  putObject(h, Buffer.concat([Buffer.from([0]), bytes]), sha256(bytes));
  return { digest: sha256(bytes), size: bytes.length };
}

function setRef(h: Home, name: string, version: string, digest: string): void {
  mkdirSync(join(h.store, 'refs', name), { recursive: true });
  writeFileSync(join(h.store, 'refs', name, version), `${digest}\n`);
}

function refOf(h: Home, name: string, version: string): string {
  return readFileSync(join(h.store, 'refs', name, version), 'utf8').trim();
}

const readJson = (h: Home, digest: string) =>
  JSON.parse(new TextDecoder().decode(new FsObjectStore(h.store).read(digest as Digest))) as Json;

/** A tree for the probe guest: /bin/probe.wasm, /etc/motd, plus `files`. */
function probeTree(dir: string, files: Record<string, string | Uint8Array> = {}): string {
  mkdirSync(join(dir, 'bin'), { recursive: true });
  copyFileSync(wasm('probe'), join(dir, 'bin/probe.wasm'));
  for (const [p, c] of Object.entries({ 'etc/motd': 'welcome\n', ...files })) {
    mkdirSync(join(dir, p, '..'), { recursive: true });
    writeFileSync(join(dir, p), c);
  }
  return dir;
}

async function packProbe(h: Home, name: string, files: Record<string, string | Uint8Array> = {}) {
  const r = await h.run([
    'pack',
    probeTree(join(h.dir, `tree-${name}`), files),
    '--name',
    name,
    '--version',
    '1.0.0',
    '--entry',
    '/bin/probe.wasm',
  ]);
  assert.equal(r.code, 0, r.stderr);
  return refOf(h, name, '1.0.0');
}

/**
 * Exit 125, a `capsule: ...` line matching every pattern, and nothing that
 * looks like a crash: no stack frame, no "internal error".
 */
function assertRefused(r: RunResult, what: string, ...patterns: RegExp[]): void {
  const detail = `${what}: exit ${r.code} ${r.signal ?? ''}\n${r.stderr}${r.stdout}`;
  assert.equal(r.code, 125, detail);
  assert.doesNotMatch(r.stderr, /^\s+at .*[(:]\d+/m, `${what}: stack trace\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /internal error|TypeError|RangeError/, detail);
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('capsule: '));
  assert.equal(lines.length, 1, `${what}: want one capsule: line\n${r.stderr}`);
  for (const p of patterns) assert.match(lines[0]!, p, detail);
}

/** Nothing that looks like a crash, whatever the exit code. */
function assertNoCrash(r: RunResult, what: string): void {
  assert.notEqual(r.code, null, `${what}: killed by ${r.signal}`);
  assert.doesNotMatch(r.stderr, /^\s+at .*[(:]\d+/m, `${what}: stack trace\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /internal error/, `${what}\n${r.stderr}`);
}

/** The good package still verifies and still runs. */
async function assertIntact(h: Home, name: string): Promise<void> {
  const v = await h.run(['verify', name]);
  assert.equal(v.code, 0, `verify ${name}: ${v.stdout}${v.stderr}`);
  const r = await h.run(['run', '--ephemeral', name, '--', 'read', '/etc/motd']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'welcome\n');
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

test('malformed manifests: run, inspect and verify refuse them with the field path', async () => {
  const h = home('manifests');
  const good = await packProbe(h, 'good');
  const base = readJson(h, good);
  const layer = (base.layers as Json[])[0]!;
  const variant = (name: string, change: (m: Json) => void): string => {
    const m = structuredClone({ ...base, name });
    change(m);
    const digest = putJson(h, m);
    setRef(h, name, '1.0.0', digest);
    return digest;
  };
  variant('no-entry', (m) => delete m.entry);
  variant('climbing-entry', (m) => (m.entry = '../x'));
  variant('unknown-field', (m) => (m.launcher = '/bin/sh'));
  variant('bad-version', (m) => (m.version = 'one'));
  variant('bad-layer', (m) => (m.layers = [{ ...layer, digest: 'sha256:../../../etc/passwd' }]));
  variant('no-layers', (m) => delete m.layers);
  // A dependency that is a layer index, not a manifest.
  variant('dep-is-layer', (m) => {
    m.dependencies = [{ name: 'good', range: '^1', version: '1.0.0', digest: layer.digest }];
  });
  // A cycle A -> B -> A cannot be built honestly: A's digest covers B's and
  // B's would cover A's. The closest an attacker gets is a B that depends on
  // A, stored under the digest A names: a forged object, refused on read.
  const forgedB = sha256(Buffer.from('the digest A names for B'));
  const a = variant('cycle-a', (m) => {
    m.dependencies = [{ name: 'cycle-b', range: '^1', version: '1.0.0', digest: forgedB }];
  });
  putObject(
    h,
    canonicalBytes({
      ...base,
      name: 'cycle-b',
      dependencies: [{ name: 'cycle-a', range: '^1', version: '1.0.0', digest: a }],
    }),
    forgedB,
  );
  setRef(h, 'cycle-b', '1.0.0', forgedB);

  const cases: [string, RegExp][] = [
    ['no-entry', /invalid manifest: entry: expected string/],
    ['climbing-entry', /invalid manifest: entry: unsafe path "\.\.\/x"/],
    ['unknown-field', /invalid manifest: \(root\): unknown field "launcher"/],
    ['bad-version', /invalid manifest: version: expected a semver/],
    ['bad-layer', /invalid manifest: layers\[0\]\.digest: expected sha256:<64 hex>/],
    ['no-layers', /invalid manifest: layers: expected array/],
    ['dep-is-layer', /invalid manifest: .*schema/],
    ['cycle-a', new RegExp(`object ${escape(forgedB)} is corrupt`)],
    ['cycle-b', new RegExp(`object ${escape(forgedB)} is corrupt`)],
  ];
  for (const [name, why] of cases) {
    const [run, inspect, verify] = await Promise.all([
      h.run(['run', '--ephemeral', name, '--', 'read', '/etc/motd']),
      h.run(['inspect', name, '--json']),
      h.run(['verify', name]),
    ]);
    assertRefused(run, `run ${name}`, why);
    assert.equal(run.stdout, '', `run ${name} must not start the guest`);
    assertRefused(inspect, `inspect ${name}`, why);
    assertRefused(verify, `verify ${name}`, why);
  }

  // The whole store: verify names what is wrong without crashing, gc and ls cope.
  const all = await h.run(['verify']);
  assertNoCrash(all, 'verify (whole store)');
  assert.equal(all.code, 1, all.stdout + all.stderr);
  assert.match(all.stdout, new RegExp(`corrupt\\s+${escape(forgedB)}`));
  const ls = await h.run(['ls']);
  assert.equal(ls.code, 0, ls.stderr);
  assert.match(ls.stdout, /^no-entry\s+1\.0\.0\s+\S+\s+damaged$/m);
  // gc will not sweep below an object it cannot read: it refuses, naming it.
  const gc = await h.run(['gc']);
  assertRefused(gc, 'gc', new RegExp(`object ${escape(forgedB)} is corrupt`));
  await assertIntact(h, 'good');
});

/** Sorted by UTF-8 bytes, as a layer index must be. */
const sortEntries = (entries: Json[]) =>
  [...entries].sort((x, y) => Buffer.compare(Buffer.from(String(x.path)), Buffer.from(String(y.path))));
const dir = (path: string): Json => ({ path, type: 'dir', mode: 0o755, size: 0 });
const link = (path: string, target: string): Json => ({
  path,
  type: 'symlink',
  mode: 0o777,
  size: 0,
  target,
});
const file = (path: string, chunks: { digest: string; size: number }[], size?: number): Json => ({
  path,
  type: 'file',
  mode: 0o644,
  size: size ?? chunks.reduce((s, c) => s + c.size, 0),
  chunks,
});
const layerIndex = (entries: Json[], more: Json = {}): Json => ({
  schema: 'capsule.layer/v1',
  entries,
  whiteouts: [],
  opaque: [],
  ...more,
});

test('hostile layer indexes: traversal, disorder, bad sizes are refused; symlinks stay inside the view', async () => {
  const h = home('layers');
  const good = await packProbe(h, 'probe');
  const base = readJson(h, good);
  const probeLayer = (base.layers as Json[])[0]!;
  /** A package: the probe's layer with `index` on top (given as a value or as raw bytes). */
  const withLayer = (name: string, index: Json | Uint8Array, ref: Json = {}, m: Json = {}) => {
    const bytes = index instanceof Uint8Array ? index : canonicalBytes(index);
    const digest = putObject(h, bytes);
    const layers = [probeLayer, { digest, size: 0, entries: 0, ...ref }];
    setRef(h, name, '1.0.0', putJson(h, { ...base, name, layers, ...m }));
    return digest;
  };
  const motd = putChunk(h, 'hostile motd\n');

  withLayer('dotdot', layerIndex([file('../etc/passwd', [motd])]));
  withLayer('absolute', layerIndex([file('/abs', [motd])]));
  withLayer('inner-dotdot', layerIndex([dir('a'), file('a/../b', [motd])]));
  withLayer('duplicate', layerIndex([dir('etc'), file('etc/motd', [motd]), file('etc/motd', [motd])]));
  withLayer('unsorted', layerIndex([file('b', [motd]), file('a', [motd])]));
  withLayer('short-chunks', layerIndex([file('etc/motd', [motd], motd.size + 4096)]));
  withLayer('max-size', layerIndex([file('etc/motd', [motd], Number.MAX_SAFE_INTEGER)]));
  withLayer('giant-chunk', layerIndex([file('big', [{ digest: motd.digest, size: 2 ** 40 }])]));
  withLayer('under-link', layerIndex([link('a', 'etc'), file('a/b', [motd])]));
  withLayer('bad-whiteout', layerIndex([], { whiteouts: ['../../home'] }));
  // 2^53 has no canonical form: it can only arrive as bytes written by hand.
  const text = Buffer.from(canonicalBytes(layerIndex([file('etc/motd', [motd], 12345)]))).toString();
  withLayer('size-2-53', Buffer.from(text.replace('12345', String(2 ** 53))));

  const refused: [string, RegExp][] = [
    ['dotdot', /invalid layer index: entries\[0\]\.path: unsafe path "\.\.\/etc\/passwd"/],
    ['absolute', /invalid layer index: entries\[0\]\.path: unsafe path "\/abs"/],
    ['inner-dotdot', /invalid layer index: entries\[1\]\.path: unsafe path "a\/\.\.\/b"/],
    ['duplicate', /invalid layer index: entries\[2\]: duplicate path "etc\/motd"/],
    ['unsorted', /invalid layer index: entries\[1\]: not sorted/],
    ['short-chunks', /invalid layer index: entries\[0\]\.chunks: chunk sizes add up to 13, not size 4109/],
    [
      'max-size',
      /invalid layer index: entries\[0\]\.chunks: chunk sizes add up to 13, not size 9007199254740991/,
    ],
    ['giant-chunk', /invalid layer index: entries\[0\]\.chunks\[0\]\.size: larger than 16777216/],
    ['under-link', /invalid layer index: entries\[1\]\.path: parent "a" is a symlink/],
    ['bad-whiteout', /invalid layer index: whiteouts\[0\]: unsafe path/],
    ['size-2-53', /invalid layer index: not canonical JSON: entries\[0\]\.size: .*9007199254740992/],
  ];
  for (const [name, why] of refused) {
    const [run, inspect] = await Promise.all([
      h.run(['run', '--ephemeral', name, '--', 'read', '/etc/motd']),
      h.run(['inspect', name]),
    ]);
    assertRefused(run, `run ${name}`, why);
    assert.equal(run.stdout, '', `run ${name} must not start the guest`);
    assertRefused(inspect, `inspect ${name}`, why);
  }

  // Valid indexes with hostile symlinks. The guest meets ELOOP on a cycle;
  // absolute targets resolve from the view's root; a target climbing above
  // the root is refused (EPERM, the runtime's jail rule, as in wasmtime).
  // Whatever the target, the host's files stay out of reach.
  const passwd = putChunk(h, 'root:x:0:0:the view, not the host\n');
  withLayer(
    'links',
    layerIndex(
      sortEntries([
        link('loop-a', 'loop-b'),
        link('loop-b', 'loop-a'),
        link('self', 'self'),
        dir('etc'),
        file('etc/passwd', [passwd]),
        link('climb', '../../../../etc/passwd'),
        link('absolute', '/etc/passwd'),
        link('absolute-climb', '/../../etc/passwd'),
        link('up', '../../..'),
        dir('deep'),
        link('deep/passwd', '../etc/passwd'),
        link('deep/up', '../../../../../..'),
      ]),
    ),
  );
  const probe = (...args: string[]) =>
    h.run(['run', '--ephemeral', 'links', '--', ...args], { timeoutMs: 30_000 });
  const loops = await Promise.all([
    probe('read', '/loop-a'),
    probe('stat', '/self'),
    probe('list', '/loop-b'),
  ]);
  for (const r of loops) {
    assert.equal(r.signal, null, 'a symlink cycle must not hang capsule');
    assert.equal(r.stdout, `errno ${ELOOP}\n`, r.stderr);
    assert.equal(r.code, 1);
  }
  const inside = await Promise.all([probe('read', '/absolute'), probe('read', '/deep/passwd')]);
  for (const r of inside) {
    assert.equal(r.stdout, 'root:x:0:0:the view, not the host\n', r.stderr);
    assert.equal(r.code, 0);
  }
  const climbing = await Promise.all([
    probe('read', '/climb'),
    probe('read', '/absolute-climb'),
    probe('read', '/up/etc/passwd'),
    probe('list', '/deep/up'),
    probe('read', '/../../etc/passwd'),
  ]);
  for (const r of climbing) {
    assert.equal(r.stdout, `errno ${EPERM}\n`, r.stderr);
    assert.equal(r.code, 1);
  }

  // A file that claims more than 4 GiB in 16 MiB pieces its chunk cannot back:
  // its size is visible, its bytes are refused (EIO), and as the entry it is refused whole.
  const fake = { digest: motd.digest, size: 16 * 1024 * 1024 };
  const huge = layerIndex([
    dir('bin'),
    file(
      'bin/huge.wasm',
      Array.from({ length: 300 }, () => fake),
    ),
  ]);
  withLayer('huge', huge, { size: Number.MAX_SAFE_INTEGER, entries: Number.MAX_SAFE_INTEGER });
  const hugeStat = await h.run(['run', '--ephemeral', 'huge', '--', 'stat', '/bin/huge.wasm']);
  assert.equal(hugeStat.stdout, `file ${300 * 16 * 1024 * 1024}\n`, hugeStat.stderr);
  const hugeRead = await h.run(['run', '--ephemeral', 'huge', '--', 'read', '/bin/huge.wasm']);
  assert.equal(hugeRead.stdout, `errno ${EIO}\n`, hugeRead.stderr);
  assertNoCrash(hugeRead, 'read huge');
  setRef(
    h,
    'huge-entry',
    '1.0.0',
    putJson(h, { ...readJson(h, refOf(h, 'huge', '1.0.0')), name: 'huge-entry', entry: '/bin/huge.wasm' }),
  );
  const hugeEntry = await h.run(['run', '--ephemeral', 'huge-entry']);
  assertRefused(hugeEntry, 'run huge-entry', /huge\.wasm|corrupt|too large/);
  assertNoCrash(await h.run(['inspect', 'huge']), 'inspect huge');

  // verify checks bytes against digests, and every object here is intact.
  const all = await h.run(['verify']);
  assert.equal(all.code, 0, all.stdout + all.stderr);
  const gc = await h.run(['gc']);
  assert.equal(gc.code, 0, gc.stderr);
  await assertIntact(h, 'probe');
});

/** Packs a tree holding only the SQLite shell (/bin/sqlite3.wasm, the entry) as NAME@1.0.0. */
async function packSqliteShell(h: Home, name: string): Promise<void> {
  const tree = join(h.dir, `tree-${name}`);
  mkdirSync(join(tree, 'bin'), { recursive: true });
  copyFileSync(wasm('sqlite3'), join(tree, 'bin/sqlite3.wasm'));
  const r = await h.run(['pack', tree, '--name', name, '--version', '1.0.0', '--entry', '/bin/sqlite3.wasm']);
  assert.equal(r.code, 0, r.stderr);
}

/** Flips one byte in the middle of a stored object. */
function flip(h: Home, digest: string): void {
  damageObject(new FsObjectStore(h.store), digest as Digest);
}

test('a flipped byte in a manifest or a layer index is refused, naming the object', async () => {
  const h = home('flips');
  await packProbe(h, 'good');
  const manifest = await packProbe(h, 'bad-manifest', { 'etc/motd': 'manifest victim\n' });
  const victim = await packProbe(h, 'bad-index', { 'etc/motd': 'index victim\n' });
  const index = (readJson(h, victim).layers as Json[])[0]!.digest as string;
  flip(h, manifest);
  flip(h, index);

  const [runM, inspectM, verifyM, runI, inspectI, verifyI] = await Promise.all([
    h.run(['run', '--ephemeral', 'bad-manifest', '--', 'read', '/etc/motd']),
    h.run(['inspect', 'bad-manifest']),
    h.run(['verify', 'bad-manifest']),
    h.run(['run', '--ephemeral', 'bad-index', '--', 'read', '/etc/motd']),
    h.run(['inspect', 'bad-index']),
    h.run(['verify', 'bad-index']),
  ]);
  const m = new RegExp(`${escape(manifest)} is corrupt`);
  const i = new RegExp(`${escape(index)} is corrupt`);
  assertRefused(runM, 'run bad-manifest', m);
  assertRefused(inspectM, 'inspect bad-manifest', m);
  assertRefused(verifyM, 'verify bad-manifest', m);
  assertRefused(runI, 'run bad-index', i);
  assert.equal(runI.stdout, '', 'the guest never starts on a damaged index');
  assertRefused(inspectI, 'inspect bad-index', i);
  // verify's own contract: exit 1 and a line per damaged object.
  assertNoCrash(verifyI, 'verify bad-index');
  assert.equal(verifyI.code, 1, verifyI.stdout + verifyI.stderr);
  assert.match(verifyI.stdout, new RegExp(`^corrupt\\s+${escape(index)}$`, 'm'));
  const all = await h.run(['verify']);
  assert.equal(all.code, 1);
  assert.match(all.stdout, new RegExp(`^corrupt\\s+${escape(index)}$`, 'm'));
  await assertIntact(h, 'good');
});

test('a flipped byte in a chunk of the entry module is refused before the guest starts', async () => {
  // The entry is read on two threads (delivery/local/entry-read.ts); a damaged chunk in either
  // thread's share must end the run with 125, never reach the guest.
  const h = home('entry-flip');
  await packSqliteShell(h, 'entry-flip');
  const index = (readJson(h, refOf(h, 'entry-flip', '1.0.0')).layers as Json[])[0]!.digest as string;
  const entry = (readJson(h, index).entries as Json[]).find((e) => e.path === 'bin/sqlite3.wasm')!;
  const chunks = (entry.chunks as Json[]).map((c) => c.digest as string);
  assert.ok(chunks.length > 4, 'the entry spans several chunks');
  // pack filled the entry cache; without it the launch reads the store (with it, see below).
  const cache = join(h.env.CAPSULE_HOME, 'cache/entries');
  for (const victim of [chunks[1]!, chunks[chunks.length >> 1]!]) {
    rmSync(cache, { recursive: true, force: true });
    flip(h, victim);
    const run = await h.run(['run', '--ephemeral', 'entry-flip', '--', ':memory:', 'select 1;']);
    // A warning naming the chunk (from the view, which reads the entry when the early read
    // fails), then the refusal.
    assert.equal(run.code, 125, run.stderr);
    assertNoCrash(run, 'run entry-flip');
    assert.match(run.stderr, new RegExp(`refused chunk ${escape(victim)}: object .* is corrupt`));
    assert.match(run.stderr, /^capsule: its entry \/bin\/sqlite3\.wasm has corrupt chunks; refused$/m);
    assert.equal(run.stdout, '', 'the guest never starts on a damaged entry');
    flip(h, victim); // the same byte flipped back
  }
  const ok = await h.run(['run', '--ephemeral', 'entry-flip', '--', ':memory:', 'select 1;']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout.trim(), '1');

  // With a checked copy in the entry cache (this run left one), a chunk damaged in the store
  // afterwards no longer stops the launch: the copy is checked against the same digest.
  // verify still names the damaged object.
  assert.equal(readdirSync(cache).length, 1);
  flip(h, chunks[1]!);
  const cached = await h.run(['run', '--ephemeral', 'entry-flip', '--', ':memory:', 'select 1;']);
  assert.equal(cached.code, 0, cached.stderr);
  assert.equal(cached.stdout.trim(), '1');
  const verify = await h.run(['verify', 'entry-flip']);
  assert.equal(verify.code, 1);
  assert.match(verify.stdout, new RegExp(`corrupt\\s+${escape(chunks[1]!)}`));
  flip(h, chunks[1]!);
});

/** ~200 MB of incompressible files plus the probe, generated once for the file. */
let bigTreePath: string | undefined;
function bigTree(): string {
  if (bigTreePath) return bigTreePath;
  const dir = probeTree(join(scratch.path, 'big-tree'));
  mkdirSync(join(dir, 'data'));
  const block = randomBytes(4 << 20);
  for (let i = 0; i < 50; i++) {
    // Each file differs from the others everywhere, so nothing deduplicates.
    for (let j = 0; j < block.length; j += 4096) block.writeUInt32LE(i, j);
    writeFileSync(join(dir, 'data', `f${String(i).padStart(2, '0')}`), block);
    block.set(randomBytes(1 << 16), (i * 65536) % block.length);
  }
  bigTreePath = dir;
  return dir;
}
before(() => void bigTree());

function countObjects(h: Home): number {
  return [...new FsObjectStore(h.store).list()].length;
}
const staged = (h: Home) => existsSync(join(h.store, 'tmp')) && readdirSync(join(h.store, 'tmp')).length > 0;

async function waitFor(what: string, cond: () => boolean, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * Starts capsule, waits for `ready` (evidence it is in the middle of its
 * work), checks it is still running, and kills it with SIGKILL.
 */
async function killMidway(
  h: Home,
  args: string[],
  ready: (pid: number) => boolean,
  what: string,
): Promise<void> {
  const child = spawn(process.execPath, [cliPath, ...args], { env: h.env, stdio: 'ignore' });
  const closed = new Promise<NodeJS.Signals | null>((r) => child.on('close', (_code, signal) => r(signal)));
  let exited = false;
  void closed.then(() => (exited = true));
  await waitFor(what, () => exited || ready(child.pid!));
  assert.equal(exited, false, `capsule finished before it could be killed (${what})`);
  child.kill('SIGKILL');
  assert.equal(await closed, 'SIGKILL', `it was running when killed (${what})`);
}

test('pack killed with SIGKILL: no ref, the store verifies, gc runs, packing again succeeds', async () => {
  const h = home('kill-pack');
  await packProbe(h, 'good');
  const tree = bigTree();
  const before = countObjects(h);
  const started = Date.now();
  const args = ['pack', tree, '--name', 'big', '--version', '1.0.0', '--entry', '/bin/probe.wasm'];
  await killMidway(
    h,
    args,
    () => Date.now() - started > 500 && (staged(h) || countObjects(h) > before),
    'pack writing objects',
  );
  assert.equal(existsSync(join(h.store, 'refs/big/1.0.0')), false, 'no ref for the killed pack');
  const ls = await h.run(['ls', '--json']);
  assert.deepEqual(
    (JSON.parse(ls.stdout) as { name: string }[]).map((r) => r.name),
    ['good'],
  );
  const verify = await h.run(['verify']);
  assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  const gc = await h.run(['gc']);
  assert.equal(gc.code, 0, gc.stderr);
  // Packing again reuses what the killed pack left: every object it finds must be whole.
  const again = await h.run(args);
  assert.equal(again.code, 0, again.stderr);
  const [verifyBig, stat] = await Promise.all([
    h.run(['verify', 'big']),
    h.run(['run', '--ephemeral', 'big', '--', 'stat', '/data/f49']),
  ]);
  assert.equal(verifyBig.code, 0, verifyBig.stdout + verifyBig.stderr);
  assert.equal(stat.stdout, `file ${4 << 20}\n`, stat.stderr);
  await assertIntact(h, 'good');
});

test('two packs of different trees into one store at once both succeed and verify', async () => {
  const h = home('concurrent');
  const big = bigTree();
  // Two trees sharing a third of their data, so both processes race to write the same objects.
  const trees = [0, 1].map((k) => {
    const t = probeTree(join(h.dir, `tree-${k}`));
    mkdirSync(join(t, 'data'));
    for (let i = k * 6; i < k * 6 + 12; i++) {
      const name = `f${String(i).padStart(2, '0')}`;
      copyFileSync(join(big, 'data', name), join(t, 'data', name));
    }
    return t;
  });
  const results = await Promise.all(
    trees.map((t, k) =>
      h.run(['pack', t, '--name', `twin${k}`, '--version', '1.0.0', '--entry', '/bin/probe.wasm']),
    ),
  );
  for (const r of results) assert.equal(r.code, 0, r.stderr);
  const verify = await h.run(['verify']);
  assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  assert.match(verify.stdout, /^ok: /);
  const runs = await Promise.all([
    h.run(['run', '--ephemeral', 'twin0', '--', 'stat', '/data/f00']),
    h.run(['run', '--ephemeral', 'twin1', '--', 'stat', '/data/f17']),
  ]);
  for (const r of runs) assert.equal(r.stdout, `file ${4 << 20}\n`, r.stderr);
});

/** Every file under `dir` with its bytes, for before/after comparisons. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel))) {
      const path = rel ? `${rel}/${name}` : name;
      const st = statSync(join(dir, path));
      if (st.isDirectory()) walk(path);
      else
        out[path] = createHash('sha256')
          .update(readFileSync(join(dir, path)))
          .digest('hex');
    }
  };
  walk('');
  return out;
}

test('capture killed with SIGKILL during its setup run or its packing: no package, user state untouched', async () => {
  const h = home('kill-capture');
  await packSqliteShell(h, 'sqlite');
  const mine = await h.run([
    'run',
    'sqlite',
    '--',
    '/mine.db',
    "create table t(x); insert into t values ('mine');",
  ]);
  assert.equal(mine.code, 0, mine.stderr);
  const stateDir = join(h.env.CAPSULE_HOME, 'state');
  const stateBefore = snapshot(stateDir);
  assert.ok(
    Object.keys(stateBefore).some((p) => p.endsWith('mine.db')),
    JSON.stringify(stateBefore),
  );

  const capture = (...setup: string[]) => [
    'capture',
    '--base',
    'sqlite',
    '--name',
    'seeded',
    '--version',
    '1.0.0',
    '--',
    ...setup,
  ];
  const captureDirs = () => readdirSync(h.env.CAPSULE_HOME).filter((n) => n.startsWith('capture-'));
  const upperHas = (name: string) =>
    captureDirs().some((d) => existsSync(join(h.env.CAPSULE_HOME, d, 'upper', name)));

  // 1. During the setup run: it has written its database and then loops forever.
  await killMidway(
    h,
    capture(
      '/seed.db',
      'create table kv(k); insert into kv values (1);',
      'with recursive c(i) as (select 1 union all select i + 1 from c) select count(*) from c;',
    ),
    () => upperHas('seed.db'),
    'capture in its setup run',
  );

  // 2. During its packing: the setup run wrote ~64 MB of random blobs and exited.
  const before = countObjects(h);
  const leases = join(h.store, 'leases');
  let ran = false;
  await killMidway(
    h,
    capture(
      '/blobs.db',
      'create table b(x); with recursive c(i) as (select 1 union all select i + 1 from c where i < 64) insert into b select randomblob(1000000) from c;',
    ),
    (pid) => {
      // Its lease (leases/<pid>-*.json) comes with the setup run and goes with it.
      const leased = existsSync(leases) && readdirSync(leases).some((f) => f.startsWith(`${pid}-`));
      ran ||= leased;
      return ran && !leased && (staged(h) || countObjects(h) > before);
    },
    'capture packing its layer',
  );

  const ls = await h.run(['ls', '--json']);
  assert.deepEqual(
    (JSON.parse(ls.stdout) as { name: string }[]).map((r) => r.name),
    ['sqlite'],
  );
  assert.deepEqual(snapshot(stateDir), stateBefore, "the base app's user state is untouched");
  const [read, verify] = await Promise.all([
    h.run(['run', 'sqlite', '--', '/mine.db', 'select x from t;']),
    h.run(['verify']),
  ]);
  assert.equal(read.stdout, 'mine\n', read.stderr);
  assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  assert.equal((await h.run(['gc'])).code, 0);
  // The interrupted captures block nothing.
  const ok = await h.run(capture('/seed.db', 'create table kv(k); insert into kv values (42);'));
  assert.equal(ok.code, 0, ok.stderr);
  const seeded = await h.run(['run', '--ephemeral', 'seeded', '--', '/seed.db', 'select k from kv;']);
  assert.equal(seeded.stdout, '42\n', seeded.stderr);
});

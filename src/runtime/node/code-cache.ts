// The V8 code cache for the bundles on `capsule run`'s start-up path.
//
// A run is short, and much of its CPU goes to compiling JavaScript: the
// bundles' top level when they load, then each function the first time it is
// called. Node 20 keeps none of that between processes (module.enableCompileCache
// arrived in Node 22). So scripts/bundle.mjs writes each start-up bundle
// twice: the code itself as CommonJS (X.cjs), and a small ES module (X.js)
// that loads it through loadBundle() below and re-exports its names. loadBundle
// compiles X.cjs with the cached data from an earlier run, when there is one,
// and V8 then skips the compiling it already did. Measured on the SQLite
// shell's `select 1` from a package: ~30 ms less CPU per run (docs/benchmarks.md).
//
// The cache is taken at the end of a run (flushCodeCache), not when the
// script is compiled: by then it holds every function the run called, which
// is where most of the saving is. It is written only when there was none or
// V8 refused the one it was given (another Node version or other V8 flags),
// and only by a run whose guest ran: one that stopped early (a bad argument,
// an unknown package) has compiled only part of the path, and its cache
// would be used, incomplete, by every run after it.
//
// Where: $CAPSULE_CODE_CACHE if set ('off' or '0' turns the cache off), else
// the platform's per-user cache folder (~/.cache/capsule/code on Linux,
// ~/Library/Caches/capsule/code on macOS, %LOCALAPPDATA%\capsule\code on
// Windows). It is outside CAPSULE_HOME so that every home on the machine
// shares it. Its files are per user (folder 0700, files 0600).
//
// A bundle has one cache per variant: the kind of run (`package`, `file`, ...),
// guessed from the command line before anything loads (cli/main.ts) and
// handed to the guest's worker in its environment (CAPSULE_CODE_CACHE_VARIANT).
// V8 deserializes a cache whole, so a directory run must not pay for the
// package path's functions, nor a package run for the directory's. A wrong
// guess only means the other kind's cache.
//
// File format, `<bundle>.<sha256 of the bundle's source, 32 hex>.<variant>-<node version>-<arch>.v8`:
//   bytes 0..7    magic "CAPSV8C1"
//   bytes 8..39   SHA-256 of the payload
//   bytes 40..    the payload: V8's cached data (script.createCachedData())
// The key names the exact source, so a rebuilt bundle never meets an old
// cache. The checksum is ours: release builds of V8 check the cached data's
// header (version, flags, source length) but not its bytes, so a damaged
// file would otherwise reach the deserializer. A file that fails the check
// is ignored and replaced at the end of the run. At most KEEP files are kept
// per bundle, newest first.
import { createHash } from 'node:crypto';
import {
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Script } from 'node:vm';

const MAGIC = Buffer.from('CAPSV8C1', 'latin1');
const HEADER = MAGIC.length + 32;
const KEEP = 8;

interface CommonJsModule {
  exports: Record<string, unknown>;
}

// Per thread. Kept on globalThis because this module is in several places: tsc's output,
// which the shims import, and inlined in the bundles, whose session code flushes.
const state = ((globalThis as Record<symbol, unknown>)[Symbol.for('capsule.codeCache')] ??= {
  loaded: new Map<string, CommonJsModule>(),
  pending: [],
  exitHook: false,
  variant: variantName(process.env.CAPSULE_CODE_CACHE_VARIANT),
}) as {
  loaded: Map<string, CommonJsModule>;
  pending: { script: Script; file: string }[];
  exitHook: boolean;
  variant: string;
};
const { loaded, pending } = state;

/** Sets the variant of the caches this thread loads from now on (see above). */
export function setCodeCacheVariant(variant: string): void {
  state.variant = variantName(variant);
}

function variantName(v: string | undefined): string {
  return v !== undefined && /^[a-z]{1,16}$/.test(v) ? v : 'any';
}

/** The cache folder, or null when the cache is off or no per-user folder is known. */
export function codeCacheDir(env: NodeJS.ProcessEnv = process.env): string | null {
  const set = env.CAPSULE_CODE_CACHE;
  if (set !== undefined && set !== '') return set === 'off' || set === '0' ? null : set;
  let home = '';
  try {
    home = homedir();
  } catch {
    // no home directory: no cache
  }
  let base: string | undefined;
  if (process.platform === 'win32') base = env.LOCALAPPDATA || (home && join(home, 'AppData', 'Local'));
  else if (process.platform === 'darwin') base = home && join(home, 'Library', 'Caches');
  else
    base =
      env.XDG_CACHE_HOME && isAbsolute(env.XDG_CACHE_HOME)
        ? env.XDG_CACHE_HOME
        : home && join(home, '.cache');
  return base ? join(base, 'capsule', 'code') : null;
}

/** Runs the CommonJS bundle at `url` (once per thread) and returns its exports. */
export function loadBundle(url: URL | string): Record<string, unknown> {
  const file = typeof url === 'string' && !url.startsWith('file:') ? url : fileURLToPath(url);
  const known = loaded.get(file);
  if (known) return known.exports;

  const source = readFileSync(file, 'utf8');
  const dir = codeCacheDir();
  const cacheFile = dir && join(dir, cacheName(file, source));
  const cachedData = cacheFile ? readCache(cacheFile) : undefined;
  const script = new Script(
    // One line for the wrapper's head, so line numbers in stacks and source maps match the file.
    `(function (exports, require, module, __filename, __dirname, __bundleUrl, __import) {${source}\n})`,
    { filename: file, cachedData },
  );
  if (cacheFile && (cachedData === undefined || script.cachedDataRejected))
    pending.push({ script, file: cacheFile });

  const module: CommonJsModule = { exports: {} };
  loaded.set(file, module);
  const require = createRequire(file);
  const here = dirname(file);
  const jsUrl = pathToFileURL(file.replace(/\.cjs$/, '.js')).href;
  // The bundle's import() calls, renamed by scripts/bundle.mjs: Node 20 loses a script's
  // dynamic-import callback when the script comes from cached data, so they are made here,
  // from an ES module, relative to the bundle's tsc-output URL as they were written.
  const dynamicImport = (spec: string) => import(spec.startsWith('.') ? new URL(spec, jsUrl).href : spec);
  (script.runInThisContext() as (...a: unknown[]) => void)(
    module.exports,
    require,
    module,
    file,
    here,
    jsUrl,
    dynamicImport,
  );
  return module.exports;
}

/**
 * Has the caches this thread needs written when the process exits (the main
 * thread, once the guest has run: runtime/node/session.ts).
 */
export function saveCodeCacheAtExit(): void {
  if (state.exitHook || pending.length === 0) return;
  state.exitHook = true;
  process.once('exit', flushCodeCache);
}

/**
 * Writes the cache of each bundle this thread loaded without a usable one.
 * Called at exit on the main thread, and by the guest's worker when the guest
 * has finished (a worker is terminated, and runs no exit handlers). Best effort:
 * a folder that cannot be written only means the next run compiles again.
 */
export function flushCodeCache(): void {
  const jobs = pending.splice(0);
  if (jobs.length === 0) return;
  try {
    mkdirSync(dirname(jobs[0]!.file), { recursive: true, mode: 0o700 });
  } catch {
    return;
  }
  for (const { script, file } of jobs) {
    const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    try {
      const payload = script.createCachedData();
      const fd = openSync(tmp, 'wx', 0o600);
      try {
        writeSync(fd, MAGIC);
        writeSync(fd, sha256(payload));
        writeSync(fd, payload);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, file);
      prune(file);
    } catch {
      try {
        unlinkSync(tmp);
      } catch {
        // not written
      }
    }
  }
}

function cacheName(file: string, source: string): string {
  const digest = createHash('sha256').update(source).digest('hex').slice(0, 32);
  return `${basename(file, '.cjs')}.${digest}.${state.variant}-${process.version}-${process.arch}.v8`;
}

/** The payload of a cache file that passes its checksum, else undefined. */
function readCache(file: string): Buffer | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch {
    return undefined;
  }
  if (bytes.length <= HEADER || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
  const payload = bytes.subarray(HEADER);
  return sha256(payload).equals(bytes.subarray(MAGIC.length, HEADER)) ? payload : undefined;
}

/** Keeps the KEEP newest cache files of this bundle (variants, other builds, other Node versions). */
function prune(file: string): void {
  const dir = dirname(file);
  const prefix = `${basename(file).split('.')[0]}.`;
  const mine = readdirSync(dir)
    .filter((n) => n.startsWith(prefix) && n.endsWith('.v8'))
    .map((n) => ({ n, t: statSync(join(dir, n), { throwIfNoEntry: false })?.mtimeMs ?? 0 }))
    .sort((a, b) => b.t - a.t);
  for (const { n } of mine.slice(KEEP)) {
    try {
      unlinkSync(join(dir, n));
    } catch {
      // another run removed it
    }
  }
}

function sha256(bytes: Uint8Array): Buffer {
  return createHash('sha256').update(bytes).digest();
}

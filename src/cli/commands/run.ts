import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { HEADER_MAGIC } from '../../package/bundle/format.js';
import { NAME_RE } from '../../package/types.js';
import { resolve } from 'node:path';
import { parseWithTarget } from '../argv.js';
import { CliError, ExitCode } from '../errors.js';
import { runSession, type MountSpec } from '../../runtime/node/session.js';
import { taskForPrestartedWorker } from '../../runtime/node/prestart.js';
import { packageViewModule } from './view-module.js';

export const runUsage = `Usage: capsule run [options] TARGET [--] [ARGS...]

Runs a WebAssembly (WASI preview1) program in isolation.

TARGET
  FILE.wasm                 a WASI command module
  NAME[@VERSION]            a package from the local store (highest version by
                            default; VERSION may be a range like ^1.2)
  FILE.capsule              a bundle file, run in place without importing it
  http(s)://HOST:PORT/NAME[@VERSION|@RANGE|@CHANNEL]
                            a package streamed from a server: it starts at once,
                            its files are fetched as they are read and kept in
                            the local store (then 'capsule run NAME@VERSION'
                            works offline). NAME alone follows the server's
                            stable channel (else its highest version that is not
                            yanked); @beta or --channel beta another channel;
                            @1.2.3 pins. When the server cannot be reached, the
                            newest matching copy from it in the local store runs,
                            with a warning
  --cloud http(s)://HOST:PORT/NAME[@VERSION]
                            run it on the server instead, with this terminal
                            attached (docs/cloud.md)

Options
  --dir HOST::GUEST         grant the host directory HOST to the app at GUEST
                            (GUEST may be "/"; "--dir DIR" alone maps DIR to DIR)
  --ro-dir HOST::GUEST      the same, read-only: every write fails with EROFS
  --env KEY=VALUE           set an environment variable; the app sees exactly
                            the --env pairs and nothing else
  --timeout SECONDS         stop the app after this much wall-clock time (exit 124)
  --memory MIB              cap the app's linear memory; allocations past it fail
  --allow-unsigned          run a bundle that no trusted key signed
  --ephemeral               run a package on a throwaway state layer (nothing
                            it writes is kept)
  --cloud                   run TARGET (a server URL/NAME) as a cloud session
                            on the server, attached to this terminal; your
                            state there is the server's copy (see 'capsule
                            state push|pull')
  --session ID              with --cloud, TARGET a server URL: attach to your
                            running session ID (its recent output is replayed)
  --channel C               for a server target: follow channel C (stable, beta)
  -h, --help                show this help

A package runs in its own view: its layers, then its settings, then your
state layer on top, where everything it writes is kept (see 'capsule state').
--env adds to or overrides the package's environment.

The app's exit code is capsule's exit code. capsule itself exits with 125 for
bad arguments, 126 when the target cannot be started, 127 when it is not found,
134 when the app traps, and 124 when --timeout expires.

Examples
  capsule run --dir ./data::/data sqlite3.wasm -- /data/app.db
  capsule run --ro-dir ./share::/share --env LANG=C tool.wasm -- --version`;

const options = {
  dir: { type: 'string', multiple: true },
  'ro-dir': { type: 'string', multiple: true },
  env: { type: 'string', multiple: true },
  timeout: { type: 'string' },
  memory: { type: 'string' },
  'allow-unsigned': { type: 'boolean' },
  ephemeral: { type: 'boolean' },
  cloud: { type: 'boolean' },
  session: { type: 'string' },
  channel: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function parseMount(spec: string, readOnly: boolean): MountSpec {
  const at = spec.indexOf('::');
  const host = at < 0 ? spec : spec.slice(0, at);
  const guest = at < 0 ? spec : spec.slice(at + 2);
  const flag = readOnly ? '--ro-dir' : '--dir';
  if (!host || !guest) throw new CliError(`${flag} ${spec}: expected HOST::GUEST`, 125, undefined, runUsage);
  let st;
  try {
    st = statSync(host);
  } catch {
    throw new CliError(
      `${flag} ${spec}: no such host directory: ${host}`,
      125,
      'create it first, or fix the path',
    );
  }
  if (!st.isDirectory()) throw new CliError(`${flag} ${spec}: ${host} is not a directory`, 125);
  return { host: resolve(host), guest, readOnly };
}

function positiveNumber(name: string, v: string | undefined, integer: boolean): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new CliError(
      `--${name} ${v}: expected a positive ${integer ? 'integer' : 'number'}`,
      125,
      undefined,
      runUsage,
    );
  }
  return n;
}

function statOrNull(path: string) {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

/** A bundle starts with the bundle header magic (package/bundle/format.ts). */
function looksLikeBundle(path: string): boolean {
  try {
    const fd = openSync(path, 'r');
    try {
      const head = Buffer.alloc(HEADER_MAGIC.length);
      readSync(fd, head, 0, head.length, 0);
      return HEADER_MAGIC.every((b, i) => head[i] === b);
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
}

/** A local run of a package that came from a server is spooled, to be reported to it later. */
async function spoolIfFromServer(digest: string): Promise<void> {
  try {
    const { spoolLocalLaunch } = await import('../../delivery/remote/usage.js');
    const { capsuleHome } = await import('../../store/home.js');
    spoolLocalLaunch(capsuleHome(), digest);
  } catch {
    // Usage is best effort: it never fails a run.
  }
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals, rest } = parseWithTarget(argv, options, runUsage);
  if (values.help) {
    process.stdout.write(runUsage + '\n');
    return 0;
  }
  const target = positionals[0];
  if (!target) throw new CliError('missing TARGET', 125, undefined, runUsage);
  if (positionals.length > 1)
    throw new CliError(`unexpected argument: ${positionals[1]}`, 125, undefined, runUsage);
  if (values.session !== undefined && !values.cloud)
    throw new CliError('--session needs --cloud', 125, undefined, runUsage);
  if (values.cloud) {
    const local = ['dir', 'ro-dir', 'env', 'timeout', 'memory', 'allow-unsigned', 'ephemeral'] as const;
    const given = local.find((k) => values[k] !== undefined);
    if (given)
      throw new CliError(
        `--${given} does not apply to a cloud session: the server sets its limits and grants no host directories`,
        125,
        undefined,
        runUsage,
      );
    // Loaded only for cloud runs: the WebSocket client stays off the local path.
    const { runCloud } = await import('./run-cloud.js');
    return runCloud({ target, args: rest, session: values.session, channel: values.channel });
  }

  const env: [string, string][] = (values.env ?? []).map((pair) => {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new CliError(`--env ${pair}: expected KEY=VALUE`, 125, undefined, runUsage);
    return [pair.slice(0, eq), pair.slice(eq + 1)];
  });
  const mounts = [
    ...(values.dir ?? []).map((d) => parseMount(d, false)),
    ...(values['ro-dir'] ?? []).map((d) => parseMount(d, true)),
  ];
  const timeoutSeconds = positiveNumber('timeout', values.timeout, false);
  const memoryMiB = positiveNumber('memory', values.memory, true);

  const limits = {
    timeoutSeconds,
    memoryMiB,
    onWarning: (m: string) => process.stderr.write(`capsule: ${m}\n`),
  };
  const st = statOrNull(target);
  const isBundle =
    target.endsWith('.capsule') ||
    (st?.isFile() === true && !target.endsWith('.wasm') && looksLikeBundle(target));
  let result;
  const remote = /^https?:\/\//.test(target);
  if (values.channel !== undefined && !remote)
    throw new CliError('--channel is for server targets: http(s)://HOST:PORT/NAME', 125, undefined, runUsage);
  if (remote) {
    // A streamed run; loaded only for URLs.
    const { prepareRemoteRun } = await import('./run-remote.js');
    const { withChannel } = await import('./remote.js');
    const prepared = await prepareRemoteRun({
      target: withChannel(target, values.channel, runUsage),
      memoryMiB,
      args: rest,
      env,
      mounts,
      allowUnsigned: values['allow-unsigned'] ?? false,
      ephemeral: values.ephemeral ?? false,
    });
    try {
      result = await prepared.nameTrap(await runSession({ ...prepared.session, ...limits }));
    } finally {
      prepared.streamer.stop();
      prepared.release();
    }
  } else if (isBundle || (st === null && NAME_RE.test(target.split('@')[0]!) && !target.endsWith('.wasm'))) {
    if (isBundle && st === null) throw new CliError(`${target}: no such file`, ExitCode.NOT_FOUND);
    // A bundle's view module loads in the guest's worker while this thread loads the package code.
    // (A run from the store gives the worker the entry's chunks to read first: run-package.ts.)
    if (isBundle) taskForPrestartedWorker(packageViewModule);
    // Loaded only for packages: a bare .wasm never pays for the package code.
    const { preparePackageRun, loadBundleReader } = await import('./run-package.js');
    if (isBundle) await loadBundleReader();
    const prepared = preparePackageRun({
      target,
      bundle: isBundle,
      args: rest,
      env,
      mounts,
      allowUnsigned: values['allow-unsigned'] ?? false,
      ephemeral: values.ephemeral ?? false,
      readEntryNow: true,
    });
    for (const d of prepared.ungranted) {
      const flag = d.access === 'ro' ? '--ro-dir' : '--dir';
      process.stderr.write(
        `capsule: note: ${prepared.package.name} asks for a host directory at ${d.guest} (${d.access}); grant one with ${flag} HOST::${d.guest}\n`,
      );
    }
    try {
      const session = runSession({ ...prepared.session, ...limits });
      session.catch(() => {}); // awaited below; not unhandled while the spool is written
      // Spooled while the guest starts, not before: usage is never on the way to the first instruction.
      if (!isBundle) await spoolIfFromServer(prepared.package.digest);
      result = await prepared.nameTrap(await session);
    } finally {
      prepared.release();
    }
  } else {
    if (st === null) {
      throw new CliError(
        `${target}: no such file or package`,
        ExitCode.NOT_FOUND,
        "check the path, or run 'capsule ls'",
      );
    }
    if (!st.isFile()) {
      throw new CliError(`${target} is not a file`, ExitCode.CANNOT_START, 'give the path of a .wasm file');
    }
    result = await runSession({ wasmPath: target, args: [target, ...rest], env, mounts, ...limits });
  }
  switch (result.kind) {
    case 'exit':
      return result.code;
    case 'trap':
      throw new CliError(
        `the app trapped${result.func ? ` in ${result.func}` : ''}: ${result.reason}`,
        ExitCode.TRAP,
        'this is a bug in the app, or it ran out of stack or memory (see --memory)',
      );
    case 'fail':
      throw new CliError(
        result.message,
        result.code,
        result.code === 126 ? 'check that it is a WASI command module' : undefined,
      );
    case 'timeout':
      throw new CliError(
        `the app ran longer than --timeout ${result.seconds}s and was stopped`,
        ExitCode.TIMEOUT,
      );
    case 'signal':
      return result.signal === 'SIGINT' ? 130 : 143;
  }
}

import { parentPort, workerData } from 'node:worker_threads';
import { WasiHost } from '../../wasi/host.js';
import { BridgeClient, BridgeOp, BridgeStatus } from '../bridge.js';
import { endOf } from '../trap.js';
import { limitMemory, ModuleFormatError } from '../limits.js';
import { fdWriter, messageWriter } from './stdio.js';
import { ownThreadId } from './thread-cpu.js';
import { placeholderImports, readFunctionProfile, PLACEHOLDER_NS } from '../split.js';
import { HostFileSystem } from '../../vfs/host/hostfs.js';
import { flushCodeCache } from './code-cache.js';
import type { Preopen, StdioStream } from '../../wasi/host.js';
import type { WorkerMessage, WorkerSpec } from './protocol.js';

const port = parentPort!;
const post = (m: WorkerMessage) => port.postMessage(m);

/**
 * The spec comes as workerData, or, for a worker started before the command
 * line was parsed (prestart.ts), as the first message.
 */
let spec = workerData as WorkerSpec;
const specArrived: Promise<void> = spec
  ? Promise.resolve()
  : new Promise((resolve) => {
      const onSpec = (m: { t?: string; spec?: WorkerSpec }) => {
        if (m.t !== 'spec' || !m.spec) return;
        port.off('message', onSpec);
        spec = m.spec;
        resolve();
      };
      port.on('message', onSpec);
    });

/**
 * Work the main thread hands a prestarted worker before its session
 * (prestart.ts): loading the view's module ahead, or reading the entry
 * module's chunks alongside the main thread. A task is synchronous once its
 * module is loaded; one that fails has done nothing the main thread relies
 * on (it checks).
 */
port.on('message', (m: { t?: string; module?: string; data?: unknown }) => {
  if (m.t !== 'task' || !m.module) return;
  void importModule(m.module)
    .then((mod) => {
      if (m.data !== undefined) (mod as { runTask?: (data: unknown) => void }).runTask?.(m.data);
    })
    .catch(() => {});
});

/**
 * The package view and the entry read are in this worker's own bundle
 * (scripts/bundle.mjs), so a package run loads no module of its own here: the
 * main thread names them by the URL of their files (cli/commands/view-module.ts),
 * and those two URLs are served from the bundle. Any other module is imported.
 */
const inlined = new Map<string, () => Promise<unknown>>([
  [
    new URL('../../delivery/local/view-node.js', import.meta.url).href,
    () => import('../../delivery/local/view-node.js'),
  ],
  [
    new URL('../../delivery/local/worker-store.js', import.meta.url).href,
    () => import('../../delivery/local/worker-store.js'),
  ],
]);
const importModule = (url: string): Promise<unknown> => (inlined.get(url) ?? (() => import(url)))();

/** The module compiled by the main thread, or why it could not be. */
const compiledModule = new Promise<{ module: WebAssembly.Module } | { error: string } | { none: true }>(
  (resolve) => {
    const onMessage = (m: { t?: string; module?: WebAssembly.Module; error?: string; none?: boolean }) => {
      if (m.t !== 'module') return;
      port.off('message', onMessage);
      if (m.none) resolve({ none: true });
      else resolve(m.module ? { module: m.module } : { error: m.error ?? 'unknown error' });
    };
    port.on('message', onMessage);
  },
);

function stdinStream(bridge: BridgeClient, isTTY: boolean): StdioStream {
  let eof = false;
  return {
    isTTY,
    read(buf: Uint8Array): number {
      if (eof) return 0;
      const n = bridge.call(BridgeOp.STDIN_READ, Math.min(buf.length, bridge.capacity), buf);
      if (n === BridgeStatus.EOF || n < 0) {
        eof = true;
        return 0;
      }
      return n;
    },
    waitReadable(timeoutMs: number | null): boolean {
      if (eof) return true;
      const r = bridge.call(BridgeOp.STDIN_WAIT, timeoutMs === null ? -1 : Math.ceil(timeoutMs));
      return r !== BridgeStatus.TIMEOUT;
    },
  };
}

interface BuiltView {
  preopens: Preopen[];
  wasm: Uint8Array;
  /** Called once, at the guest's first write to stdout or stderr (launch profiles end there). */
  onFirstOutput?: () => void;
  /** What the view has to report when the guest ends (posted to the main thread). */
  result?: () => unknown;
  /** Reads the entry module through the view (when the main thread did not compile it). */
  readEntry?: () => Uint8Array;
  /** A split entry: reads its secondary module (split.ts), fetching it first in a streamed run. */
  loadSecondary?: () => Uint8Array;
}

/** Calls `first` once, before the first write that goes through either stream. */
function watchFirstOutput(streams: StdioStream[], first: () => void): void {
  let fired = false;
  for (const s of streams) {
    const write = s.write!.bind(s);
    s.write = (buf: Uint8Array) => {
      if (!fired) {
        fired = true;
        first();
      }
      return write(buf);
    };
  }
}

async function loadView(bridge: BridgeClient): Promise<BuiltView> {
  const mounts: Preopen[] = spec.mounts.map((m) => ({
    guestPath: m.guest,
    fs: new HostFileSystem(m.host, { readOnly: m.readOnly }),
  }));
  if (!spec.view) return { preopens: mounts, wasm: new Uint8Array(0) };
  const mod = (await importModule(spec.view.module)) as {
    buildView: (
      data: unknown,
      ctx: {
        warn: (message: string) => void;
        needEntry: boolean;
        fetchObject: (digest: string) => boolean;
        fetchObjects: (digests: string[]) => boolean;
      },
    ) => BuiltView | Promise<BuiltView>;
  };
  const view = await mod.buildView(spec.view.data, {
    warn: (message) => post({ t: 'warn', message }),
    needEntry: !spec.hostCompiles,
    // Streamed runs: the main thread fetches a missing object into the local store.
    fetchObject: (digest) => {
      const req = new TextEncoder().encode(digest);
      return bridge.call(BridgeOp.FETCH_OBJECT, req.length, undefined, req) === 0;
    },
    // Many at once, newline-separated, as many per call as the bridge holds: fetched in parallel.
    fetchObjects: (digests) => {
      const per = Math.max(1, Math.floor(bridge.capacity / 72));
      let ok = true;
      for (let i = 0; i < digests.length; i += per) {
        const req = new TextEncoder().encode(digests.slice(i, i + per).join('\n'));
        ok = bridge.call(BridgeOp.FETCH_OBJECT, req.length, undefined, req) === 0 && ok;
      }
      return ok;
    },
  });
  return { ...view, preopens: [...view.preopens, ...mounts] };
}

async function main(): Promise<void> {
  await specArrived;
  // For a CPU-time limit: the main thread reads this thread's CPU time (thread-cpu.ts).
  const tid = ownThreadId();
  if (tid !== null) post({ t: 'thread', tid });
  const bridge = new BridgeClient(spec.bridge, () => post({ t: 'wake' }));
  let view: BuiltView;
  try {
    view = await loadView(bridge);
  } catch (e) {
    // A view builder marks capsule's own failures (a corrupt package: 125) with exitCode.
    const err = e as { exitCode?: number; message?: string };
    const code = err.exitCode ?? 126;
    const what = code === 126 ? `${spec.label} cannot be started: ` : '';
    post({ t: 'fail', code, message: `${what}${err.message ?? String(e)}` });
    return;
  }
  let module: WebAssembly.Module;
  const compiled = spec.hostCompiles ? await compiledModule : ({ none: true } as const);
  if ('error' in compiled) {
    post({
      t: 'fail',
      code: 126,
      message: `${spec.label} is not a valid WebAssembly module: ${compiled.error}`,
    });
    return;
  }
  if ('module' in compiled) module = compiled.module;
  else {
    try {
      let bytes = view.wasm.length > 0 || !view.readEntry ? view.wasm : view.readEntry();
      if (spec.memoryPages !== undefined) bytes = limitMemory(bytes, spec.memoryPages);
      module = await WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>);
    } catch (e) {
      const err = e as { exitCode?: number; message?: string };
      if (err.exitCode !== undefined) {
        post({ t: 'fail', code: err.exitCode, message: err.message ?? String(e) });
        return;
      }
      const why = e instanceof ModuleFormatError ? e.message : String(err.message ?? e);
      post({ t: 'fail', code: 126, message: `${spec.label} is not a valid WebAssembly module: ${why}` });
      return;
    }
  }

  const out = spec.output;
  const send = (m: WorkerMessage, transfer: ArrayBuffer[]) => port.postMessage(m, transfer);
  const stdout = out ? messageWriter(1, spec.tty[1], out, send) : fdWriter(1, spec.tty[1]);
  const stderr = out ? messageWriter(2, spec.tty[2], out, send) : fdWriter(2, spec.tty[2]);
  if (view.onFirstOutput) watchFirstOutput([stdout, stderr], view.onFirstOutput);
  const host = new WasiHost({
    args: spec.args,
    env: spec.env,
    preopens: view.preopens,
    stdin: stdinStream(bridge, spec.tty[0]),
    stdout,
    stderr,
    cpuTimeNs: () => {
      const u = process.cpuUsage();
      return BigInt(u.user + u.system) * 1000n;
    },
  });

  const imports: WebAssembly.Imports = { wasi_snapshot_preview1: host.imports };
  // Modules built with older toolchains import the same functions under the pre-release name.
  if (WebAssembly.Module.imports(module).some((i) => i.module === 'wasi_unstable')) {
    imports.wasi_unstable = host.imports;
  }
  let instance: WebAssembly.Instance | undefined;
  const placeholders = placeholderImports(module, view.loadSecondary, () => instance!);
  if (placeholders) imports[PLACEHOLDER_NS] = placeholders;
  try {
    instance = await WebAssembly.instantiate(module, imports);
  } catch (e) {
    post({ t: 'fail', code: 126, message: `${spec.label} cannot be started: ${(e as Error).message}` });
    return;
  }

  const report = () => {
    // Before the end is reported: the main thread then terminates this worker.
    flushCodeCache();
    if (view.result) post({ t: 'view-result', data: view.result() });
    if (spec.functionProfile) {
      const data = readFunctionProfile(instance!);
      if (data) post({ t: 'function-profile', data });
    }
  };
  try {
    const code = host.start(instance);
    report();
    post({ t: 'exit', code });
  } catch (e) {
    report();
    post(endOf(e, spec.label));
  }
}

main().catch((e: unknown) =>
  post({ t: 'fail', code: 125, message: `internal error: ${(e as Error).stack ?? e}` }),
);

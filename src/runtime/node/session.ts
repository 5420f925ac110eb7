import { concatBytes } from '../bytes.js';
import { Worker, type ResourceLimits } from 'node:worker_threads';
import { isatty } from 'node:tty';
import { BridgeHost, BridgeOp, BridgeStatus, createBridgeBuffer, type BridgeReply } from '../bridge.js';
import { WASM_PAGE, limitMemory, ModuleFormatError } from '../limits.js';
import { readFile } from 'node:fs/promises';
import { saveCodeCacheAtExit } from './code-cache.js';
import { StdinSource } from './stdin.js';
import { takePrestartedWorker } from './prestart.js';
import { threadCpuSeconds } from './thread-cpu.js';
import type { MountSpec, ViewSpec, WorkerMessage, WorkerSpec } from './protocol.js';

export type { MountSpec, ViewSpec } from './protocol.js';

export interface SessionOptions {
  /** What messages call the program (a path, or name@version). */
  label?: string;
  wasmPath?: string;
  view?: ViewSpec;
  /**
   * The entry module, when the caller can produce it on this thread (a
   * package's entry read from the store), as its pieces in order: compiled
   * here while the worker boots. Returns null to let the view supply it; a piece that cannot be read
   * (a damaged chunk) also hands the job to the view, which reports it.
   */
  entryBytes?: () => Iterable<Uint8Array> | null;
  /**
   * A streamed run: compiles the entry module on this thread while it
   * downloads and the worker boots (null: let the view read it), with the
   * memory limit in pages applied.
   */
  compileEntry?: (memoryPages: number | undefined) => Promise<WebAssembly.Module | null>;
  /** A streamed run: fetch an object into the local store (the worker asked for it); false if it cannot be had. */
  fetchObject?: (digest: string) => Promise<boolean>;
  args: string[];
  env: [string, string][];
  mounts: MountSpec[];
  memoryMiB?: number;
  timeoutSeconds?: number;
  /** Problems the app survived (a corrupt chunk refused, …), as they happen. */
  onWarning?: (message: string) => void;
  /** The entry is instrumented (wasm-split --instrument): return its function profile. */
  functionProfile?: boolean;
  /** Where stdin comes from and stdout/stderr go, instead of the host's fds 0-2 (a cloud session). */
  stdio?: SessionStdio;
  /** CPU seconds the guest's thread may use (Linux; checked when the budget could be spent); ends as a timeout with clock 'cpu'. */
  cpuSeconds?: number;
  /** Ends the session, as SIGTERM would, when aborted. */
  abort?: AbortSignal;
  /** false: SIGINT and SIGTERM are the caller's business (a server runs many sessions). Default true. */
  handleSignals?: boolean;
  /** V8 heap limits of the guest's worker (its JS side: the filesystem, caches; not the guest's linear memory). */
  resourceLimits?: ResourceLimits;
}

/** Stdio that is not the host's: a stream for stdin, a callback for output. */
export interface SessionStdio {
  stdin: NodeJS.ReadableStream;
  /** What the guest's isatty says for fds 0, 1, 2. */
  tty: [boolean, boolean, boolean];
  /**
   * Output as the guest writes it, in order. Call `taken` once it is consumed:
   * until then its bytes count against `window`, and the guest's next write
   * waits while the window is full.
   */
  output: (fd: 1 | 2, data: Uint8Array, taken: () => void) => void;
  /** Bytes in flight before the guest waits (default 256 KiB). */
  window?: number;
}

export type SessionResult = SessionEnd & {
  /** What the view reported when the guest ended (see ViewSpec), if anything. */
  viewResult?: unknown;
  /** An instrumented entry's function profile (SessionOptions.functionProfile). */
  functionProfile?: Uint8Array;
};

type SessionEnd =
  | { kind: 'exit'; code: number }
  | { kind: 'trap'; reason: string; func: string | null }
  | { kind: 'fail'; code: number; message: string }
  | { kind: 'timeout'; seconds: number; clock?: 'cpu' }
  | { kind: 'signal'; signal: NodeJS.Signals };

async function compileBytes(
  read: () => Promise<Uint8Array>,
  memoryPages: number | undefined,
): Promise<{ module: WebAssembly.Module } | { error: string }> {
  try {
    let bytes: Uint8Array = await read();
    if (memoryPages !== undefined) bytes = limitMemory(bytes, memoryPages);
    return { module: await WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>) };
  } catch (e) {
    return { error: e instanceof ModuleFormatError ? e.message : String((e as Error).message ?? e) };
  }
}

/**
 * Runs one guest in a worker thread and waits for it to end. The main
 * thread stays free to serve the bridge (stdin), enforce the wall-clock
 * limit and react to signals.
 */
export function runSession(opts: SessionOptions): Promise<SessionResult> {
  const bridgeBuffer = createBridgeBuffer();
  const stdin = new StdinSource(opts.stdio?.stdin);
  const outputWindow = opts.stdio ? new SharedArrayBuffer(8) : undefined;
  if (outputWindow) Atomics.store(new Int32Array(outputWindow), 1, opts.stdio!.window ?? 256 * 1024);
  const spec: WorkerSpec = {
    hostCompiles:
      opts.wasmPath !== undefined || opts.entryBytes !== undefined || opts.compileEntry !== undefined,
    label: opts.label ?? opts.wasmPath ?? 'the app',
    wasmPath: opts.wasmPath,
    view: opts.view,
    args: opts.args,
    env: opts.env,
    mounts: opts.mounts,
    memoryPages:
      opts.memoryMiB === undefined ? undefined : Math.floor((opts.memoryMiB * 2 ** 20) / WASM_PAGE),
    tty: opts.stdio?.tty ?? [isatty(0), isatty(1), isatty(2)],
    bridge: bridgeBuffer,
    output: outputWindow,
    functionProfile: opts.functionProfile,
  };

  const bridge = new BridgeHost(bridgeBuffer, async (op, arg, capacity, data): Promise<BridgeReply> => {
    if (op === BridgeOp.FETCH_OBJECT && opts.fetchObject) {
      // One digest, or several separated by newlines (fetched in parallel).
      const digests = Buffer.from(data.subarray(0, Math.min(arg, capacity)))
        .toString('latin1')
        .split('\n');
      const ok = await Promise.all(digests.map((d) => opts.fetchObject!(d)));
      return { status: ok.every(Boolean) ? 0 : BridgeStatus.ERROR };
    }
    if (op === BridgeOp.STDIN_READ) {
      const data = await stdin.read(Math.min(arg, capacity));
      return data ? { data } : { status: BridgeStatus.EOF };
    }
    if (op === BridgeOp.STDIN_WAIT) {
      return { status: (await stdin.waitReadable(arg < 0 ? null : arg)) ? 0 : BridgeStatus.TIMEOUT };
    }
    return { status: BridgeStatus.ERROR };
  });

  const prestarted = opts.resourceLimits ? undefined : takePrestartedWorker();
  const worker =
    prestarted ??
    new Worker(new URL('./worker-main.js', import.meta.url), {
      workerData: spec,
      stdout: false,
      stderr: false,
      resourceLimits: opts.resourceLimits,
    });
  if (prestarted) prestarted.postMessage({ t: 'spec', spec });

  // Compile on this thread while the worker boots (tens of ms), then hand it
  // the compiled module: Node shares it between threads without recompiling.
  const post = (read: () => Promise<Uint8Array>) =>
    void compileBytes(read, spec.memoryPages).then((m) => worker.postMessage({ t: 'module', ...m }));
  if (opts.wasmPath !== undefined) post(() => readFile(opts.wasmPath!));
  else if (opts.compileEntry) {
    // Unavailable or not compilable: the worker reads it through the view, which reports either.
    void opts.compileEntry(spec.memoryPages).then(
      (module) => worker.postMessage(module ? { t: 'module', module } : { t: 'module', none: true }),
      () => worker.postMessage({ t: 'module', none: true }),
    );
  } else if (opts.entryBytes) {
    // Read after the worker was created, so the read overlaps its boot.
    let pieces: Iterable<Uint8Array> | null = null;
    try {
      pieces = opts.entryBytes();
    } catch {
      pieces = null; // the worker reads it through the view and reports what is wrong
    }
    if (!pieces) worker.postMessage({ t: 'module', none: true });
    else {
      // Measured here: compiling the whole module beats streaming compilation
      // of locally read chunks (the reads and V8's decoder compete for 2 cores).
      const all = pieces;
      void compileBytes(async () => concatBytes(all), spec.memoryPages).then((m) =>
        // A piece that cannot be read (a damaged chunk) or does not compile: the
        // worker reads it through the view, which reports either clearly.
        worker.postMessage('module' in m ? { t: 'module', module: m.module } : { t: 'module', none: true }),
      );
    }
  }

  return new Promise<SessionResult>((resolve) => {
    let settled = false;
    let viewResult: unknown;
    let functionProfile: Uint8Array | undefined;
    const timers: NodeJS.Timeout[] = [];
    let cpuTimer: NodeJS.Timeout | undefined;
    const finish = (end: SessionEnd) => {
      if (settled) return;
      const r: SessionResult = viewResult === undefined ? { ...end } : { ...end, viewResult };
      if (functionProfile) r.functionProfile = functionProfile;
      settled = true;
      for (const t of timers) clearTimeout(t);
      clearTimeout(cpuTimer);
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigterm);
      opts.abort?.removeEventListener('abort', onAbort);
      stdin.stop();
      void worker.terminate();
      resolve(r);
    };
    const onSigint = () => finish({ kind: 'signal', signal: 'SIGINT' });
    const onSigterm = () => finish({ kind: 'signal', signal: 'SIGTERM' });
    if (opts.handleSignals !== false) {
      process.on('SIGINT', onSigint);
      process.on('SIGTERM', onSigterm);
    }
    const onAbort = () => finish({ kind: 'signal', signal: 'SIGTERM' });
    if (opts.abort?.aborted) onAbort();
    opts.abort?.addEventListener('abort', onAbort, { once: true });
    // CPU time can only be spent as fast as wall time passes: look again when the rest of the budget could be gone.
    const checkCpu = (tid: number) => {
      const limit = opts.cpuSeconds!;
      const used = threadCpuSeconds(tid);
      if (used === null || settled) return;
      if (used >= limit) finish({ kind: 'timeout', seconds: limit, clock: 'cpu' });
      else cpuTimer = setTimeout(() => checkCpu(tid), Math.max(100, (limit - used) * 1000));
    };
    const outputCell = outputWindow ? new Int32Array(outputWindow) : undefined;
    if (opts.timeoutSeconds !== undefined) {
      timers.push(
        setTimeout(
          () => finish({ kind: 'timeout', seconds: opts.timeoutSeconds! }),
          opts.timeoutSeconds * 1000,
        ),
      );
    }

    worker.on('message', (m: WorkerMessage) => {
      switch (m.t) {
        case 'wake':
          void bridge.serve();
          break;
        case 'thread':
          if (opts.cpuSeconds !== undefined) checkCpu(m.tid);
          break;
        case 'output': {
          const n = m.data.length;
          let taken = false;
          opts.stdio?.output(m.fd, m.data, () => {
            if (taken) return;
            taken = true;
            Atomics.sub(outputCell!, 0, n);
            Atomics.notify(outputCell!, 0);
          });
          break;
        }
        case 'view-result':
          viewResult = m.data;
          break;
        case 'function-profile':
          functionProfile = m.data;
          break;
        case 'warn':
          opts.onWarning?.(m.message);
          break;
        case 'exit':
          saveCodeCacheAtExit();
          finish({ kind: 'exit', code: m.code });
          break;
        case 'trap':
          saveCodeCacheAtExit();
          finish({ kind: 'trap', reason: m.reason, func: m.func });
          break;
        case 'fail':
          finish({ kind: 'fail', code: m.code, message: m.message });
          break;
      }
    });
    worker.on('error', (e) =>
      finish({ kind: 'fail', code: 125, message: `the guest's worker failed: ${e.message}` }),
    );
    worker.on('exit', (code) =>
      finish({ kind: 'fail', code: 125, message: `the guest's worker stopped unexpectedly (${code})` }),
    );
  });
}

import { parentPort, workerData } from 'node:worker_threads';
import { readFileSync } from 'node:fs';
import { WasiExit, WasiHost } from '../../wasi/host.js';
import { BridgeClient, BridgeOp, BridgeStatus } from '../bridge.js';
import { describeTrap } from '../trap.js';
import { limitMemory, ModuleFormatError } from '../limits.js';
import { fdWriter } from './stdio.js';
import { HostFileSystem } from '../../vfs/host/hostfs.js';
import type { StdioStream } from '../../wasi/host.js';
import type { WorkerMessage, WorkerSpec } from './protocol.js';

const spec = workerData as WorkerSpec;
const port = parentPort!;
const post = (m: WorkerMessage) => port.postMessage(m);

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

async function main(): Promise<void> {
  let bytes: Uint8Array = readFileSync(spec.wasmPath);
  let module: WebAssembly.Module;
  try {
    if (spec.memoryPages !== undefined) bytes = limitMemory(bytes, spec.memoryPages);
    module = await WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>);
  } catch (e) {
    const why = e instanceof ModuleFormatError ? e.message : String((e as Error).message ?? e);
    post({ t: 'fail', code: 126, message: `${spec.wasmPath} is not a valid WebAssembly module: ${why}` });
    return;
  }

  const bridge = new BridgeClient(spec.bridge, () => post({ t: 'wake' }));
  const host = new WasiHost({
    args: spec.args,
    env: spec.env,
    preopens: spec.mounts.map((m) => ({
      guestPath: m.guest,
      fs: new HostFileSystem(m.host, { readOnly: m.readOnly }),
    })),
    stdin: stdinStream(bridge, spec.tty[0]),
    stdout: fdWriter(1, spec.tty[1]),
    stderr: fdWriter(2, spec.tty[2]),
    cpuTimeNs: () => BigInt(process.cpuUsage().user + process.cpuUsage().system) * 1000n,
  });

  const imports: WebAssembly.Imports = { wasi_snapshot_preview1: host.imports };
  // Modules built with older toolchains import the same functions under the pre-release name.
  if (WebAssembly.Module.imports(module).some((i) => i.module === 'wasi_unstable')) {
    imports.wasi_unstable = host.imports;
  }
  let instance: WebAssembly.Instance;
  try {
    instance = await WebAssembly.instantiate(module, imports);
  } catch (e) {
    post({ t: 'fail', code: 126, message: `${spec.wasmPath} cannot be started: ${(e as Error).message}` });
    return;
  }

  try {
    const code = host.start(instance);
    post({ t: 'exit', code });
  } catch (e) {
    if (e instanceof WasiExit) {
      post({ t: 'exit', code: e.code });
    } else if (e instanceof TypeError && /_start|export its memory/.test(e.message)) {
      post({ t: 'fail', code: 126, message: `${spec.wasmPath} cannot be started: ${e.message}` });
    } else {
      const info = describeTrap(e);
      post({ t: 'trap', reason: info.reason, func: info.func });
    }
  }
}

main().catch((e: unknown) =>
  post({ t: 'fail', code: 125, message: `internal error: ${(e as Error).stack ?? e}` }),
);

/**
 * The guest's Web Worker: Capsule's WASI host and virtual filesystem, the
 * same code Node runs in its worker thread, over a view built from plain
 * data. Everything the guest waits for crosses the sync bridge: stdin, and
 * chunks, which the page fetches and verifies (fzstd, WebCrypto) and this
 * worker copies out (READ_OBJECT). Nothing here touches the network or
 * browser storage; the page owns both.
 */
import { WasiHost, type StdioStream } from '../../wasi/host.js';
import { BridgeClient, BridgeOp, BridgeStatus } from '../../runtime/bridge.js';
import { endOf } from '../../runtime/trap.js';
import { placeholderImports, PLACEHOLDER_NS } from '../../runtime/split.js';
import { ChunkCache } from '../../delivery/chunk-cache.js';
import { ViewError, readWhole } from '../../delivery/view-read.js';
import { hideLockedInUpper, lockView, settingsLayer } from '../../delivery/local/settings-layer.js';
import { restoreState, stateFingerprint, stateRecords } from '../../delivery/local/state-vfs.js';
import { LayerFileSystem } from '../../vfs/layer.js';
import { MemoryFileSystem } from '../../vfs/memfs.js';
import { UnionFileSystem } from '../../vfs/union.js';
import { Errno, fsError } from '../../vfs/errno.js';
import type { FileSystem } from '../../vfs/types.js';
import type { BrowserWorkerMessage, BrowserWorkerSpec, PageMessage } from './protocol.js';

/* The DOM typings describe a window; this file runs in a dedicated worker. */
const scope = globalThis as unknown as {
  postMessage(m: unknown): void;
  addEventListener(type: 'message', f: (e: MessageEvent<PageMessage>) => void): void;
};
const post = (m: BrowserWorkerMessage) => scope.postMessage(m);

let resolveSpec: (s: BrowserWorkerSpec) => void;
const specArrived = new Promise<BrowserWorkerSpec>((r) => (resolveSpec = r));
let resolveModule: (m: WebAssembly.Module | null) => void;
const moduleArrived = new Promise<WebAssembly.Module | null>((r) => (resolveModule = r));
scope.addEventListener('message', (e) => {
  const m = e.data;
  if (m.t === 'spec') resolveSpec(m.spec);
  else if (m.t === 'module') resolveModule(m.module ?? null);
});

const encoder = new TextEncoder();

/** Copies a verified chunk out of the page's cache, as many bridge round trips as its size needs. */
function readObject(bridge: BridgeClient, digest: string, size: number): Uint8Array {
  const request = encoder.encode(digest);
  const out = new Uint8Array(size);
  let at = 0;
  do {
    const n = bridge.call(BridgeOp.READ_OBJECT, at, out.subarray(at), request);
    if (n < 0) throw new Error('it could not be fetched and verified');
    if (n === 0 && at < size) throw new Error(`it is ${at} bytes, the index says ${size}`);
    at += n;
  } while (at < size);
  return out;
}

function writer(t: 'stdout' | 'stderr'): StdioStream {
  return {
    isTTY: true,
    write(buf: Uint8Array): number {
      post({ t, data: buf.slice() });
      return buf.length;
    },
  };
}

function buildView(spec: BrowserWorkerSpec, bridge: BridgeClient) {
  const refused = new Set<string>();
  const cache = new ChunkCache(
    (digest, size) => {
      try {
        return readObject(bridge, digest, size);
      } catch (e) {
        // Never hand unverified bytes to the guest: it gets EIO, the user a warning.
        if (!refused.has(digest)) {
          refused.add(digest);
          post({ t: 'warn', message: `refused chunk ${digest}: ${(e as Error).message}` });
        }
        throw fsError(Errno.IO, `chunk ${digest}`);
      }
    },
    128 * 2 ** 20,
  );
  let layers: FileSystem[];
  try {
    layers = spec.layers.map((index) => new LayerFileSystem(index, cache));
  } catch (e) {
    throw new ViewError(`the package is damaged: ${(e as Error).message}`);
  }
  const lowers = [settingsLayer(spec.settingsFiles), ...layers];
  const upper = new MemoryFileSystem();
  if (spec.state) restoreState(upper, spec.state);
  if (spec.lockedPaths.length > 0) hideLockedInUpper(upper, spec.lockedPaths, lowers);
  const view = lockView(new UnionFileSystem(lowers, upper), spec.lockedPaths);
  return { view, layers, upper };
}

/** The secondary of a split entry, from the package's own layers (never the user's state), its chunks fetched at once. */
function loadSecondary(spec: BrowserWorkerSpec, layers: FileSystem[], bridge: BridgeClient): Uint8Array {
  const path = spec.secondary!.replace(/^\/+/, '');
  const entry = spec.layers.flatMap((l) => l.entries).find((e) => e.path === path);
  const digests = (entry?.chunks ?? []).map((c) => c.digest);
  const per = Math.max(1, Math.floor(bridge.capacity / 72));
  for (let i = 0; i < digests.length; i += per) {
    const req = encoder.encode(digests.slice(i, i + per).join('\n'));
    bridge.call(BridgeOp.FETCH_OBJECT, req.length, undefined, req);
  }
  try {
    return readWhole(new UnionFileSystem(layers, new MemoryFileSystem()), path);
  } catch (e) {
    const errno = (e as { errno?: number }).errno;
    if (errno === Errno.NOENT)
      throw new ViewError(`its secondary module ${spec.secondary} is not in the package`);
    if (errno === Errno.IO)
      throw new ViewError(`its secondary module ${spec.secondary} could not be read in full`);
    throw e;
  }
}

async function main(): Promise<void> {
  const spec = await specArrived;
  const bridge = new BridgeClient(spec.bridge, () => post({ t: 'wake' }));
  let built: ReturnType<typeof buildView>;
  try {
    built = buildView(spec, bridge);
  } catch (e) {
    const err = e as { exitCode?: number; message?: string };
    post({
      t: 'fail',
      code: err.exitCode ?? 126,
      message: `${spec.label} cannot be started: ${err.message}`,
    });
    return;
  }
  const { view, layers, upper } = built;

  // The state is sent to the page whenever the guest is about to wait for
  // input (an interactive app is idle then) and at the end, if it changed.
  let saved = stateFingerprint(upper);
  const saveState = () => {
    const now = stateFingerprint(upper);
    if (now === saved) return;
    saved = now;
    post({ t: 'state', records: stateRecords(upper) });
  };

  let module = spec.hostCompiles ? await moduleArrived : null;
  if (!module) {
    const path = spec.entry.replace(/^\/+/, '');
    try {
      module = await WebAssembly.compile(readWhole(view, path) as Uint8Array<ArrayBuffer>);
    } catch (e) {
      const errno = (e as { errno?: number }).errno;
      const why =
        errno === Errno.NOENT
          ? `its entry ${spec.entry} is not in the package`
          : errno === Errno.IO
            ? `its entry ${spec.entry} has corrupt chunks; refused`
            : `it is not a valid WebAssembly module: ${(e as Error).message}`;
      post({
        t: 'fail',
        code: errno === Errno.IO ? 125 : 126,
        message: `${spec.label} cannot be started: ${why}`,
      });
      return;
    }
  }

  let eof = false;
  const stdin: StdioStream = {
    isTTY: true,
    read(buf: Uint8Array): number {
      if (eof) return 0;
      saveState();
      const n = bridge.call(BridgeOp.STDIN_READ, Math.min(buf.length, bridge.capacity), buf);
      if (n === BridgeStatus.EOF || n < 0) {
        eof = true;
        return 0;
      }
      return n;
    },
    waitReadable(timeoutMs: number | null): boolean {
      if (eof) return true;
      saveState();
      const r = bridge.call(BridgeOp.STDIN_WAIT, timeoutMs === null ? -1 : Math.ceil(timeoutMs));
      return r !== BridgeStatus.TIMEOUT;
    },
  };
  const host = new WasiHost({
    args: spec.args,
    env: spec.env,
    preopens: [{ guestPath: '/', fs: view }],
    stdin,
    stdout: writer('stdout'),
    stderr: writer('stderr'),
  });
  const imports: WebAssembly.Imports = { wasi_snapshot_preview1: host.imports };
  if (WebAssembly.Module.imports(module).some((i) => i.module === 'wasi_unstable')) {
    imports.wasi_unstable = host.imports;
  }
  let instance: WebAssembly.Instance | undefined;
  const secondary = spec.secondary === undefined ? undefined : () => loadSecondary(spec, layers, bridge);
  const placeholders = placeholderImports(module, secondary, () => instance!);
  if (placeholders) imports[PLACEHOLDER_NS] = placeholders;
  try {
    instance = await WebAssembly.instantiate(module, imports);
  } catch (e) {
    post({ t: 'fail', code: 126, message: `${spec.label} cannot be started: ${(e as Error).message}` });
    return;
  }
  try {
    const code = host.start(instance);
    saveState();
    post({ t: 'exit', code });
  } catch (e) {
    saveState();
    post(endOf(e, spec.label));
  }
}

main().catch((e: unknown) =>
  post({ t: 'fail', code: 125, message: `internal error: ${(e as Error).stack ?? String(e)}` }),
);

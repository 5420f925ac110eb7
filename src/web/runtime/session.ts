/**
 * The browser runtime's API: run a package from the server that served the
 * page, entirely in this tab.
 *
 *   const capsule = connect({ credentials: { token } });   // or 'cookie'
 *   const s = await capsule.start('sqlite', [':memory:'], { onStdout, onStderr, onExit });
 *   s.write('select 6*7;\n');
 *
 * Order of events, as in a streamed Node run (docs/browser.md): the
 * metadata is fetched and verified first; then the guest's worker starts,
 * while this thread streams the entry's runnable sections into V8's
 * streaming compiler and prefetches the launch profile; chunks the guest
 * reads come on demand through the sync bridge, fetched and verified here.
 */
import { RemoteClient, RemoteError } from '../../delivery/remote/client.js';
import { ChunkedModuleSource, streamOf } from '../../delivery/chunked-source.js';
import { layerEntryChunks } from '../../delivery/entry-chunks.js';
import { effectiveSettings, emptyPolicy, emptyUserSettings } from '../../delivery/local/settings-merge.js';
import type { ArchiveRecord } from '../../delivery/local/state-archive-format.js';
import { OPAQUE_MARKER, WHITEOUT_PREFIX } from '../../vfs/union-layout.js';
import {
  BridgeHost,
  BridgeOp,
  BridgeStatus,
  createBridgeBuffer,
  type BridgeReply,
} from '../../runtime/bridge.js';
import { functionNames, runnableBytes, type ModuleLayout } from '../../runtime/module-stream.js';
import { SEMVER_RE } from '../../package/types.js';
import { ChunkFetcher } from './chunk-fetcher.js';
import { loadPackage, resolveVersion, type LoadedPackage } from './package-loader.js';
import { StdinQueue } from './stdin.js';
import { archiveOf, defaultStateStorage, recordsOf, type StateStorage } from './state-storage.js';
import type { BrowserWorkerMessage, BrowserWorkerSpec, PageMessage } from './protocol.js';

/** How requests prove who the user is: a bearer token, or the browser's own cookies (a console session). */
export type Credentials = { token: string } | 'cookie';

export interface ConnectOptions {
  /** The server's URL; by default the origin that served the page. */
  server?: string;
  credentials: Credentials;
  /** Where state is kept; by default OPFS when available, else IndexedDB. */
  storage?: 'opfs' | 'indexeddb';
  /** The worker script's URL; by default the one served beside the runtime. */
  workerUrl?: string;
}

export type ExitInfo =
  | { kind: 'exit'; code: number }
  | { kind: 'trap'; reason: string; func: string | null }
  | { kind: 'fail'; code: number; message: string }
  | { kind: 'stopped' };

export interface StartOptions {
  /** Input given up front; the app sees end-of-file after it. Without it, input comes from write(). */
  stdin?: string | Uint8Array;
  onStdout?: (text: string) => void;
  onStderr?: (text: string) => void;
  onExit?: (result: ExitInfo) => void;
  /** Problems the app survived (a refused chunk, a state that could not be saved). Default: onStderr. */
  onWarning?: (message: string) => void;
  /** The state layer was saved (its archive's size in bytes). */
  onStateSaved?: (bytes: number) => void;
  /** Run on an empty state layer that is thrown away. */
  ephemeral?: boolean;
}

export interface SessionTimings {
  /** performance.now() at start(), when the metadata was verified, at the first output. */
  started: number;
  metadata?: number;
  firstOutput?: number;
}

export interface BrowserSession {
  readonly name: string;
  readonly version: string;
  readonly user: string;
  readonly timings: SessionTimings;
  /** Resolves when the app ends, with what onExit got. */
  readonly exited: Promise<ExitInfo>;
  /** Sends input to the app. */
  write(input: string | Uint8Array): void;
  /** End of input: the app's next read sees end-of-file. */
  closeStdin(): void;
  /** Stops the app at once (its worker is terminated). */
  stop(): void;
  /** Bytes and chunks fetched from the server. */
  stats(): { chunkBytes: number; chunks: number; metadataBytes: number };
}

/** A browser-side failure before the app started, with a stable code (RemoteError's codes, plus these). */
export class BrowserRunError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'BrowserRunError';
  }
}

const BRIDGE_CAPACITY = 256 * 1024;

function describeRefusal(e: unknown, app: string): BrowserRunError {
  if (e instanceof BrowserRunError) return e;
  if (e instanceof RemoteError) {
    const why =
      e.code === 'UNAUTHORIZED'
        ? 'the server does not accept your sign-in (a missing or unknown token); sign in again'
        : e.code === 'FORBIDDEN'
          ? `you are not entitled to ${app}, or it does not exist; ask your administrator for access`
          : e.code === 'NOT_FOUND'
            ? `${app}: ${e.message.replace(/^[^:]*:\/\/[^:]*:\d*: /, '')}`
            : e.code === 'UNREACHABLE'
              ? `${e.message}; try again when the server is back`
              : e.message;
    return new BrowserRunError(e.code, why);
  }
  const err = e as { code?: string; message?: string };
  return new BrowserRunError(err.code ?? 'INTERNAL', err.message ?? String(e));
}

/** True when the state holds anything at or above `path` (relative) that the union honours. */
function shadowedBy(records: ArchiveRecord[] | null): (path: string) => boolean {
  const paths = new Set((records ?? []).map((r) => r.path));
  return (path) => {
    if (paths.has(path)) return true;
    let dir = '';
    for (const part of path.split('/')) {
      const inDir = (name: string) => (dir ? `${dir}/${name}` : name);
      if (paths.has(inDir(OPAQUE_MARKER)) || paths.has(inDir(WHITEOUT_PREFIX + part))) return true;
      dir = inDir(part);
    }
    return false;
  };
}

export class BrowserRuntime {
  readonly client: RemoteClient;
  readonly storage: StateStorage;
  private readonly workerUrl: string;
  private who: Promise<string> | null = null;
  /** Saves run one after another, so an older state never lands after a newer one. */
  private saving: Promise<unknown> = Promise.resolve();

  constructor(opts: ConnectOptions) {
    const server = opts.server ?? location.origin;
    // With 'cookie', no Authorization header is sent and fetch sends the
    // page's same-origin cookies (its default), so a console session works as is.
    this.client = new RemoteClient(server, opts.credentials === 'cookie' ? null : opts.credentials.token);
    this.storage = defaultStateStorage(opts.storage);
    this.workerUrl = opts.workerUrl ?? new URL('capsule-worker.js', import.meta.url).href;
  }

  /** The signed-in user's name (state is kept per user). */
  whoami(): Promise<string> {
    this.who ??= this.client.json<{ user?: { name?: unknown } }>('GET', '/whoami').then((r) => {
      if (typeof r.user?.name !== 'string') throw new RemoteError('BAD_RESPONSE', 'whoami: no user name');
      return r.user.name;
    });
    this.who.catch(() => (this.who = null));
    return this.who;
  }

  private async stateKey(app: string): Promise<string> {
    return `${this.client.base}|${await this.whoami()}|${app}`;
  }

  private async loadState(app: string): Promise<ArchiveRecord[] | null> {
    const bytes = await this.storage.load(await this.stateKey(app));
    if (!bytes) return null;
    try {
      return await recordsOf(bytes);
    } catch (e) {
      throw new BrowserRunError(
        'CORRUPT_STATE',
        `your saved state of ${app} in this browser is damaged (${(e as Error).message}); reset it to start afresh`,
      );
    }
  }

  /** The user's state of `app` as a state archive (what `capsule state import` reads); empty if none. */
  async exportState(app: string): Promise<Uint8Array> {
    await this.saving;
    const bytes = await this.storage.load(await this.stateKey(app));
    if (bytes) {
      await recordsOf(bytes); // never hand out a damaged archive
      return bytes;
    }
    return archiveOf([]);
  }

  /** What the user's state of `app` holds (markers included), as this browser keeps it. */
  async listState(app: string): Promise<{ path: string; type: string; size: number }[]> {
    await this.saving;
    const records = await this.loadState(app);
    return (records ?? []).map((r) => ({ path: r.path, type: r.type, size: r.size }));
  }

  /** Replaces the user's state of `app` with an archive (from `capsule state export`); refused whole if it is bad. */
  async importState(app: string, archive: Uint8Array): Promise<{ entries: number }> {
    const records = await recordsOf(archive);
    await this.save(app, async () => archive);
    return { entries: records.length };
  }

  async resetState(app: string): Promise<void> {
    await this.saving;
    await this.storage.remove(await this.stateKey(app));
  }

  /** Queued at once, so a save asked for before an app's exit is written before the exit is reported. */
  private save(app: string, archive: () => Promise<Uint8Array>): Promise<number> {
    const next = this.saving.then(async () => {
      const bytes = await archive();
      await this.storage.save(await this.stateKey(app), bytes);
      return bytes.length;
    });
    this.saving = next.catch(() => {});
    return next;
  }

  /** Runs `target` (name, name@version, name@channel, name@range) with `args` in a worker of this tab. */
  async start(target: string, args: string[], opts: StartOptions = {}): Promise<BrowserSession> {
    const started = performance.now();
    let pkg: LoadedPackage;
    let user: string;
    let state: ArchiveRecord[] | null;
    try {
      const at = target.indexOf('@');
      const pinned = at > 0 && SEMVER_RE.test(target.slice(at + 1));
      const { name, version } = pinned
        ? { name: target.slice(0, at), version: target.slice(at + 1) }
        : await resolveVersion(this.client, target);
      [pkg, user] = await Promise.all([loadPackage(this.client, name, version), this.whoami()]);
      state = opts.ephemeral ? null : await this.loadState(pkg.name);
    } catch (e) {
      throw describeRefusal(e, target);
    }
    return this.launch(pkg, user, state, args, opts, { started, metadata: performance.now() });
  }

  private launch(
    pkg: LoadedPackage,
    user: string,
    state: ArchiveRecord[] | null,
    args: string[],
    opts: StartOptions,
    timings: SessionTimings,
  ): BrowserSession {
    const m = pkg.manifest;
    const settings = effectiveSettings(m, emptyPolicy(), emptyUserSettings());
    const fetcher = new ChunkFetcher(this.client);
    const stdin = new StdinQueue();
    if (opts.stdin !== undefined) {
      stdin.push(opts.stdin);
      stdin.close();
    }
    const warn = opts.onWarning ?? ((message: string) => opts.onStderr?.(`capsule: ${message}\n`));
    const bridgeBuffer = createBridgeBuffer(BRIDGE_CAPACITY);
    const chunks = layerEntryChunks(pkg.layers, m.entry, {
      settingsFiles: settings.files,
      shadowed: shadowedBy(state),
    });
    const spec: BrowserWorkerSpec = {
      label: `${pkg.name}@${pkg.version}`,
      layers: pkg.layers,
      settingsFiles: settings.files,
      lockedPaths: settings.lockedPaths,
      entry: m.entry,
      secondary: m.split?.secondary,
      args: [m.entry, ...(args.length > 0 ? args : m.args)],
      env: settings.env,
      state,
      hostCompiles: chunks !== null,
      bridge: bridgeBuffer,
    };
    const worker = new Worker(this.workerUrl, { type: 'module', name: `capsule ${spec.label}` });
    const send = (msg: PageMessage) => worker.postMessage(msg);
    send({ t: 'spec', spec });
    if (pkg.profile.length > 0) fetcher.prefetch(pkg.profile);

    // The entry's runnable sections, compiled here as they download while the worker boots.
    const layout: ModuleLayout = { customs: [], tail: 0 };
    const source = chunks
      ? new ChunkedModuleSource(
          chunks,
          async (d) => void (await fetcher.fetch(d)),
          (c) => {
            const plain = fetcher.get(c.digest);
            if (!plain) throw new Error(`chunk ${c.digest} left the cache before it was read`);
            return plain;
          },
        )
      : null;
    if (source) {
      const response = new Response(streamOf(runnableBytes(source, layout)[Symbol.asyncIterator]()), {
        headers: { 'content-type': 'application/wasm' },
      });
      // Not compilable or not fetchable here: the worker reads it through the view and reports which.
      WebAssembly.compileStreaming(response).then(
        (module) => send({ t: 'module', module }),
        () => send({ t: 'module', none: true }),
      );
    }

    const bridge = new BridgeHost(bridgeBuffer, async (op, arg, capacity, data): Promise<BridgeReply> => {
      // TextDecoder refuses views of shared memory: copy the request out first.
      const text = (n: number) => new TextDecoder().decode(data.slice(0, Math.min(n, capacity)));
      switch (op) {
        case BridgeOp.STDIN_READ: {
          const bytes = await stdin.read(Math.min(arg, capacity));
          return bytes ? { data: bytes } : { status: BridgeStatus.EOF };
        }
        case BridgeOp.STDIN_WAIT:
          return { status: (await stdin.waitReadable(arg < 0 ? null : arg)) ? 0 : BridgeStatus.TIMEOUT };
        case BridgeOp.FETCH_OBJECT: {
          const ok = await Promise.all(
            text(arg)
              .split('\n')
              .map((d) =>
                fetcher.fetch(d).then(
                  () => true,
                  () => false,
                ),
              ),
          );
          return { status: ok.every(Boolean) ? 0 : BridgeStatus.ERROR };
        }
        case BridgeOp.READ_OBJECT: {
          const digest = text(71);
          let plain: Uint8Array;
          try {
            plain = await fetcher.fetch(digest);
          } catch (e) {
            warn(`cannot fetch ${digest}: ${(e as Error).message}`);
            return { status: BridgeStatus.ERROR };
          }
          return { data: plain.subarray(arg, arg + capacity) };
        }
      }
      return { status: BridgeStatus.ERROR };
    });

    const decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };
    let resolveExit!: (r: ExitInfo) => void;
    const exited = new Promise<ExitInfo>((r) => (resolveExit = r));
    let done = false;
    const finish = (r: ExitInfo) => {
      if (done) return;
      done = true;
      fetcher.stop();
      stdin.close();
      worker.terminate();
      // A state saved by the worker's last message is written before the app counts as ended.
      void this.saving.then(() => {
        opts.onExit?.(r);
        resolveExit(r);
      });
    };
    const nameTrap = async (r: ExitInfo & { kind: 'trap' }): Promise<ExitInfo> => {
      const unnamed = /^function (\d+) at (0x[0-9a-f]+)$/.exec(r.func ?? '');
      if (!unnamed || !source) return r;
      const names = await functionNames(source, layout).catch(() => null);
      const name = names?.get(Number(unnamed[1]));
      return name ? { ...r, func: `${name} (function ${unnamed[1]}, offset ${unnamed[2]})` } : r;
    };
    worker.onmessage = (e: MessageEvent<BrowserWorkerMessage>) => {
      const msg = e.data;
      switch (msg.t) {
        case 'wake':
          void bridge.serve();
          break;
        case 'stdout':
        case 'stderr':
          timings.firstOutput ??= performance.now();
          (msg.t === 'stdout' ? opts.onStdout : opts.onStderr)?.(
            decoders[msg.t].decode(msg.data, { stream: true }),
          );
          break;
        case 'warn':
          warn(msg.message);
          break;
        case 'state':
          if (opts.ephemeral) break;
          this.save(pkg.name, () => archiveOf(msg.records)).then(
            (bytes) => opts.onStateSaved?.(bytes),
            (err: unknown) => warn(`the state could not be saved: ${(err as Error).message}`),
          );
          break;
        case 'exit':
          finish({ kind: 'exit', code: msg.code });
          break;
        case 'trap':
          void nameTrap({ kind: 'trap', reason: msg.reason, func: msg.func }).then(finish);
          break;
        case 'fail':
          finish({ kind: 'fail', code: msg.code, message: msg.message });
          break;
      }
    };
    worker.onerror = (e) =>
      finish({ kind: 'fail', code: 125, message: `the guest's worker failed: ${e.message}` });

    return {
      name: pkg.name,
      version: pkg.version,
      user,
      timings,
      exited,
      write: (input) => stdin.push(input),
      closeStdin: () => stdin.close(),
      stop: () => finish({ kind: 'stopped' }),
      stats: () => ({
        chunkBytes: fetcher.fetchedBytes,
        chunks: fetcher.fetchedChunks,
        metadataBytes: pkg.metadataBytes,
      }),
    };
  }
}

export function connect(opts: ConnectOptions): BrowserRuntime {
  return new BrowserRuntime(opts);
}

/** One-shot form of the API: connect with `opts.credentials` and start. */
export function start(
  app: string,
  args: string[],
  opts: StartOptions & Omit<ConnectOptions, 'workerUrl'> & { workerUrl?: string },
): Promise<BrowserSession> {
  return connect(opts).start(app, args, opts);
}

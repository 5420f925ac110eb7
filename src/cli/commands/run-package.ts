/**
 * `capsule run` for packages: from the local store (name[@version]) or from
 * a bundle file read in place. Builds the view spec (layers, settings, the
 * user's state layer), holds a lease so gc leaves the package alone, and
 * runs it like any other guest.
 */
import { registerLease } from '../../store/fs/lease.js';
import { layerStack, type ResolvedPackage } from '../../delivery/local/resolve.js';
import { readLayerIndex } from '../../package/objects.js';
import type { ChunkRef, LayerIndex } from '../../package/types.js';
import { EntryModule } from '../../delivery/module-source.js';
import { SettingsStore } from '../../delivery/local/settings.js';
import { StateStore, defaultUser } from '../../delivery/local/state.js';
import type { PackageViewSpec } from '../../delivery/local/view-spec.js';
import { entryChunks, readEntryFromLayers } from '../../delivery/local/entry.js';
import { entryCacheOf } from '../../delivery/local/entry-cache.js';
import {
  runSession,
  type MountSpec,
  type SessionOptions,
  type SessionResult,
} from '../../runtime/node/session.js';
import { taskForPrestartedWorker } from '../../runtime/node/prestart.js';
import { CliError } from '../errors.js';
import { entryReadTaskModule, packageViewModule } from './view-module.js';
import { asCliError, openLocal, resolveLocal, type LocalContext } from '../context.js';

export interface PackageRunRequest {
  target: string;
  bundle: boolean;
  args: string[];
  env: [string, string][];
  mounts: MountSpec[];
  allowUnsigned: boolean;
  /** Run on a throwaway state layer instead of the user's. */
  ephemeral: boolean;
  /** Run on this directory as the state layer instead of the user's (capture, profile). */
  upperDir?: string;
  /**
   * Start reading the entry module now, with the prestarted worker's help
   * (delivery/local/entry-read.ts), for a caller that runs the session as
   * prepared: `capsule run`. Others (a streamed run, profile) replace the
   * entry's compilation and would waste the read.
   */
  readEntryNow?: boolean;
}

export interface PreparedRun {
  session: SessionOptions;
  package: ResolvedPackage;
  /** Host directories the package asks for that this run does not grant (a hint for the user). */
  ungranted: { guest: string; access: 'ro' | 'rw' }[];
  /** The entry's chunks when the package's layers alone decide its bytes (entry.ts), else null. */
  entryChunks: ChunkRef[] | null;
  /**
   * Names the function a trap happened in, reading the name section the
   * compiled module left out; resolves once the run's background work (the
   * entry cache's write) is done.
   */
  nameTrap(result: SessionResult): Promise<SessionResult>;
  release(): void;
}

let forBundles:
  | {
      reader: typeof import('../../package/bundle/reader.js');
      trust: typeof import('../../delivery/local/trust.js');
    }
  | undefined;

/** Loads the bundle reader and the signature check, which only a bundle run needs; call it before preparing one. */
export async function loadBundleReader(): Promise<void> {
  forBundles ??= {
    reader: await import('../../package/bundle/reader.js'),
    trust: await import('../../delivery/local/trust.js'),
  };
}

function fromBundle(ctx: LocalContext, file: string, allowUnsigned: boolean) {
  if (!forBundles) throw new Error('internal: a bundle run was prepared before loadBundleReader()');
  const { reader, trust } = forBundles;
  let bundle;
  try {
    bundle = reader.openBundle(file);
  } catch (e) {
    throw asCliError(e);
  }
  try {
    const root = bundle.roots[0] ?? bundle.packages[0];
    if (!root) throw new CliError(`${file} holds no package`, 125);
    const check = trust.checkSignatures(root.digest, root.signatures, new trust.TrustStore(ctx.home).list());
    if (check.bad.length > 0) {
      throw new CliError(
        `${root.name}@${root.version} carries a signature that does not verify: refused`,
        125,
        'the bundle was tampered with; get it again from its publisher',
      );
    }
    if (check.trusted.length === 0 && !allowUnsigned) {
      throw new CliError(
        `${root.name}@${root.version} in ${file} is not signed by a key you trust`,
        125,
        "add the publisher's key with 'capsule trust add KEY.pub', or pass --allow-unsigned if you trust the file",
      );
    }
    const stack = layerStack(bundle.store, root.digest);
    const pkg: ResolvedPackage = {
      name: root.name,
      version: root.version,
      digest: root.digest,
      manifest: stack.manifest,
      layers: [...stack.layers].reverse(),
      manifests: stack.manifests,
    };
    return { pkg, indexes: pkg.layers.map((d) => readLayerIndex(bundle.store, d)) };
  } catch (e) {
    throw asCliError(e);
  } finally {
    bundle.close();
  }
}

export function preparePackageRun(req: PackageRunRequest): PreparedRun {
  const ctx = openLocal();
  let pkg: ResolvedPackage;
  let indexes: LayerIndex[];
  try {
    if (req.bundle) ({ pkg, indexes } = fromBundle(ctx, req.target, req.allowUnsigned));
    else {
      pkg = resolveLocal(ctx, req.target);
      // Read and validated once here; the worker gets them as plain data.
      indexes = pkg.layers.map((d) => readLayerIndex(ctx.objects, d));
    }
  } catch (e) {
    throw asCliError(e);
  }
  const m = pkg.manifest;
  const user = defaultUser();
  const settings = new SettingsStore(ctx.home).effective(m, user, m.name);
  if (req.mounts.length > 0 && !settings.mountsAllowed) {
    throw new CliError(
      `policy forbids granting host directories to ${m.name}`,
      125,
      'ask your administrator',
    );
  }
  const locked = req.env.filter(([k]) => settings.lockedEnv.includes(k)).map(([k]) => k);
  if (locked.length > 0)
    throw new CliError(`--env ${locked.join(', ')}: locked by policy for ${m.name}`, 125);
  const env = new Map(settings.env);
  for (const [k, v] of req.env) env.set(k, v);

  const releases: (() => void)[] = [];
  const release = () => {
    for (const r of releases.splice(0).reverse()) {
      try {
        r();
      } catch {
        // Best effort: a lease left behind expires with its process.
      }
    }
  };
  try {
    let upperDir: string | null = req.upperDir ?? null;
    if (!req.ephemeral && upperDir === null) {
      const upper = new StateStore(ctx.home.state).openUpper(user, m.name);
      releases.push(() => upper.release());
      upperDir = upper.dir;
    }
    const above = { upperDir, settingsFiles: settings.files };
    const chunks = entryChunks(indexes, m.entry, above);
    // From the store: compiled on this thread, without its custom sections, while the worker boots.
    const entry = chunks && !req.bundle ? new EntryModule(chunks, ctx.objects) : null;
    // Read before the lease is taken, so the worker reads while this thread takes it. Every
    // chunk is verified; one that a concurrent gc removed fails the read, and the run
    // then fails as it would have at the lease (the package was removed).
    if (entry && req.readEntryNow)
      entry.readShared(
        ctx.home.store.root,
        (job) => taskForPrestartedWorker(entryReadTaskModule, job),
        entryCacheOf(ctx.home),
      );
    if (!req.bundle) {
      const lease = registerLease(ctx.home.store, pkg.manifests, { store: ctx.objects });
      releases.push(() => lease.release());
    }
    const view: PackageViewSpec = {
      source: req.bundle
        ? { kind: 'bundle', file: req.target }
        : { kind: 'store', root: ctx.home.store.root },
      layers: indexes,
      settingsFiles: settings.files,
      lockedPaths: settings.lockedPaths,
      upperDir,
      entry: m.entry,
    };
    if (m.split) view.secondary = m.split.secondary;
    const args = req.args.length > 0 ? req.args : m.args;
    const entrySource = req.bundle ? null : ctx.objects;
    const granted = new Set(req.mounts.map((mt) => mt.guest.replace(/\/+$/, '') || '/'));
    const ungranted = m.permissions.dirs
      .filter((d) => !granted.has(d.guest.replace(/\/+$/, '') || '/'))
      .map((d) => ({ guest: d.guest, access: d.access }));
    return {
      package: pkg,
      ungranted,
      entryChunks: chunks,
      nameTrap: async (result) => {
        const named = await (entry?.nameTrap(result) ?? result);
        await entry?.settled(); // the entry cache's write, if this run fills it
        return named;
      },
      session: {
        label: `${pkg.name}@${pkg.version}`,
        view: { module: packageViewModule, data: view },
        args: [m.entry, ...args],
        env: [...env.entries()],
        mounts: req.mounts,
        compileEntry: entry ? (memoryPages) => entry.compile(memoryPages, false) : undefined,
        // The whole file, custom sections and all, for tools (profile --split).
        entryBytes: entrySource ? () => readEntryFromLayers(entrySource, indexes, m.entry, above) : undefined,
      },
      release,
    };
  } catch (e) {
    release();
    throw asCliError(e);
  }
}

/**
 * Runs a prepared package once and releases its lease and state layer, for
 * commands that run a package as one step of their work (capture, profile).
 * `timeout` is the command's --timeout value, checked here.
 */
export async function runPrepared(
  prepared: PreparedRun,
  timeout: string | undefined,
): Promise<SessionResult> {
  let timeoutSeconds: number | undefined;
  if (timeout !== undefined) {
    timeoutSeconds = Number(timeout);
    if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) {
      prepared.release();
      throw new CliError(`--timeout ${timeout}: expected a positive number of seconds`, 125);
    }
  }
  try {
    return await runSession({ ...prepared.session, timeoutSeconds });
  } finally {
    prepared.release();
  }
}

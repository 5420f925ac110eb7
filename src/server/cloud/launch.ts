/**
 * What a cloud session runs: the server's package, composed exactly as a
 * local run composes it (delivery/local): its layers and its dependencies'
 * from the server's object store, the settings layer (package defaults <
 * DIR/policy/<app>.json < DIR/settings/<user>/<app>.json), locked paths,
 * and on top the user's copy-on-write state layer in DIR/state/<user>/<app>,
 * leased for the life of the session.
 */
import { join } from 'node:path';
import { parseVersionSpec, selectVersion, type CatalogApp } from '../../delivery/remote/select.js';
import { layerStack } from '../../delivery/local/resolve.js';
import { readEntryFromLayers } from '../../delivery/local/entry.js';
import { SettingsStore } from '../../delivery/local/settings.js';
import { StateStore } from '../../delivery/local/state.js';
import type { PackageViewSpec } from '../../delivery/local/view-spec.js';
import { readLayerIndex, type LayerIndex } from '../../package/index.js';
import type { Digest } from '../../package/types.js';
import { channelMap } from '../channels.js';
import type { SessionOptions } from '../../runtime/node/session.js';
import type { FsObjectStore } from '../../store/fs/index.js';
import type { MetadataStore, PackageRecord } from '../metadata/types.js';

const viewModule = new URL('../../delivery/local/view-node.js', import.meta.url).href;

/**
 * The package `NAME@SPEC` names on this server, chosen as a streamed run
 * chooses it (delivery/remote/select.ts): no SPEC follows the stable channel
 * (else the highest version that is not yanked), a channel name its version,
 * a range the highest version in it that is not yanked, an exact version
 * itself (yanked or not). Null when nothing matches or SPEC is none of these.
 */
export function resolveServerPackage(meta: MetadataStore, name: string, spec?: string): PackageRecord | null {
  const wanted = parseVersionSpec(spec);
  if (!wanted) return null;
  const yanked = new Set(meta.yanked(name).map((y) => y.version));
  const app: CatalogApp = {
    name,
    versions: meta
      .packages()
      .filter((p) => p.name === name)
      .map((p) => ({ version: p.version, digest: p.digest, yanked: yanked.has(p.version) })),
    channels: channelMap(meta.channels(name), name, yanked),
  };
  const version = selectVersion(app, wanted);
  return version === null ? null : meta.packageByRef(name, version);
}

/** Where the server keeps what local runs keep in $CAPSULE_HOME. */
export function serverHome(dataDir: string) {
  return {
    state: join(dataDir, 'state'),
    settings: join(dataDir, 'settings'),
    policy: join(dataDir, 'policy'),
  };
}

/** Layer indexes are immutable: parsed once, kept by digest. */
const indexCache = new Map<Digest, LayerIndex>();
function layerIndex(objects: FsObjectStore, digest: Digest): LayerIndex {
  let index = indexCache.get(digest);
  if (!index) {
    index = readLayerIndex(objects, digest);
    if (indexCache.size >= 256) indexCache.clear();
    indexCache.set(digest, index);
  }
  return index;
}

export interface CloudLaunch {
  /** Session options, without stdio and limits (the session adds those). */
  options: SessionOptions;
  /** Releases the state layer's lease. */
  release(): void;
}

export interface LaunchRequest {
  dataDir: string;
  objects: FsObjectStore;
  user: string;
  pkg: PackageRecord;
  args: string[];
  /** Extra environment for a terminal (TERM, COLUMNS, LINES) where the settings give none. */
  terminalEnv: [string, string][];
}

export function prepareCloudLaunch(req: LaunchRequest): CloudLaunch {
  const { objects, pkg } = req;
  const stack = layerStack(objects, pkg.digest);
  const m = stack.manifest;
  const layers = [...stack.layers].reverse().map((d) => layerIndex(objects, d));
  const home = serverHome(req.dataDir);
  const settings = new SettingsStore(home).effective(m, req.user, m.name);
  const env = new Map(settings.env);
  for (const [k, v] of req.terminalEnv) if (!env.has(k)) env.set(k, v);
  const upper = new StateStore(home.state).openUpper(req.user, m.name);
  try {
    const view: PackageViewSpec = {
      source: { kind: 'store', root: req.dataDir },
      layers,
      settingsFiles: settings.files,
      lockedPaths: settings.lockedPaths,
      upperDir: upper.dir,
      entry: m.entry,
      // Decoded chunks kept per session: many sessions share one machine.
      cacheBytes: 32 * 1024 * 1024,
    };
    const args = req.args.length > 0 ? req.args : m.args;
    return {
      options: {
        label: `${pkg.name}@${pkg.version}`,
        view: { module: viewModule, data: view },
        args: [m.entry, ...args],
        env: [...env.entries()],
        mounts: [],
        entryBytes: () =>
          readEntryFromLayers(objects, layers, m.entry, {
            upperDir: upper.dir,
            settingsFiles: settings.files,
          }),
      },
      release: () => upper.release(),
    };
  } catch (e) {
    upper.release();
    throw e;
  }
}

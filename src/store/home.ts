/**
 * CAPSULE_HOME (Node adapter): where one user's Capsule keeps everything.
 *
 *   $CAPSULE_HOME/            default ~/.capsule
 *     store/                  content-addressed objects, refs, tmp, leases, locks (fs/layout.ts)
 *     state/                  per-user, per-app copy-on-write state layers
 *     settings/               user overrides of app settings (<user>/<app>.json)
 *     policy/                 admin policy per app (<app>.json): settings, locks, mounts
 *     trust/                  trusted signing keys
 *
 * A relative CAPSULE_HOME is resolved against the working directory once,
 * here, so a later chdir cannot move the store.
 */
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { FsObjectStore } from './fs/object-store.js';
import { FsRefStore } from './fs/refs.js';
import { storeLayout, type StoreLayout } from './fs/layout.js';
import { ioError } from './fs/staged-file.js';

export interface CapsuleHome {
  root: string;
  store: StoreLayout;
  state: string;
  settings: string;
  policy: string;
  trust: string;
  /** Caches that can be rebuilt from the store at any time (delivery/local/entry-cache.ts). */
  cache: string;
}

export function capsuleHome(env: Record<string, string | undefined> = process.env): CapsuleHome {
  const configured = env.CAPSULE_HOME;
  const root =
    configured !== undefined && configured !== '' ? resolve(configured) : join(homedir(), '.capsule');
  return {
    root,
    store: storeLayout(join(root, 'store')),
    state: join(root, 'state'),
    settings: join(root, 'settings'),
    policy: join(root, 'policy'),
    trust: join(root, 'trust'),
    cache: join(root, 'cache'),
  };
}

/** Creates the top-level folders (0700: a user's store and state are private). */
export function ensureHome(home: CapsuleHome): void {
  for (const dir of [home.store.root, home.state, home.settings, home.policy, home.trust]) {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw ioError('create', dir, e);
    }
  }
}

/** The local store of a home: its objects and its refs. */
export function openLocalStore(home: CapsuleHome): { objects: FsObjectStore; refs: FsRefStore } {
  return { objects: new FsObjectStore(home.store.root), refs: new FsRefStore(home.store.root) };
}

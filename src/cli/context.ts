/**
 * What most commands need: the user's Capsule home and its store, and the
 * translation of the lower layers' error types into CLI errors with exit
 * codes and hints.
 */
import { capsuleHome, ensureHome, openLocalStore, type CapsuleHome } from '../store/home.js';
import type { FsObjectStore, FsRefStore } from '../store/fs/index.js';
import { StoreError } from '../store/types.js';
import { PackageError } from '../package/errors.js';
import {
  ResolveError,
  parsePackageRef,
  resolveFromRefs,
  type ResolvedPackage,
} from '../delivery/local/resolve.js';
import { CliError, ExitCode } from './errors.js';

export interface LocalContext {
  home: CapsuleHome;
  objects: FsObjectStore;
  refs: FsRefStore;
}

export function openLocal(): LocalContext {
  const home = capsuleHome();
  ensureHome(home);
  return { home, ...openLocalStore(home) };
}

/** Resolves name[@version|range] in the local store; exit 127 when there is no such package. */
export function resolveLocal(ctx: LocalContext, target: string): ResolvedPackage {
  const ref = parsePackageRef(target);
  if (!ref)
    throw new CliError(`not a package name: ${target}`, 125, 'names look like sqlite or sqlite@3.45.0');
  try {
    return resolveFromRefs(ctx.objects, (n, r) => ctx.refs.resolve(n, r), ref);
  } catch (e) {
    throw asCliError(e);
  }
}

/** Maps the errors of lower layers to a CliError; anything else is rethrown unchanged. */
export function asCliError(e: unknown): unknown {
  if (CliError.is(e)) return e;
  if (e instanceof ResolveError) {
    return e.code === 'NOT_FOUND'
      ? new CliError(e.message, ExitCode.NOT_FOUND, "run 'capsule ls' to see the packages you have")
      : new CliError(e.message, 125);
  }
  if (e instanceof StoreError) {
    if (e.code === 'NOT_FOUND')
      return new CliError(
        `the local store lacks ${e.digest ?? 'an object'}: ${e.message}`,
        125,
        "run 'capsule verify'",
      );
    if (e.code === 'CORRUPT')
      return new CliError(
        e.message,
        125,
        "run 'capsule verify' to list damaged objects, then re-import the package",
      );
    return new CliError(e.message, 125);
  }
  if (e instanceof PackageError) return new CliError(e.message, 125);
  return e;
}

/**
 * Mark-and-sweep garbage collection of a disk store, safe while apps run and
 * packs are being written:
 *   - roots: every ref, every live lease (lease.ts), and the caller's extras;
 *   - the whole mark and sweep holds the store lock, so no ref is committed
 *     and no lease registered halfway through;
 *   - an unreachable object younger than the grace period (default one hour)
 *     is kept: a pack writes its objects first and commits its ref last, and
 *     re-writing an existing object refreshes its mtime (object-store.ts);
 *   - a pack file holding dead objects is rewritten without them (packs.ts);
 *     its objects' age is the pack's, refreshed whenever a pack reuses one;
 *   - then small packs are merged into as few as the size bound allows;
 *   - staged files older than `tmpMaxAgeMs` are crash leftovers and removed;
 *     younger ones may be a writer at work.
 */
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Digest } from '../../package/types.js';
import { reachable, type ChildrenOf } from '../walk.js';
import { scanLeases } from './lease.js';
import { withLock, type LockOptions } from './lock.js';
import type { FsObjectStore } from './object-store.js';
import { FsRefStore } from './refs.js';
import { ioError, isCode } from './staged-file.js';

const HOUR = 3_600_000;

export interface GcOptions {
  /** Names an object's children; package/ supplies the real one. */
  children: ChildrenOf;
  /** Extra roots, kept with everything below them. */
  roots?: Iterable<Digest>;
  /** Unreachable objects modified more recently than this are kept; default 1 h. */
  graceMs?: number;
  /** Staged files older than this are removed; default 1 h. */
  tmpMaxAgeMs?: number;
  /** Report what would go, remove nothing. */
  dryRun?: boolean;
  lock?: LockOptions;
}

export interface GcResult {
  /** Objects left in the store (reachable, or unreachable but young). */
  kept: number;
  /** Objects removed (or, in a dry run, that would be). */
  removed: number;
  freedBytes: number;
  removedDigests: Digest[];
  /** Unreachable objects kept because they are younger than the grace period. */
  young: number;
  /** Reachable manifests or indexes that are not in the store. */
  missing: Digest[];
  staleStaged: number;
  deadLeases: number;
  /** Pack files merged into fewer (0 in a dry run). */
  mergedPacks: number;
}

export function collectGarbage(store: FsObjectStore, options: GcOptions): GcResult {
  const { graceMs = HOUR, tmpMaxAgeMs = HOUR, dryRun = false } = options;
  const layout = store.layout;
  return withLock(layout.locks, () => sweep(), { purpose: 'gc', ...options.lock });

  function sweep(): GcResult {
    const leases = scanLeases(layout);
    const roots: Digest[] = [...(options.roots ?? [])];
    for (const ref of new FsRefStore(layout.root).listRefs()) roots.push(ref.digest);
    for (const lease of leases.live) roots.push(...lease.record.digests);
    const { marked, missing } = reachable(store, roots, options.children);

    const result: GcResult = {
      kept: 0,
      removed: 0,
      freedBytes: 0,
      removedDigests: [],
      young: 0,
      missing,
      staleStaged: 0,
      deadLeases: leases.dead.length,
      mergedPacks: 0,
    };
    const now = Date.now();
    // Collected before deleting: removing entries while a directory is being
    // iterated is allowed but makes the listing's coverage unspecified.
    const all = [...store.list()];
    const unreachable = all.filter((d) => !marked.has(d));
    for (const d of unreachable) {
      const mtime = store.modifiedAt(d);
      if (mtime === null) continue;
      if (now - mtime < graceMs) {
        result.young++;
        continue;
      }
      result.freedBytes += store.size(d) ?? 0;
      result.removed++;
      result.removedDigests.push(d);
    }
    // At once: a pack holding several dead objects is rewritten once.
    if (!dryRun) store.deleteMany(result.removedDigests);
    // Then the packs left are merged into as few as the size bound allows.
    if (!dryRun) result.mergedPacks = store.mergePacks(1);
    result.kept = all.length - result.removed;
    if (!dryRun) {
      for (const path of leases.dead) rmSync(path, { force: true });
      result.staleStaged =
        removeOld(layout.tmp, tmpMaxAgeMs, now) + removeOld(layout.locks, tmpMaxAgeMs, now);
    }
    result.removedDigests.sort();
    return result;
  }
}

/** Removes staged (`*.tmp`) files in dir older than maxAgeMs; returns how many. */
function removeOld(dir: string, maxAgeMs: number, now: number): number {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    if (isCode(e, 'ENOENT')) return 0;
    throw ioError('list', dir, e);
  }
  let n = 0;
  for (const name of names) {
    if (!name.endsWith('.tmp')) continue;
    const path = join(dir, name);
    try {
      if (now - statSync(path).mtimeMs < maxAgeMs) continue;
      rmSync(path, { force: true });
      n++;
    } catch (e) {
      if (!isCode(e, 'ENOENT')) throw ioError('remove', path, e);
    }
  }
  return n;
}

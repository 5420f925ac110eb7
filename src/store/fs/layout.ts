/**
 * The on-disk layout of a store directory (`$CAPSULE_HOME/store`):
 *
 *   objects/sha256/ab/abcdef…   one file per object, named by its 64 hex digits,
 *                               in a folder named by the first two (256 shards
 *                               keep directories small); read-only (0444)
 *   packs/<32 hex>.pack         many objects in one file, written by batches of
 *                               two or more objects (pack-file.ts); read-only
 *   refs/<name>/<version>       a text file: the manifest digest and "\n"
 *   tmp/<pid>-<random>.tmp      staged writes; renamed into objects/ or refs/
 *   leases/<pid>-<random>.json  roots held by running apps (lease.ts)
 *   locks/store.lock            the store lock (lock.ts)
 *
 * tmp/ sits in the same directory tree as objects/ and refs/ so that the
 * commit is a rename within one filesystem, which is atomic.
 */
import { join } from 'node:path';

export interface StoreLayout {
  root: string;
  objects: string;
  packs: string;
  refs: string;
  tmp: string;
  leases: string;
  locks: string;
}

export function storeLayout(root: string): StoreLayout {
  return {
    root,
    objects: join(root, 'objects', 'sha256'),
    packs: join(root, 'packs'),
    refs: join(root, 'refs'),
    tmp: join(root, 'tmp'),
    leases: join(root, 'leases'),
    locks: join(root, 'locks'),
  };
}

/**
 * Leases: how a running app keeps its package alive while `capsule gc` runs.
 * A lease is a file `leases/<pid>-<random>.json` holding JSON
 * `{pid, hostname, time, digests}` (the manifests the app runs). gc treats
 * every object reachable from a live lease as a root; a lease whose process
 * is gone is dead and gc deletes it.
 *
 * Registering does not take the store lock (a dozen file operations on every
 * launch), yet never lands in the middle of a gc. gc holds the lock from
 * before it reads the leases until it has swept. The lease is written first,
 * atomically; then, if the lock is held, registering waits for it. So either
 * gc read the leases after this one was written and keeps its package, or
 * that gc has finished by the time the presence check below runs, which finds
 * out whether the package survived it.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DIGEST_RE, type Digest } from '../../package/types.js';
import { assertDigest } from '../digest.js';
import { StoreError, type ObjectStore } from '../types.js';
import type { StoreLayout } from './layout.js';
import { lockHeld, withLock, type LockOptions } from './lock.js';
import { currentOwner, ownerAlive, parseOwner, type Owner } from './owner.js';
import { ioError, isCode, removeFile, writeFileVolatile } from './staged-file.js';

export interface LeaseRecord extends Owner {
  digests: Digest[];
}

export class Lease {
  #held = true;

  constructor(
    readonly path: string,
    readonly record: LeaseRecord,
  ) {}

  /** Drops the lease; a second call does nothing. Needs no lock: removing a root is always safe. */
  release(): void {
    if (!this.#held) return;
    this.#held = false;
    removeFile(this.path);
  }
}

export interface LeaseOptions extends LockOptions {
  /** When given, every leased digest must be in it once the lease is held, or NOT_FOUND is thrown. */
  store?: ObjectStore;
}

/** Registers a lease on `digests` for this process. */
export function registerLease(layout: StoreLayout, digests: Digest[], options: LeaseOptions = {}): Lease {
  for (const d of digests) assertDigest(d);
  const record: LeaseRecord = { ...currentOwner(), digests: [...digests] };
  const path = join(layout.leases, `${record.pid}-${randomBytes(8).toString('hex')}.json`);
  const bytes = new TextEncoder().encode(`${JSON.stringify(record)}\n`);
  // Not fsync'd: a lease matters only while this process lives, and a crash
  // that could lose it ends the process too (scanLeases treats a damaged or
  // empty lease file as dead). The rename keeps gc from reading half a lease.
  writeFileVolatile(layout.tmp, path, bytes);
  const lease = new Lease(path, record);
  try {
    // Any holder may be a gc that read the leases before this one existed: wait until it is done.
    if (lockHeld(layout.locks)) withLock(layout.locks, () => {}, { purpose: 'lease', ...options });
    const missing = options.store === undefined ? [] : digests.filter((d) => !options.store?.has(d));
    if (missing.length > 0) {
      throw new StoreError(
        'NOT_FOUND',
        `object ${missing[0]} is not in the store (removed by gc?)`,
        missing[0],
      );
    }
  } catch (e) {
    lease.release();
    throw e;
  }
  return lease;
}

export interface LeaseScan {
  live: { path: string; record: LeaseRecord }[];
  /** Leases of processes that are gone, or files that are not lease records. */
  dead: string[];
}

export function scanLeases(layout: StoreLayout): LeaseScan {
  const scan: LeaseScan = { live: [], dead: [] };
  let names: string[];
  try {
    names = readdirSync(layout.leases);
  } catch (e) {
    if (isCode(e, 'ENOENT')) return scan;
    throw ioError('list', layout.leases, e);
  }
  for (const name of names) {
    if (!name.endsWith('.json')) continue;
    const path = join(layout.leases, name);
    let raw: string;
    try {
      raw = readFileSync(path, 'utf8');
    } catch (e) {
      if (isCode(e, 'ENOENT')) continue; // released while we looked
      throw ioError('read lease', path, e);
    }
    const record = parseLease(raw);
    if (record !== null && ownerAlive(record)) scan.live.push({ path, record });
    else scan.dead.push(path);
  }
  return scan;
}

// Lease files are written whole (staged), so one that does not parse is
// damage, not a write in progress; it protects nothing.
function parseLease(raw: string): LeaseRecord | null {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return null;
  }
  const owner = parseOwner(value);
  const digests = (value as { digests?: unknown }).digests;
  if (owner === null || !Array.isArray(digests)) return null;
  if (!digests.every((d): d is Digest => typeof d === 'string' && DIGEST_RE.test(d))) return null;
  return { ...owner, digests };
}

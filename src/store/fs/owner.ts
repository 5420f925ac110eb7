/**
 * Who holds a lock or a lease: a process on a host. Liveness can only be
 * judged on the same host (signal 0 to the pid); a record from another host
 * (a store on a network filesystem) is always taken as alive, because
 * wrongly breaking a lock or dropping a lease costs far more than waiting.
 */
import { hostname } from 'node:os';

export interface Owner {
  pid: number;
  hostname: string;
  /** ISO time the record was made. */
  time: string;
}

export function currentOwner(): Owner {
  return { pid: process.pid, hostname: hostname(), time: new Date().toISOString() };
}

/** False only when the owner is provably gone: same host, and no such pid. */
export function ownerAlive(owner: Pick<Owner, 'pid' | 'hostname'>): boolean {
  if (owner.hostname !== hostname()) return true;
  return pidAlive(owner.pid);
}

export function pidAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return (e as { code?: string }).code === 'EPERM';
  }
}

/** Parses the owner fields of a lock or lease record; null when they are missing or wrong. */
export function parseOwner(value: unknown): Owner | null {
  if (typeof value !== 'object' || value === null) return null;
  const { pid, hostname: host, time } = value as Record<string, unknown>;
  if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 0) return null;
  if (typeof host !== 'string' || typeof time !== 'string') return null;
  return { pid, hostname: host, time };
}

/** Blocks the thread; the store API is synchronous, so waiting for a lock is too. */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

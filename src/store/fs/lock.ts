/**
 * The store lock: a cross-process mutex for the few operations that must not
 * interleave (gc's mark-and-sweep, a pack committing its refs, a lease being
 * registered). It is a file, `locks/<name>.lock`, holding JSON
 * `{pid, hostname, time, purpose, nonce}`.
 *
 * Taking it: the record is written to a staged file first and then hard-linked
 * to the lock name. link(2) fails with EEXIST when the lock is held and, unlike
 * O_EXCL-then-write, never shows a half-written record to another process.
 *
 * A lock whose holder is provably dead (same host, no such pid) is stale and is
 * broken. Two waiters may see the same stale lock at once, so breaking is
 * itself guarded by a short-lived `<name>.lock.break` file (O_EXCL): under it
 * the waiter re-reads the lock and removes it only if it is still the stale
 * record it saw, never a fresh lock someone else just took.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, linkSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { StoreError } from '../types.js';
import { currentOwner, ownerAlive, parseOwner, sleepSync, type Owner } from './owner.js';
import { ioError, isCode, removeFile, stageUnsynced } from './staged-file.js';

export interface LockOptions {
  /** How long to wait for a live holder; default 30 s. */
  timeoutMs?: number;
  /** Between attempts; default 50 ms. */
  pollMs?: number;
  /** Shown to whoever waits: "gc", "pack sqlite@3.45.0". */
  purpose?: string;
}

export interface LockRecord extends Owner {
  purpose: string;
  nonce: string;
}

/** A record that cannot be parsed is garbage once it is this old (no writer takes that long). */
const UNREADABLE_STALE_MS = 10_000;
/** A breaker held this long belongs to a process that died while breaking. */
const BREAKER_STALE_MS = 10_000;

export class StoreLock {
  #held = true;

  constructor(
    readonly path: string,
    readonly record: LockRecord,
  ) {}

  /** Releases the lock; a second call does nothing. */
  release(): void {
    if (!this.#held) return;
    this.#held = false;
    // Only remove the lock if it is still ours: if it was (wrongly) broken,
    // the file now belongs to someone else.
    const now = readRecord(this.path);
    if (now?.record?.nonce === this.record.nonce) removeFile(this.path);
  }
}

/** Takes the lock `locks/<name>.lock` under `lockDir`; throws StoreError LOCKED after the timeout. */
export function acquireLock(lockDir: string, name = 'store', options: LockOptions = {}): StoreLock {
  const { timeoutMs = 30_000, pollMs = 50, purpose = 'capsule' } = options;
  const path = join(lockDir, `${name}.lock`);
  const record: LockRecord = { ...currentOwner(), purpose, nonce: randomBytes(8).toString('hex') };
  try {
    mkdirSync(lockDir, { recursive: true });
  } catch (e) {
    throw ioError('create', lockDir, e);
  }
  // Not fsync'd: after a power cut a lock file may be empty, and an unreadable
  // lock is broken once it is UNREADABLE_STALE_MS old.
  const { path: staged, fd } = stageUnsynced(
    lockDir,
    new TextEncoder().encode(`${JSON.stringify(record)}\n`),
  );
  closeSync(fd);
  const deadline = Date.now() + timeoutMs;
  try {
    while (true) {
      try {
        linkSync(staged, path);
        return new StoreLock(path, record);
      } catch (e) {
        if (!isCode(e, 'EEXIST')) throw ioError('take lock', path, e);
      }
      const seen = readRecord(path);
      if (seen === null) continue; // released between our link and our read
      if (isStale(seen)) {
        breakStale(path, seen.raw);
        continue;
      }
      if (Date.now() >= deadline) throw lockedError(path, seen.record, timeoutMs);
      sleepSync(Math.min(pollMs, Math.max(1, deadline - Date.now())));
    }
  } finally {
    removeFile(staged);
  }
}

/** Whether the lock `locks/<name>.lock` is taken now (by anyone, live or not): one stat. */
export function lockHeld(lockDir: string, name = 'store'): boolean {
  return statSync(join(lockDir, `${name}.lock`), { throwIfNoEntry: false }) !== undefined;
}

/** Runs `fn` holding the lock and always releases it. */
export function withLock<T>(lockDir: string, fn: () => T, options: LockOptions & { name?: string } = {}): T {
  const lock = acquireLock(lockDir, options.name, options);
  try {
    return fn();
  } finally {
    lock.release();
  }
}

interface SeenLock {
  raw: string;
  record: LockRecord | null;
  mtimeMs: number;
}

function readRecord(path: string): SeenLock | null {
  let raw: string;
  let mtimeMs: number;
  try {
    mtimeMs = statSync(path).mtimeMs;
    raw = readFileSync(path, 'utf8');
  } catch (e) {
    if (isCode(e, 'ENOENT')) return null;
    throw ioError('read lock', path, e);
  }
  return { raw, record: parseRecord(raw), mtimeMs };
}

function parseRecord(raw: string): LockRecord | null {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return null;
  }
  const owner = parseOwner(value);
  const { purpose, nonce } = value as Record<string, unknown>;
  if (owner === null || typeof purpose !== 'string' || typeof nonce !== 'string') return null;
  return { ...owner, purpose, nonce };
}

function isStale(seen: SeenLock): boolean {
  if (seen.record === null) return Date.now() - seen.mtimeMs > UNREADABLE_STALE_MS;
  return !ownerAlive(seen.record);
}

function breakStale(path: string, staleRaw: string): void {
  const breaker = `${path}.break`;
  try {
    closeSync(openSync(breaker, 'wx'));
  } catch (e) {
    if (!isCode(e, 'EEXIST')) throw ioError('break lock', path, e);
    // Someone else is breaking it; if they died doing so, clear their breaker.
    try {
      if (Date.now() - statSync(breaker).mtimeMs > BREAKER_STALE_MS) removeFile(breaker);
    } catch {
      // gone already
    }
    sleepSync(5);
    return;
  }
  try {
    if (readRecord(path)?.raw === staleRaw) removeFile(path);
  } finally {
    removeFile(breaker);
  }
}

function lockedError(path: string, holder: LockRecord | null, timeoutMs: number): StoreError {
  const who =
    holder === null
      ? 'an unreadable lock file'
      : `pid ${holder.pid} on ${holder.hostname} since ${holder.time} (${holder.purpose})`;
  return new StoreError(
    'LOCKED',
    `the store is locked by ${who}; gave up after ${timeoutMs} ms. ` +
      `If no capsule process is running, delete ${path}.`,
  );
}

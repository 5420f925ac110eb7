/**
 * User state (Node): per user, per app, a copy-on-write upper layer on disk.
 * The runtime mounts the current generation as the writable top of the
 * app's union view, so every write anywhere in the view lands here.
 *
 *   $CAPSULE_HOME/state/<user>/<app>/
 *     current              symlink -> gens/<id>: the active generation
 *     gens/<id>/           generations (the union's upper layer, whiteouts included)
 *     snapshots/<name>/    meta.json {"created": ISO time} + upper/ (a full copy)
 *     leases/<pid>-<id>-<tag>.json   {pid, hostname, time, generation}: a process using a generation
 *     locks/state.lock     serializes every change below (store/fs/lock.ts)
 *     tmp/                 staging: new generations, snapshot copies, the next symlink
 *
 * Atomicity. A reset, rollback or import builds the new generation under
 * tmp/, renames it into gens/, makes a new symlink under tmp/ and renames it
 * over `current`. rename(2) is atomic, so a crash leaves `current` on the old
 * generation or the new one, never a mix; leftovers in tmp/ and generations
 * nothing points at are removed by the next operation (all staging happens
 * under the lock, so anything in tmp/ when the lock is taken is a leftover).
 *
 * Old generations are removed once `current` has moved on and no live lease
 * names them. A running app holds a lease (upperDir/openUpper), so a reset
 * while it runs does not pull its files away: it finishes on the old
 * generation, and what it writes after the reset is discarded with it.
 *
 * Scope: state is per app *name*, shared by all its versions, so user data
 * survives upgrades and rollbacks of the package (the App-V and Flatpak
 * choice). The price: two versions running side by side write one upper
 * layer, and a newer version's file format may not be readable by the older
 * one; snapshot before a risky upgrade.
 */
import { randomBytes } from 'node:crypto';
import {
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { acquireLock } from '../../store/fs/lock.js';
import { currentOwner, ownerAlive, parseOwner } from '../../store/fs/owner.js';
import { fsyncDir, isCode, writeFileStaged } from '../../store/fs/staged-file.js';
import { StateError, USER_RE, checkName, ioFailure } from './errors.js';
import { copyTree, treeUsage } from './state-tree.js';
import { readArchive, writeArchive, type ArchiveStats } from './state-archive.js';

export interface SnapshotInfo {
  name: string;
  /** ISO 8601 time the snapshot was taken. */
  created: string;
  bytes: number;
}

export interface StateSummary {
  user: string;
  app: string;
  /** Bytes of regular files in the current generation. */
  bytes: number;
  /** Files and symlinks in the current generation (whiteout markers not counted). */
  files: number;
  /** Deletions of package files the state records. */
  whiteouts: number;
  snapshots: SnapshotInfo[];
}

/** A process's hold on a generation; release it when the app exits. */
export interface UpperLease {
  dir: string;
  generation: string;
  release(): void;
}

/** The user Capsule acts for: $CAPSULE_USER, else the login name. */
export function defaultUser(env: Record<string, string | undefined> = process.env): string {
  const name =
    env.CAPSULE_USER !== undefined && env.CAPSULE_USER !== '' ? env.CAPSULE_USER : userInfo().username;
  return checkName('user', name);
}

interface AppPaths {
  root: string;
  current: string;
  gens: string;
  snapshots: string;
  leases: string;
  locks: string;
  tmp: string;
}

const GEN_RE = /^[0-9a-z]+-[0-9a-f]{8}$/;

function newId(): string {
  return `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

export class StateStore {
  /** `root` is $CAPSULE_HOME/state (CapsuleHome.state). */
  constructor(readonly root: string) {}

  private paths(user: string, app: string): AppPaths {
    const root = join(this.root, checkName('user', user), checkName('app', app));
    return {
      root,
      current: join(root, 'current'),
      gens: join(root, 'gens'),
      snapshots: join(root, 'snapshots'),
      leases: join(root, 'leases'),
      locks: join(root, 'locks'),
      tmp: join(root, 'tmp'),
    };
  }

  /**
   * The directory to mount as the app's upper layer, creating an empty
   * generation on first use. The generation is leased to this process until
   * it exits (for a process that runs many sessions, use openUpper).
   */
  upperDir(user: string, app: string): string {
    return this.lease(user, app, 'process').dir;
  }

  /** Like upperDir, with a lease released explicitly when the session ends. */
  openUpper(user: string, app: string): UpperLease {
    return this.lease(user, app, randomBytes(4).toString('hex'));
  }

  private lease(user: string, app: string, tag: string): UpperLease {
    const p = this.paths(user, app);
    return this.locked(p, 'open state', () => {
      const generation = this.ensureCurrent(p);
      const file = join(p.leases, `${process.pid}-${generation}-${tag}.json`);
      const record = { ...currentOwner(), generation };
      writeFileStaged(p.tmp, file, new TextEncoder().encode(`${JSON.stringify(record)}\n`));
      return {
        dir: join(p.gens, generation),
        generation,
        release: () => rmSync(file, { force: true }),
      };
    });
  }

  /** Every app with state, for one user or all of them, sorted by user then app. */
  list(user?: string): StateSummary[] {
    const users =
      user !== undefined ? [checkName('user', user)] : listDir(this.root).filter((u) => USER_RE.test(u));
    const out: StateSummary[] = [];
    for (const u of users.sort()) {
      for (const app of listDir(join(this.root, u)).sort()) {
        let p: AppPaths;
        try {
          p = this.paths(u, app);
        } catch {
          continue; // not an app directory
        }
        const gen = readCurrent(p);
        const usage = gen === null ? { files: 0, bytes: 0, whiteouts: 0 } : treeUsage(join(p.gens, gen));
        out.push({ user: u, app, ...usage, snapshots: this.snapshots(p) });
      }
    }
    return out;
  }

  private snapshots(p: AppPaths): SnapshotInfo[] {
    const out: SnapshotInfo[] = [];
    for (const name of listDir(p.snapshots).sort()) {
      let created = '';
      try {
        const meta = JSON.parse(readFileSync(join(p.snapshots, name, 'meta.json'), 'utf8')) as {
          created?: unknown;
        };
        if (typeof meta.created === 'string') created = meta.created;
      } catch {
        // a snapshot without readable metadata is still listed
      }
      out.push({ name, created, bytes: treeUsage(join(p.snapshots, name, 'upper')).bytes });
    }
    return out.sort((a, b) => a.created.localeCompare(b.created) || a.name.localeCompare(b.name));
  }

  /** Forgets everything the app wrote: the current generation becomes an empty one. Snapshots stay. */
  reset(user: string, app: string): void {
    const p = this.paths(user, app);
    this.locked(p, 'reset', () => {
      const id = newId();
      this.mkdirIn(p, (staged) => mkdirSync(staged, { mode: 0o700 }), id);
      this.swap(p, id);
    });
  }

  /** Copies the current generation to snapshots/<name>; returns the name (default: a UTC timestamp). */
  snapshot(user: string, app: string, name?: string): string {
    const p = this.paths(user, app);
    if (name !== undefined) checkName('snapshot', name);
    return this.locked(p, 'snapshot', () => {
      const gen = this.ensureCurrent(p);
      const chosen = name ?? uniqueStamp(p.snapshots);
      const target = join(p.snapshots, chosen);
      if (exists(target)) throw new StateError('EXISTS', `${app} already has a snapshot named ${chosen}`);
      const staged = join(p.tmp, `snap-${newId()}`);
      try {
        mkdirSync(staged, { recursive: true, mode: 0o700 });
        copyTree(join(p.gens, gen), join(staged, 'upper'));
        const meta = `${JSON.stringify({ created: new Date().toISOString(), generation: gen })}\n`;
        writeFileStaged(p.tmp, join(staged, 'meta.json'), new TextEncoder().encode(meta));
        fsyncDir(staged);
        mkdirSync(p.snapshots, { recursive: true, mode: 0o700 });
        renameSync(staged, target);
        fsyncDir(p.snapshots);
      } catch (e) {
        rmSync(staged, { recursive: true, force: true });
        throw ioFailure('snapshot', target, e);
      }
      return chosen;
    });
  }

  /** Makes a copy of the named snapshot the current generation; the snapshot itself stays. */
  rollback(user: string, app: string, name: string): void {
    const p = this.paths(user, app);
    checkName('snapshot', name);
    this.locked(p, 'rollback', () => {
      const source = join(p.snapshots, name, 'upper');
      if (!exists(source)) {
        throw new StateError(
          'NOT_FOUND',
          `${app} has no snapshot named ${name} (see 'capsule state ls ${app}')`,
        );
      }
      const id = newId();
      this.mkdirIn(p, (staged) => copyTree(source, staged), id);
      this.swap(p, id);
    });
  }

  /** Deletes a snapshot. */
  removeSnapshot(user: string, app: string, name: string): void {
    const p = this.paths(user, app);
    checkName('snapshot', name);
    this.locked(p, 'remove snapshot', () => {
      const target = join(p.snapshots, name);
      if (!exists(target)) throw new StateError('NOT_FOUND', `${app} has no snapshot named ${name}`);
      // Renamed aside first, so a crash never leaves a half-deleted snapshot under its name.
      const aside = join(p.tmp, `rm-${newId()}`);
      renameSync(target, aside);
      rmSync(aside, { recursive: true, force: true });
    });
  }

  /** Writes the current generation to `file` as a state archive (state-archive.ts). */
  exportState(user: string, app: string, file: string): ArchiveStats {
    const p = this.paths(user, app);
    return this.locked(p, 'export', () => writeArchive(join(p.gens, this.ensureCurrent(p)), file));
  }

  /** Verifies the archive in `file` and makes it the current generation, atomically. */
  importState(user: string, app: string, file: string): ArchiveStats {
    const p = this.paths(user, app);
    return this.locked(p, 'import', () => {
      const id = newId();
      let stats: ArchiveStats | undefined;
      this.mkdirIn(p, (staged) => (stats = readArchive(file, staged)), id);
      this.swap(p, id);
      return stats!;
    });
  }

  // ---- generations ----

  /** Runs fn holding the app's lock, after clearing what an earlier crash left behind. */
  private locked<T>(p: AppPaths, purpose: string, fn: () => T): T {
    try {
      mkdirSync(p.root, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw ioFailure('create', p.root, e);
    }
    const lock = acquireLock(p.locks, 'state', { purpose: `state ${purpose}` });
    try {
      this.recover(p);
      return fn();
    } finally {
      lock.release();
    }
  }

  private recover(p: AppPaths): void {
    for (const name of listDir(p.tmp)) rmSync(join(p.tmp, name), { recursive: true, force: true });
    this.prune(p);
  }

  /** The current generation's id, creating an empty one if there is none yet. */
  private ensureCurrent(p: AppPaths): string {
    const gen = readCurrent(p);
    if (gen !== null) return gen;
    const id = newId();
    this.mkdirIn(p, (staged) => mkdirSync(staged, { mode: 0o700 }), id);
    this.swap(p, id);
    return id;
  }

  /** Builds gens/<id> under tmp/ with `build(stagedPath)`, then renames it into gens/. */
  private mkdirIn(p: AppPaths, build: (staged: string) => void, id: string): void {
    const staged = join(p.tmp, `gen-${id}`);
    try {
      mkdirSync(p.tmp, { recursive: true, mode: 0o700 });
      mkdirSync(p.gens, { recursive: true, mode: 0o700 });
      build(staged);
      fsyncDir(staged);
      renameSync(staged, join(p.gens, id));
      fsyncDir(p.gens);
    } catch (e) {
      rmSync(staged, { recursive: true, force: true });
      throw ioFailure('stage a generation for', p.root, e);
    }
  }

  /** Points `current` at gens/<id> with one rename, then drops what nothing uses any more. */
  private swap(p: AppPaths, id: string): void {
    const next = join(p.tmp, `current-${newId()}`);
    try {
      symlinkSync(`gens/${id}`, next);
      renameSync(next, p.current);
      fsyncDir(p.root);
    } catch (e) {
      rmSync(next, { force: true });
      throw ioFailure('switch generation of', p.root, e);
    }
    this.prune(p);
  }

  /** Best effort: removes dead leases and generations neither current nor leased. */
  private prune(p: AppPaths): void {
    let current: string | null;
    try {
      current = readCurrent(p);
    } catch {
      return; // a broken `current` is reported by whoever needs it; a reset repairs it
    }
    const leased = new Set<string>();
    for (const name of listDir(p.leases)) {
      const file = join(p.leases, name);
      let record: { generation?: unknown } | null = null;
      try {
        record = JSON.parse(readFileSync(file, 'utf8')) as { generation?: unknown };
      } catch {
        // unreadable: a crash mid-write is impossible (staged), so it is not ours
      }
      const owner = parseOwner(record);
      if (owner !== null && ownerAlive(owner) && typeof record?.generation === 'string') {
        leased.add(record.generation);
      } else rmSync(file, { force: true });
    }
    for (const gen of listDir(p.gens)) {
      if (gen === current || leased.has(gen) || !GEN_RE.test(gen)) continue;
      try {
        rmSync(join(p.gens, gen), { recursive: true, force: true });
      } catch {
        // best effort; the next operation tries again
      }
    }
  }
}

/** The generation `current` points at, or null when there is none yet. */
function readCurrent(p: AppPaths): string | null {
  let target: string;
  try {
    target = readlinkSync(p.current);
  } catch (e) {
    if (isCode(e, 'ENOENT')) return null;
    throw ioFailure('read', p.current, e);
  }
  const id = target.startsWith('gens/') ? target.slice(5) : '';
  if (!GEN_RE.test(id) || !exists(join(p.gens, id))) {
    throw new StateError(
      'CORRUPT',
      `${p.current} points at ${JSON.stringify(target)}, which is not a generation`,
    );
  }
  return id;
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (e) {
    if (isCode(e, 'ENOENT', 'ENOTDIR')) return [];
    throw ioFailure('list', dir, e);
  }
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch (e) {
    if (isCode(e, 'ENOENT')) return false;
    throw ioFailure('stat', path, e);
  }
}

/** "20240501-120000" (UTC), with "-2", "-3"... when taken twice in one second. */
function uniqueStamp(dir: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  let name = stamp;
  for (let i = 2; exists(join(dir, name)); i++) name = `${stamp}-${i}`;
  return name;
}

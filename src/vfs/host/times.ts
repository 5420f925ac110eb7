/**
 * Exact nanosecond times over node:fs.
 *
 * fs.utimesSync / lutimesSync / futimesSync take seconds as a double, and a
 * double near 1.7e9 s only resolves ~240 ns, so the host stores a time a few
 * hundred ns off what the guest asked for. Programs that set a time and read it
 * back (tar, make, rsync-like tools, test suites) would see the drift.
 *
 * TimeOverrides remembers, per inode, what the guest requested and what the
 * host actually stored. A later stat reports the requested value only while
 * the host value is still exactly the stored one; any other change (a write
 * bumping mtime, another process calling touch) shows through unchanged. The
 * map is per HostFileSystem instance, so it does not survive a restart: after
 * one the host's rounded value is what a guest sees.
 */
import type { BigIntStats } from 'node:fs';
import type { Stat, TimeSpec } from '../types.js';
import { nowNs } from '../path.js';
import { kindOfMode } from './errors.js';

interface Override {
  dev: bigint;
  atime: bigint;
  atimeHost: bigint;
  mtime: bigint;
  mtimeHost: bigint;
}

/** Bound on remembered inodes; past it the oldest are simply forgotten. */
const LIMIT = 4096;

export class TimeOverrides {
  private readonly byIno = new Map<bigint, Override>();

  /** Converts host stats, substituting exact requested times that still hold. */
  toStat(st: BigIntStats): Stat {
    let atimeNs = st.atimeNs;
    let mtimeNs = st.mtimeNs;
    if (this.byIno.size > 0) {
      const o = this.byIno.get(st.ino);
      if (o !== undefined && o.dev === st.dev) {
        if (atimeNs === o.atimeHost) atimeNs = o.atime;
        if (mtimeNs === o.mtimeHost) mtimeNs = o.mtime;
      }
    }
    return {
      dev: st.dev,
      ino: st.ino,
      kind: kindOfMode(Number(st.mode)),
      nlink: st.nlink,
      size: st.size,
      atimeNs,
      mtimeNs,
      ctimeNs: st.ctimeNs,
      mode: Number(st.mode) & 0o777,
    };
  }

  /** The absolute ns values a TimeSpec pair means, given the current (guest-visible) times. */
  static target(atime: TimeSpec, mtime: TimeSpec, current: () => Stat): [bigint, bigint] {
    const now = atime === 'now' || mtime === 'now' ? nowNs() : 0n;
    const cur = atime === null || mtime === null ? current() : undefined;
    const a = atime === null ? cur!.atimeNs : atime === 'now' ? now : atime;
    const m = mtime === null ? cur!.mtimeNs : mtime === 'now' ? now : mtime;
    return [a, m];
  }

  /** Records what the guest asked for against what the host kept (`after`). */
  record(after: BigIntStats, atime: bigint, mtime: bigint): void {
    if (after.atimeNs === atime && after.mtimeNs === mtime) {
      this.byIno.delete(after.ino);
      return;
    }
    if (this.byIno.size >= LIMIT) {
      const oldest = this.byIno.keys().next();
      if (!oldest.done) this.byIno.delete(oldest.value);
    }
    this.byIno.delete(after.ino); // re-insert so the map stays in age order
    this.byIno.set(after.ino, {
      dev: after.dev,
      atime,
      atimeHost: after.atimeNs,
      mtime,
      mtimeHost: after.mtimeNs,
    });
  }
}

/** ns since the epoch as the seconds double node:fs wants (the closest it can get). */
export function toSeconds(ns: bigint): number {
  const s = ns / 1_000_000_000n;
  return Number(s) + Number(ns - s * 1_000_000_000n) / 1e9;
}

/**
 * A user's state layer held in a FileSystem (the browser keeps it in a
 * MemoryFileSystem), to and from state archive records
 * (state-archive-format.ts). Platform-neutral: the records are the same as
 * `capsule state export` writes from a state directory, so a state moves
 * between the browser and a local machine unchanged, whiteout markers
 * included.
 */
import type { FileSystem } from '../../vfs/types.js';
import { joinPath } from '../../vfs/path.js';
import { SCRATCH_PREFIX } from '../../vfs/union-layout.js';
import type { ArchiveRecord } from './state-archive-format.js';

const NS_PER_MS = 1_000_000n;

function* walk(fs: FileSystem, dir: string): Generator<ArchiveRecord> {
  for (const entry of fs.readdir(dir)) {
    // Crash leftovers of the union's atomic copy-up are never part of a state.
    if (entry.name.startsWith(SCRATCH_PREFIX)) continue;
    const path = joinPath(dir, entry.name);
    const st = fs.stat(path);
    const mtime = Number(st.mtimeNs / NS_PER_MS);
    const mode = st.mode & 0o777;
    if (entry.kind === 'dir') {
      yield { path, type: 'dir', mode, size: 0, mtime };
      yield* walk(fs, path);
    } else if (entry.kind === 'symlink') {
      yield { path, type: 'symlink', mode, size: 0, mtime, target: fs.readlink(path) };
    } else if (entry.kind === 'file') {
      const h = fs.open(path, { read: true, write: false });
      try {
        const data = new Uint8Array(Number(h.stat().size));
        for (let at = 0; at < data.length;) {
          const n = h.read(data.subarray(at), at);
          if (n === 0) break;
          at += n;
        }
        yield { path, type: 'file', mode, size: data.length, mtime, data };
      } finally {
        h.close();
      }
    }
  }
}

/** Every entry of the state, in archive order (pre-order, names sorted by readdir). */
export function stateRecords(fs: FileSystem): ArchiveRecord[] {
  return [...walk(fs, '')];
}

/**
 * A cheap summary that changes whenever the state does (paths, kinds, sizes,
 * modification times): a runtime compares it to decide whether to save.
 */
export function stateFingerprint(fs: FileSystem, dir = ''): string {
  let out = '';
  for (const entry of fs.readdir(dir)) {
    const path = joinPath(dir, entry.name);
    const st = fs.stat(path);
    out += `${path}\0${entry.kind}\0${st.size}\0${st.mtimeNs}\n`;
    if (entry.kind === 'dir') out += stateFingerprint(fs, path);
  }
  return out;
}

/**
 * Writes records (already validated and in archive order) into an empty
 * FileSystem. Modes are not kept: the FileSystem contract has no chmod, and
 * a guest on a union cannot change them either.
 */
export function restoreState(fs: FileSystem, records: readonly ArchiveRecord[]): void {
  const dirTimes: [string, bigint][] = [];
  for (const r of records) {
    const mtime = BigInt(r.mtime) * NS_PER_MS;
    if (r.type === 'dir') {
      fs.mkdir(r.path);
      dirTimes.push([r.path, mtime]);
    } else if (r.type === 'symlink') {
      fs.symlink(r.target!, r.path);
    } else {
      const h = fs.open(r.path, { read: false, write: true, create: true, exclusive: true });
      try {
        const data = r.data ?? new Uint8Array(0);
        for (let at = 0; at < data.length;) at += h.write(data.subarray(at), at);
        h.setTimes(mtime, mtime);
      } finally {
        h.close();
      }
    }
  }
  // Last, deepest first: making entries inside a directory changes its times.
  for (const [path, mtime] of dirTimes.reverse()) fs.setTimes(path, mtime, mtime);
}

/**
 * How a union records deletions and replacements inside a layer, the OCI
 * layer convention (also what the package layers use):
 *
 * - `.wh.<name>`: a regular empty file; <name> is deleted for every layer
 *   below the one holding the marker.
 * - `.wh..wh..opq` inside a directory: the directory is opaque; layers below
 *   contribute nothing to it.
 * - `.wh..wh..tmp.<id>`: scratch entries used to make copy-up and opaque
 *   mkdir atomic (written aside, then renamed into place). A crash can leave
 *   one behind; it is hidden like every `.wh.` name and hides nothing a guest
 *   can name.
 *
 * Guests never see a `.wh.` name and cannot create one (EINVAL): otherwise a
 * guest could forge deletions in its own view.
 */
import type { FileSystem } from './types.js';
import { joinPath } from './path.js';

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';
export const SCRATCH_PREFIX = '.wh..wh..tmp.';

export function isReservedName(name: string): boolean {
  return name.startsWith(WHITEOUT_PREFIX);
}

export function whiteoutPath(dir: string, name: string): string {
  return joinPath(dir, WHITEOUT_PREFIX + name);
}

let scratchCounter = 0;
const scratchSession = Date.now().toString(36);

export function scratchPath(dir: string): string {
  return joinPath(dir, `${SCRATCH_PREFIX}${scratchSession}.${scratchCounter++}`);
}

/** The deleted name a directory entry records, or undefined if it records none. */
export function whiteoutTarget(entryName: string): string | undefined {
  if (!entryName.startsWith(WHITEOUT_PREFIX)) return undefined;
  if (entryName === OPAQUE_MARKER || entryName.startsWith(SCRATCH_PREFIX)) return undefined;
  return entryName.slice(WHITEOUT_PREFIX.length);
}

/** Creates an empty marker file (a whiteout or the opaque marker); fine if it exists. */
export function touchMarker(fs: FileSystem, path: string): void {
  fs.open(path, { read: false, write: true, create: true }).close();
}

/** Removes an entry and everything under it from one layer. */
export function removeTree(fs: FileSystem, path: string): void {
  if (fs.kind(path) === 'dir') {
    for (const ent of fs.readdir(path)) removeTree(fs, joinPath(path, ent.name));
    fs.rmdir(path);
  } else fs.unlink(path);
}

/** Copies one regular file between layers through a scratch name, so a crash never leaves a torn copy visible. */
export function copyFileAtomically(from: FileSystem, to: FileSystem, path: string, scratch: string): void {
  const src = from.open(path, { read: true, write: false });
  try {
    const dst = to.open(scratch, { read: false, write: true, create: true, exclusive: true });
    try {
      const buf = new Uint8Array(64 * 1024);
      let pos = 0;
      for (;;) {
        const n = src.read(buf, pos);
        if (n === 0) break;
        let done = 0;
        while (done < n) done += dst.write(buf.subarray(done, n), pos + done);
        pos += n;
      }
      const st = src.stat();
      dst.setTimes(st.atimeNs, st.mtimeNs);
    } finally {
      dst.close();
    }
    to.rename(scratch, path);
  } catch (e) {
    try {
      to.unlink(scratch);
    } catch {
      // nothing was created, or it is already gone
    }
    throw e;
  } finally {
    src.close();
  }
}

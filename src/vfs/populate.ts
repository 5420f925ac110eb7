/**
 * Builds a tree on any writable FileSystem from a literal, for tests and
 * fixtures:
 *
 *   populate(fs, { 'a.txt': 'hi', bin: { tool: new Uint8Array([1]) }, ln: { symlink: 'a.txt' } })
 *
 * A string or Uint8Array is a file, { symlink } a symlink, any other object a
 * directory (created if missing).
 */
import type { FileSystem } from './types.js';
import { joinPath } from './path.js';

export type TreeSpec = { [name: string]: string | Uint8Array | { symlink: string } | TreeSpec };

export function populate(fs: FileSystem, tree: TreeSpec, at = ''): void {
  for (const [name, spec] of Object.entries(tree)) {
    const path = joinPath(at, name);
    if (typeof spec === 'string' || spec instanceof Uint8Array) {
      const data = typeof spec === 'string' ? new TextEncoder().encode(spec) : spec;
      const h = fs.open(path, { read: false, write: true, create: true, truncate: true });
      try {
        h.write(data, 0);
      } finally {
        h.close();
      }
    } else if (typeof spec.symlink === 'string') {
      fs.symlink(spec.symlink, path);
    } else {
      if (fs.kind(path) !== 'dir') fs.mkdir(path);
      populate(fs, spec as TreeSpec, path);
    }
  }
}

/** Reads a whole file as text; a test convenience. */
export function readText(fs: FileSystem, path: string): string {
  const h = fs.open(path, { read: true, write: false });
  try {
    const size = Number(h.stat().size);
    const buf = new Uint8Array(size);
    let got = 0;
    while (got < size) {
      const n = h.read(buf.subarray(got), got);
      if (n === 0) break;
      got += n;
    }
    return new TextDecoder().decode(buf.subarray(0, got));
  } finally {
    h.close();
  }
}

/**
 * Node adapter: reads a host directory into the sorted list of what a layer
 * will hold, refusing what a layer cannot carry. The order depends only on
 * the names (UTF-8 byte order), never on readdir order, mtimes or the machine.
 *
 * Refused: names that are not valid UTF-8, names that paths.ts refuses
 * (".wh." prefixes, over-long names, NUL cannot occur on POSIX), device files,
 * sockets and FIFOs, and symlink targets that are not valid UTF-8 or longer
 * than 4096 bytes. Symlinks are kept verbatim even when the target is
 * absolute or climbs above DIR: the view resolves them inside itself, so
 * "/etc/x" means the view's /etc/x and ".." stops at the view's root; they
 * can never reach the host.
 *
 * Modes are normalized the way git does, so that the same tree gives the same
 * layer on machines with other umasks: files are 0644, or 0755 when any
 * execute bit is set; directories 0755; symlinks 0777.
 */
import { lstatSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PackageError } from './errors.js';
import { compareUtf8, layerPathProblem, MAX_PATH_BYTES, nameProblem } from './paths.js';
import type { EntryType } from './types.js';

export interface ScannedEntry {
  /** Layer path (relative, "/"-separated). */
  path: string;
  /** Host path, for reading. */
  host: string;
  type: EntryType;
  mode: number;
  /** Size seen when scanning (files only). */
  size: number;
  target?: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeName(raw: Buffer, where: string): string {
  try {
    return utf8.decode(raw);
  } catch {
    throw new PackageError(
      'UNSAFE_TREE',
      `${where}: name ${JSON.stringify(raw.toString('latin1'))} is not valid UTF-8`,
    );
  }
}

/** Every entry under `dir` (not `dir` itself), sorted by path in UTF-8 byte order. */
export function scanTree(dir: string): ScannedEntry[] {
  if (!statSync(dir).isDirectory()) throw new PackageError('UNSAFE_TREE', `${dir}: not a directory`);
  const out: ScannedEntry[] = [];
  const walk = (hostDir: string, prefix: string): void => {
    // Buffers, so that names which are not valid UTF-8 are seen as they are.
    for (const raw of readdirSync(hostDir, { encoding: 'buffer' })) {
      const name = decodeName(raw, hostDir);
      const path = prefix ? `${prefix}/${name}` : name;
      const host = join(hostDir, name);
      const problem = nameProblem(name) ?? layerPathProblem(path);
      if (problem) throw new PackageError('UNSAFE_TREE', `${host}: ${problem}`);
      const st = lstatSync(host);
      if (st.isFile()) {
        const mode = st.mode & 0o111 ? 0o755 : 0o644;
        out.push({ path, host, type: 'file', mode, size: st.size });
      } else if (st.isDirectory()) {
        out.push({ path, host, type: 'dir', mode: 0o755, size: 0 });
        walk(host, path);
      } else if (st.isSymbolicLink()) {
        const rawTarget = readlinkSync(host, { encoding: 'buffer' });
        const target = decodeName(rawTarget, host);
        if (target === '' || rawTarget.length > MAX_PATH_BYTES) {
          throw new PackageError(
            'UNSAFE_TREE',
            `${host}: symlink target is empty or longer than ${MAX_PATH_BYTES} bytes`,
          );
        }
        out.push({ path, host, type: 'symlink', mode: 0o777, size: 0, target });
      } else {
        const kind = st.isSocket() ? 'a socket' : st.isFIFO() ? 'a FIFO' : 'a device file';
        throw new PackageError('UNSAFE_TREE', `${host}: ${kind} cannot be packed`);
      }
    }
  };
  walk(dir, '');
  return out.sort((a, b) => compareUtf8(a.path, b.path));
}

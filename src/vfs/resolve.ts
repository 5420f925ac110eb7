/**
 * Path resolution for every path_* syscall: turns a guest path relative to a
 * directory fd into a contract path (see types.ts), walking each component
 * through fs.kind and expanding symlinks here, never in the filesystem. The
 * rules follow wasmtime: the fd's root (the preopen) is a jail; absolute paths,
 * ".." above it and absolute symlink targets are EPERM.
 */
import type { FileKind, FileSystem, Stat } from './types.js';
import { Errno, fsError } from './errno.js';

export interface Resolved {
  path: string;
  trailingSlash: boolean;
  /** kind of the final entry if the resolver already looked it up (undefined = not looked up, null = absent) */
  kind?: FileKind | null;
  /** lstat of the final entry, when `statFinal` was asked and the filesystem could give it in the same lookup. */
  stat?: Stat | null;
}

export interface ResolveOptions {
  followFinal: boolean;
  /** absolute symlink targets resolve against the fs root (view mounted at guest "/") instead of failing */
  absoluteSymlinksFromRoot?: boolean;
  /** When the final entry is looked up, return its full lstat too (one host call instead of two). */
  statFinal?: boolean;
}

function finish(
  path: string,
  trailingSlash: boolean,
  kind: FileKind | null,
  st: Stat | null | undefined,
): Resolved {
  return st === undefined ? { path, trailingSlash, kind } : { path, trailingSlash, kind, stat: st };
}

/** Linux's MAXSYMLINKS. */
const MAX_EXPANSIONS = 40;
const SLASH = 47;
const DOT = 46;

/**
 * `base` is the directory fd's contract path ("" = the fs root). The common
 * case ("dir/file.txt", no symlinks) slices each component once and builds the
 * result by concatenation, nothing else.
 */
export function resolvePath(fs: FileSystem, base: string, path: string, opts: ResolveOptions): Resolved {
  if (path.length === 0) throw fsError(Errno.NOENT, 'empty path');
  if (path.includes('\0')) throw fsError(Errno.INVAL, 'NUL in path');
  if (path.charCodeAt(0) === SLASH) throw fsError(Errno.PERM, `absolute path ${path}`);
  const trailingSlash = path.charCodeAt(path.length - 1) === SLASH;

  let cur = base; // resolved prefix; always an existing real directory
  let rest = path; // what is left to walk (grows when a symlink is expanded)
  let pos = 0;
  let expansions = 0;
  let follow = opts.followFinal;

  for (;;) {
    while (pos < rest.length && rest.charCodeAt(pos) === SLASH) pos++;
    if (pos >= rest.length) return { path: cur, trailingSlash, kind: 'dir' };
    let end = rest.indexOf('/', pos);
    if (end < 0) end = rest.length;
    const len = end - pos;

    if (len === 1 && rest.charCodeAt(pos) === DOT) {
      pos = end;
      continue;
    }
    if (len === 2 && rest.charCodeAt(pos) === DOT && rest.charCodeAt(pos + 1) === DOT) {
      if (cur === '') throw fsError(Errno.PERM, `${path} leaves its directory`);
      cur = cur.slice(0, Math.max(0, cur.lastIndexOf('/')));
      pos = end;
      continue;
    }

    let after = end;
    while (after < rest.length && rest.charCodeAt(after) === SLASH) after++;
    const last = after >= rest.length;
    const mustBeDir = last && end < rest.length; // "name/" at the end
    const candidate = cur === '' ? rest.slice(pos, end) : cur + '/' + rest.slice(pos, end);

    if (last && !follow && !mustBeDir) {
      if (!opts.statFinal || !fs.tryStat) return { path: candidate, trailingSlash };
      const st = fs.tryStat(candidate);
      return finish(candidate, trailingSlash, st === null ? null : st.kind, st);
    }

    let st: Stat | null | undefined;
    let kind: FileKind | null;
    if (last && opts.statFinal && fs.tryStat) {
      st = fs.tryStat(candidate);
      kind = st === null ? null : st.kind;
    } else kind = fs.kind(candidate);
    if (kind === 'dir') {
      if (last) return finish(candidate, trailingSlash, kind, st);
      cur = candidate;
      pos = end;
      continue;
    }
    if (kind === 'symlink') {
      if (++expansions > MAX_EXPANSIONS) throw fsError(Errno.LOOP, path);
      let target = fs.readlink(candidate);
      if (target.length === 0) throw fsError(Errno.NOENT, `empty symlink ${candidate}`);
      if (target.includes('\0')) throw fsError(Errno.INVAL, `NUL in symlink ${candidate}`);
      if (target.charCodeAt(0) === SLASH) {
        if (!opts.absoluteSymlinksFromRoot) throw fsError(Errno.PERM, `absolute symlink ${candidate}`);
        cur = '';
        target = target.slice(1);
      }
      // The target replaces the component; whatever followed it (including a
      // trailing slash) still follows. Expanding the final component means the
      // target's own final component is followed too.
      rest = target + rest.slice(end);
      pos = 0;
      if (last) follow = true;
      continue;
    }
    if (kind === null) {
      if (last) return finish(candidate, trailingSlash, null, st);
      throw fsError(Errno.NOENT, candidate);
    }
    if (!last || mustBeDir) throw fsError(Errno.NOTDIR, candidate);
    return finish(candidate, trailingSlash, kind, st);
  }
}

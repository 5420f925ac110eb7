/**
 * Path rules shared by packing and loading, so that what one refuses the
 * other refuses too.
 *
 * A layer path is relative to the view root: "/"-separated components, no
 * leading or trailing "/", no empty, "." or ".." component, no NUL, no lone
 * surrogate (it must be valid UTF-8), at most 4096 UTF-8 bytes in all and 255
 * per component, and no component starting with ".wh." (the union view's
 * whiteout markers, see vfs/union-layout.ts: a layer states deletions in its
 * `whiteouts` list, never by planting marker names).
 *
 * A guest path (entry, cwd, permission dirs, settings files) is "/" followed
 * by a layer path, or "/" itself.
 */

export const MAX_PATH_BYTES = 4096;
export const MAX_NAME_BYTES = 255;
export const WHITEOUT_PREFIX = '.wh.';

/**
 * Whether `s` has a surrogate without its pair (it could not be UTF-8).
 * String.prototype.isWellFormed (ES2024; Node 20, current browsers) is a plain
 * scan; /\p{Surrogate}/u costs an ICU set build on every start (~0.3 ms).
 */
export function hasLoneSurrogate(s: string): boolean {
  return !(s as string & { isWellFormed(): boolean }).isWellFormed();
}

export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4; // a surrogate pair: 4 bytes for both halves
      i++;
    } else n += 3;
  }
  return n;
}

/** Why `name` cannot be one path component, or null when it can. */
export function nameProblem(name: string): string | null {
  if (name === '') return 'empty path component';
  if (name === '.' || name === '..') return `"${name}" component`;
  if (name.includes('/')) return 'component contains "/"';
  if (name.includes('\0')) return 'contains NUL';
  if (hasLoneSurrogate(name)) return 'not valid UTF-8';
  if (utf8Length(name) > MAX_NAME_BYTES) return `component longer than ${MAX_NAME_BYTES} bytes`;
  if (name.startsWith(WHITEOUT_PREFIX))
    return `component starts with "${WHITEOUT_PREFIX}" (reserved for whiteouts)`;
  return null;
}

/** Why `path` is not a safe layer path, or null when it is. */
export function layerPathProblem(path: string): string | null {
  if (path === '') return 'empty path';
  if (path.startsWith('/')) return 'absolute path (layer paths are relative to the view root)';
  if (utf8Length(path) > MAX_PATH_BYTES) return `longer than ${MAX_PATH_BYTES} bytes`;
  for (const name of path.split('/')) {
    const p = nameProblem(name);
    if (p) return p;
  }
  return null;
}

/** Why `path` is not a safe absolute guest path, or null when it is. "/" is allowed. */
export function guestPathProblem(path: string): string | null {
  if (!path.startsWith('/')) return 'not absolute (must start with "/")';
  if (path === '/') return null;
  return layerPathProblem(path.slice(1));
}

/**
 * Orders strings by their UTF-8 bytes, which is the order of layer entries.
 * For strings without lone surrogates this equals comparing code points.
 */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x < y ? -1 : 1;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}

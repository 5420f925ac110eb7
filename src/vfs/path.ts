/**
 * Small helpers over contract paths ("" is the root, components joined by "/").
 * Platform-neutral: memfs, union and the resolver share them.
 */

/** The directory part of a contract path ("" for a top-level name or the root). */
export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

/** The last component of a contract path. */
export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

export function joinPath(dir: string, name: string): string {
  return dir === '' ? name : dir + '/' + name;
}

/** True when `path` is `dir` itself or lies inside it. */
export function isWithin(path: string, dir: string): boolean {
  if (dir === '') return true;
  return path === dir || (path.startsWith(dir) && path.charCodeAt(dir.length) === 47);
}

/**
 * Wall-clock time in nanoseconds. performance.timeOrigin + now() gives sub-ms
 * resolution in both Node and browsers, unlike Date.now().
 */
export function nowNs(): bigint {
  const ms = performance.timeOrigin + performance.now();
  const whole = Math.floor(ms);
  return BigInt(whole) * 1_000_000n + BigInt(Math.floor((ms - whole) * 1e6));
}

/** Code-unit order, the same on every implementation (readdir's "stable order"). */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The settings part of an app's view (platform-neutral). From the top:
 *
 *   user state (upper, read-write)
 *   settings layer     <- settingsLayer(effective.files)
 *   package layers, then dependencies' layers
 *
 * and the whole union wrapped by lockView(), so locked paths answer EACCES.
 *
 * Before a run, hideLockedInUpper() makes sure an admin lock wins over what
 * the user's state already holds. The state layer sits above the settings
 * layer, so a copy the app wrote before the path was locked (or a whiteout
 * deleting it, or an ancestor directory the app replaced, deleted or made
 * opaque) would otherwise keep hiding the admin's value forever, and the
 * lock would only freeze the user's old copy. For each locked path it:
 *   1. removes the upper's entry at the path and any whiteout of it;
 *   2. when an ancestor in the upper hides the lower layers (a whiteout, a
 *      file or symlink where the directory was, an opaque directory) and the
 *      lower layers hold the locked entry, it keeps the user's change to the
 *      rest of that directory (a whiteout or a replacing file becomes an
 *      empty opaque directory) and *pins* a copy of the locked entry from the
 *      lower layers into the upper. The pinned copy is removed and made again
 *      from the current lower layers on every run, so it always shows the
 *      admin's current value.
 * Everything else the user wrote stays.
 */
import type { FileSystem } from '../../vfs/types.js';
import { MemoryFileSystem } from '../../vfs/memfs.js';
import type { TreeSpec } from '../../vfs/populate.js';
import { UnionFileSystem } from '../../vfs/union.js';
import { LockedPathsFileSystem } from '../../vfs/locked.js';
import { joinPath, parentOf, baseName } from '../../vfs/path.js';
import {
  OPAQUE_MARKER,
  copyFileAtomically,
  removeTree,
  scratchPath,
  touchMarker,
  whiteoutPath,
} from '../../vfs/union-layout.js';

/** "/etc/app.conf" -> "etc/app.conf" (settings keys are absolute guest paths, the vfs contract's are not). */
export function contractPath(guestPath: string): string {
  return guestPath.replace(/^\/+/, '');
}

/**
 * A read-only in-memory layer holding each settings file at its path, parent
 * directories created. A file below another file's path cannot exist and is
 * left out (effectiveSettings never produces that pair).
 */
export function settingsLayer(files: Record<string, string>): MemoryFileSystem {
  const tree: TreeSpec = {};
  for (const [guestPath, content] of Object.entries(files)) {
    const parts = contractPath(guestPath).split('/');
    const name = parts.pop()!;
    let dir: TreeSpec | null = tree;
    for (const part of parts) {
      const next: TreeSpec[string] = (dir[part] ??= {});
      const isDir: boolean =
        typeof next === 'object' &&
        !(next instanceof Uint8Array) &&
        typeof (next as { symlink?: unknown }).symlink !== 'string';
      dir = isDir ? (next as TreeSpec) : null;
      if (dir === null) break;
    }
    if (dir !== null && dir[name] === undefined) dir[name] = content;
  }
  return new MemoryFileSystem({ tree, readOnly: true });
}

/** The app's view with locked guest paths read-only (EACCES). */
export function lockView(view: FileSystem, lockedPaths: readonly string[]): FileSystem {
  if (lockedPaths.length === 0) return view;
  return new LockedPathsFileSystem(view, lockedPaths.map(contractPath));
}

/**
 * Makes the lower layers' value of every locked path visible through
 * `upper` (see the file comment). `lowers` are the layers below the upper,
 * top first (the settings layer, then the package's).
 */
export function hideLockedInUpper(
  upper: FileSystem,
  lockedPaths: readonly string[],
  lowers: FileSystem[],
): void {
  const below = new UnionFileSystem(lowers, new MemoryFileSystem({ readOnly: true }));
  for (const guestPath of lockedPaths) {
    const path = contractPath(guestPath);
    if (path === '') continue;
    const blockedAt = firstBlockingAncestor(upper, path);
    removeEntry(upper, path);
    if (blockedAt === null || lowerKind(below, path) === null) continue;
    openUp(upper, blockedAt);
    pin(below, upper, path);
  }
}

/** The first ancestor of path at which the upper hides the lower layers, or null. */
function firstBlockingAncestor(upper: FileSystem, path: string): string | null {
  const parts = path.split('/');
  let dir = '';
  for (let i = 0; i < parts.length - 1; i++) {
    const at = joinPath(dir, parts[i]!);
    const kind = upper.kind(at);
    if (kind === null) {
      return upper.kind(whiteoutPath(dir, parts[i]!)) !== null ? at : null;
    }
    if (kind !== 'dir') return at;
    if (upper.kind(joinPath(at, OPAQUE_MARKER)) !== null) return at;
    dir = at;
  }
  return null;
}

/** Removes the entry at path from one layer, and its whiteout; fine if neither exists. */
function removeEntry(upper: FileSystem, path: string): void {
  const parent = parentOf(path);
  if (parent !== '' && upper.kind(parent) !== 'dir') return;
  if (upper.kind(path) !== null) removeTree(upper, path);
  const wh = whiteoutPath(parent, baseName(path));
  if (upper.kind(wh) !== null) upper.unlink(wh);
}

/** Turns a blocking ancestor into a directory of the upper (opaque, so the user's deletion of the rest holds). */
function openUp(upper: FileSystem, at: string): void {
  const kind = upper.kind(at);
  if (kind === 'dir') return; // already opaque: the pinned copy goes inside it
  if (kind !== null) removeTree(upper, at);
  const wh = whiteoutPath(parentOf(at), baseName(at));
  if (upper.kind(wh) !== null) upper.unlink(wh);
  upper.mkdir(at);
  touchMarker(upper, joinPath(at, OPAQUE_MARKER));
}

function lowerKind(below: FileSystem, path: string): string | null {
  try {
    return below.kind(path);
  } catch {
    return null; // an ancestor is not a directory below either
  }
}

/** Copies the lower view's entry at path (a whole subtree for a directory) into the upper, creating parents. */
function pin(below: FileSystem, upper: FileSystem, path: string): void {
  let dir = '';
  for (const part of parentOf(path).split('/')) {
    if (part === '') continue;
    dir = joinPath(dir, part);
    if (upper.kind(dir) === null) upper.mkdir(dir);
  }
  copyEntry(below, upper, path);
}

function copyEntry(from: FileSystem, to: FileSystem, path: string): void {
  const kind = from.kind(path);
  if (kind === 'dir') {
    to.mkdir(path);
    for (const ent of from.readdir(path)) copyEntry(from, to, joinPath(path, ent.name));
  } else if (kind === 'symlink') {
    to.symlink(from.readlink(path), path);
  } else if (kind === 'file') {
    copyFileAtomically(from, to, path, scratchPath(parentOf(path)));
  }
}

/**
 * A union (overlay) of read-only lower layers under one writable upper layer:
 * the view a running app sees. Lookups go top-down; directories merge;
 * the first write to a lower entry copies it up; deletions of lower entries
 * become whiteouts in the upper (see union-layout.ts for the markers).
 *
 * Decisions:
 * - Identity: stat and readdir report the (dev, ino) of the layer that holds
 *   the entry now, so identity is unique across layers but changes at copy-up
 *   (overlayfs without xino does the same). Hard links inside a lower layer are
 *   broken apart by copy-up.
 * - Renaming a directory that has lower content copies its whole merged
 *   subtree up, then renames it in the upper (friendlier than EXDEV; costs a
 *   copy proportional to the subtree).
 * - An open handle remembers the path it was opened at; a read-only handle on
 *   a lower entry copies that path up if its times are set, so after a rename
 *   of the file meanwhile it copies up whatever is at the old path.
 * - Single operations are not crash-atomic across markers (rename writes its
 *   whiteout after moving); copy-up and opaque mkdir are, via scratch names.
 * - Merged directory lookups are cached and dropped on any change that can
 *   alter which layers contribute to a directory.
 */
import type { DirEntry, FileHandle, FileKind, FileSystem, OpenFlags, Stat, TimeSpec } from './types.js';
import { Errno, fsError } from './errno.js';
import { baseName, compareNames, isWithin, joinPath, parentOf } from './path.js';
import {
  OPAQUE_MARKER,
  copyFileAtomically,
  isReservedName,
  removeTree,
  scratchPath,
  touchMarker,
  whiteoutPath,
  whiteoutTarget,
} from './union-layout.js';
import { LowerFileHandle } from './union-handle.js';

/** Where a visible entry lives: its kind and the layers holding it, top first (several only for directories). */
interface Merged {
  kind: FileKind;
  layers: number[];
}

const UPPER = 0;

export class UnionFileSystem implements FileSystem {
  readonly readOnly: boolean;
  /** [upper, ...lowers], top first. */
  private readonly layers: FileSystem[];
  private readonly upper: FileSystem;
  private readonly dirs = new Map<string, Merged>();

  constructor(lowers: FileSystem[], upper: FileSystem) {
    this.upper = upper;
    this.layers = [upper, ...lowers];
    this.readOnly = upper.readOnly;
  }

  kind(path: string): FileKind | null {
    return this.lookup(path)?.kind ?? null;
  }

  stat(path: string): Stat {
    return this.top(this.need(path)).stat(path);
  }

  readlink(path: string): string {
    return this.top(this.need(path)).readlink(path);
  }

  readdir(path: string): DirEntry[] {
    const merged = this.need(path);
    if (merged.kind !== 'dir') throw fsError(Errno.NOTDIR, path);
    const seen = new Map<string, DirEntry>();
    const hidden = new Set<string>();
    for (const li of merged.layers) {
      const deleted: string[] = [];
      for (const ent of this.layer(li).readdir(path)) {
        if (isReservedName(ent.name)) {
          const target = whiteoutTarget(ent.name);
          if (target !== undefined) deleted.push(target);
        } else if (!seen.has(ent.name) && !hidden.has(ent.name)) seen.set(ent.name, ent);
      }
      // A layer's whiteouts hide names in the layers below it, not its own.
      for (const name of deleted) hidden.add(name);
    }
    return [...seen.values()].sort((a, b) => compareNames(a.name, b.name));
  }

  open(path: string, flags: OpenFlags): FileHandle {
    const { write, create, truncate } = flags;
    if (path !== '' && isReservedName(baseName(path)))
      throw fsError(create ? Errno.INVAL : Errno.NOENT, path);
    if (truncate && !write) throw fsError(Errno.INVAL, 'truncate needs write');
    if (create && flags.directory) throw fsError(Errno.INVAL, 'create with directory');
    if (this.readOnly && (write || create || truncate)) throw fsError(Errno.ROFS, path);
    const merged = this.lookup(path);
    if (merged === null) {
      if (!create) throw fsError(Errno.NOENT, path);
      this.upperParent(path);
      const handle = this.upper.open(path, flags);
      this.dropWhiteout(path);
      return handle;
    }
    if (create && flags.exclusive) throw fsError(Errno.EXIST, path);
    if (merged.layers[0] === UPPER) return this.upper.open(path, flags);
    if (merged.kind === 'symlink') throw fsError(flags.directory ? Errno.NOTDIR : Errno.LOOP, path);
    if (merged.kind === 'dir') {
      if (write || create) throw fsError(Errno.ISDIR, path);
    } else if (flags.directory) throw fsError(Errno.NOTDIR, path);
    if (write) {
      this.copyUp(path);
      return this.upper.open(path, flags);
    }
    const inner = this.top(merged).open(path, { read: flags.read, write: false, directory: flags.directory });
    return new LowerFileHandle(inner, () => this.reopenInUpper(path, flags.read));
  }

  mkdir(path: string): void {
    this.checkCreatable(path);
    if (this.lookup(path) !== null) throw fsError(Errno.EXIST, path);
    this.upperParent(path);
    const whiteout = whiteoutPath(parentOf(path), baseName(path));
    if (this.upper.kind(whiteout) === null) {
      this.upper.mkdir(path);
      return;
    }
    // A deleted lower directory must not reappear inside the new one: build an
    // opaque directory aside and move it in, so no moment shows the old content.
    const scratch = scratchPath(parentOf(path));
    this.upper.mkdir(scratch);
    touchMarker(this.upper, joinPath(scratch, OPAQUE_MARKER));
    this.upper.rename(scratch, path);
    this.upper.unlink(whiteout);
    this.dirs.clear();
  }

  rmdir(path: string): void {
    this.writable(path);
    if (path === '') throw fsError(Errno.BUSY, 'the root');
    const merged = this.need(path);
    if (merged.kind !== 'dir') throw fsError(Errno.NOTDIR, path);
    if (this.readdir(path).length > 0) throw fsError(Errno.NOTEMPTY, path);
    const lower = this.inLower(path);
    if (merged.layers[0] === UPPER) {
      this.clearMarkers(path);
      this.upper.rmdir(path);
    }
    this.dirs.clear();
    if (lower) this.addWhiteout(path);
  }

  unlink(path: string): void {
    this.writable(path);
    if (path === '') throw fsError(Errno.ISDIR, 'the root');
    const merged = this.need(path);
    if (merged.kind === 'dir') throw fsError(Errno.ISDIR, path);
    const lower = this.inLower(path);
    if (merged.layers[0] === UPPER) this.upper.unlink(path);
    if (lower) this.addWhiteout(path);
  }

  rename(from: string, to: string): void {
    this.writable(from);
    if (from === '' || to === '') throw fsError(Errno.BUSY, 'the root');
    if (isReservedName(baseName(to))) throw fsError(Errno.INVAL, to);
    const source = this.need(from);
    this.needDir(parentOf(to));
    if (from === to) return;
    if (source.kind === 'dir' && isWithin(to, from)) throw fsError(Errno.INVAL, 'rename into itself');
    const target = this.lookup(to);
    if (target !== null) {
      if (source.kind === 'dir') {
        if (target.kind !== 'dir') throw fsError(Errno.NOTDIR, to);
        if (this.readdir(to).length > 0) throw fsError(Errno.NOTEMPTY, to);
      } else if (target.kind === 'dir') throw fsError(Errno.ISDIR, to);
    }
    const fromLower = this.inLower(from);
    const toLower = this.inLower(to);
    if (source.kind === 'dir') {
      this.copyUpTree(from);
      // Everything visible is now in the upper copy; lower content at the
      // destination must stay hidden behind it.
      if (toLower && this.upper.kind(joinPath(from, OPAQUE_MARKER)) === null) {
        touchMarker(this.upper, joinPath(from, OPAQUE_MARKER));
      }
    } else this.copyUp(from);
    this.upperParent(to);
    if (target?.kind === 'dir' && this.upper.kind(to) === 'dir') this.clearMarkers(to);
    this.upper.rename(from, to);
    this.dirs.clear();
    this.dropWhiteout(to);
    if (fromLower) this.addWhiteout(from);
  }

  link(from: string, to: string): void {
    this.checkCreatable(to);
    if (this.need(from).kind === 'dir') throw fsError(Errno.PERM, from);
    if (this.lookup(to) !== null) throw fsError(Errno.EXIST, to);
    this.needDir(parentOf(to));
    this.copyUp(from);
    this.upperParent(to);
    this.upper.link(from, to);
    this.dropWhiteout(to);
  }

  symlink(target: string, path: string): void {
    this.checkCreatable(path);
    if (this.lookup(path) !== null) throw fsError(Errno.EXIST, path);
    this.upperParent(path);
    this.upper.symlink(target, path);
    this.dropWhiteout(path);
  }

  setTimes(path: string, atime: TimeSpec, mtime: TimeSpec): void {
    this.writable(path);
    this.copyUp(path);
    this.upper.setTimes(path, atime, mtime);
  }

  // ---- lookup ----

  private lookup(path: string): Merged | null {
    const cached = this.dirs.get(path);
    if (cached !== undefined) return cached;
    if (path === '') return this.mergeRoot();
    const slash = path.lastIndexOf('/');
    const name = path.slice(slash + 1);
    if (isReservedName(name)) return null;
    const parentPath = slash < 0 ? '' : path.slice(0, slash);
    const parent = this.lookup(parentPath);
    if (parent === null) return null;
    if (parent.kind !== 'dir') throw fsError(Errno.NOTDIR, path);
    return this.mergeChild(parent.layers, parentPath, name, path);
  }

  private mergeRoot(): Merged {
    const layers: number[] = [];
    for (let i = 0; i < this.layers.length; i++) {
      layers.push(i);
      if (this.layer(i).kind(OPAQUE_MARKER) !== null) break;
    }
    const root: Merged = { kind: 'dir', layers };
    this.dirs.set('', root);
    return root;
  }

  private mergeChild(parentLayers: number[], parentPath: string, name: string, path: string): Merged | null {
    let found: Merged | null = null;
    for (let i = 0; i < parentLayers.length; i++) {
      const li = parentLayers[i]!;
      const layer = this.layer(li);
      const kind = layer.kind(path);
      if (kind !== null) {
        if (found === null) {
          if (kind !== 'dir') return { kind, layers: [li] };
          found = { kind, layers: [li] };
        } else if (kind === 'dir') found.layers.push(li);
        else break; // a non-directory below a directory is hidden by it
        if (layer.kind(joinPath(path, OPAQUE_MARKER)) !== null) break;
      } else if (i + 1 < parentLayers.length && layer.kind(whiteoutPath(parentPath, name)) !== null) break;
    }
    if (found !== null) this.dirs.set(path, found);
    return found;
  }

  /** Whether some layer below the upper shows an entry at path (so deleting it needs a whiteout). */
  private inLower(path: string): boolean {
    const parentPath = parentOf(path);
    const name = baseName(path);
    const parent = this.lookup(parentPath);
    if (parent === null) return false;
    for (const li of parent.layers) {
      if (li === UPPER) continue;
      const layer = this.layer(li);
      if (layer.kind(path) !== null) return true;
      if (layer.kind(whiteoutPath(parentPath, name)) !== null) return false;
    }
    return false;
  }

  // ---- copy-up ----

  /** Makes the entry at path exist in the upper, copying it from the layer that shows it. */
  private copyUp(path: string): void {
    const merged = this.need(path);
    if (merged.layers[0] === UPPER) return;
    this.upperParent(path);
    const source = this.top(merged);
    const st = source.stat(path);
    switch (merged.kind) {
      case 'dir':
        this.upper.mkdir(path);
        this.dirs.clear();
        break;
      case 'symlink':
        this.upper.symlink(source.readlink(path), path);
        break;
      case 'file':
        copyFileAtomically(source, this.upper, path, scratchPath(parentOf(path)));
        return; // times were copied with the data
      default:
        throw fsError(Errno.NOTSUP, `cannot copy a ${merged.kind} up`);
    }
    this.upper.setTimes(path, st.atimeNs, st.mtimeNs);
  }

  private copyUpTree(path: string): void {
    const merged = this.need(path);
    if (merged.layers.length === 1 && merged.layers[0] === UPPER) return; // nothing below it
    this.copyUp(path);
    for (const ent of this.readdir(path)) {
      const child = joinPath(path, ent.name);
      if (ent.kind === 'dir') this.copyUpTree(child);
      else this.copyUp(child);
    }
  }

  /** Ensures the parent directory of path exists in the upper (ENOENT/ENOTDIR if it does not exist in the view). */
  private upperParent(path: string): void {
    const dir = parentOf(path);
    if (dir === '' || this.upper.kind(dir) === 'dir') return;
    this.needDir(dir);
    this.upperParent(dir);
    this.copyUp(dir);
  }

  private reopenInUpper(path: string, read: boolean): FileHandle {
    this.writable(path);
    this.copyUp(path);
    return this.upper.open(path, { read, write: false });
  }

  // ---- markers ----

  private addWhiteout(path: string): void {
    this.upperParent(path);
    touchMarker(this.upper, whiteoutPath(parentOf(path), baseName(path)));
  }

  private dropWhiteout(path: string): void {
    const whiteout = whiteoutPath(parentOf(path), baseName(path));
    if (this.upper.kind(whiteout) !== null) this.upper.unlink(whiteout);
  }

  /** Removes the hidden entries of an upper directory the guest sees as empty, so the host can remove or replace it. */
  private clearMarkers(dir: string): void {
    for (const ent of this.upper.readdir(dir)) {
      if (isReservedName(ent.name)) removeTree(this.upper, joinPath(dir, ent.name));
    }
  }

  // ---- small checks ----

  private layer(index: number): FileSystem {
    return this.layers[index]!;
  }

  private top(merged: Merged): FileSystem {
    return this.layer(merged.layers[0]!);
  }

  private need(path: string): Merged {
    const merged = this.lookup(path);
    if (merged === null) throw fsError(Errno.NOENT, path);
    return merged;
  }

  private needDir(path: string): void {
    if (this.need(path).kind !== 'dir') throw fsError(Errno.NOTDIR, path);
  }

  private checkCreatable(path: string): void {
    this.writable(path);
    if (path === '') throw fsError(Errno.EXIST, 'the root');
    if (isReservedName(baseName(path))) throw fsError(Errno.INVAL, `reserved name ${path}`);
  }

  private writable(path: string): void {
    if (this.readOnly) throw fsError(Errno.ROFS, path);
  }
}

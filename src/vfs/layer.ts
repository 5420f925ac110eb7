/**
 * A package layer as a read-only FileSystem: the layer's index (a sorted list
 * of entries, see package/types.ts) plus a source of verified chunk bytes.
 * File data is read chunk by chunk on demand, so a file that is never read
 * costs nothing, which is what streaming builds on.
 *
 * Whiteouts and opaque directories recorded in the index appear to a union
 * above as the OCI markers (`.wh.<name>`, `.wh..wh..opq`), so the union's one
 * set of rules applies to package layers and user state alike.
 */
import { GuardedHandle } from './handle-guard.js';
import type { DirEntry, FileHandle, FileKind, FileSystem, OpenFlags, Stat, TimeSpec } from './types.js';
import { Errno, fsError } from './errno.js';
import { baseName, compareNames, joinPath, parentOf } from './path.js';
import { OPAQUE_MARKER, WHITEOUT_PREFIX } from './union-layout.js';

/** Where file bytes come from. `read` returns the chunk's plain bytes, already verified against its digest. */
export interface ChunkSource {
  read(digest: string, size: number): Uint8Array;
}

/** The parts of a layer entry this filesystem needs (package/types.ts LayerEntry fits). */
export interface LayerFileEntry {
  path: string;
  type: 'file' | 'dir' | 'symlink';
  mode: number;
  size: number;
  target?: string;
  chunks?: { digest: string; size: number }[];
}

export interface LayerContent {
  entries: LayerFileEntry[];
  whiteouts: string[];
  opaque: string[];
}

interface Node {
  kind: FileKind;
  ino: bigint;
  mode: number;
  size: number;
  target?: string;
  chunks?: { digest: string; size: number }[];
  /** Start offset of each chunk within the file (files only). */
  offsets?: Float64Array;
  children?: string[];
}

let nextDev = 0x4c00n;

/** Every layer file has the same times: a package is content, not a moment. */
const EPOCH_NS = 0n;

export class LayerFileSystem implements FileSystem {
  readonly readOnly = true;
  readonly dev = nextDev++;
  private readonly nodes = new Map<string, Node>();

  constructor(
    content: LayerContent,
    private readonly chunks: ChunkSource,
  ) {
    let ino = 1n;
    this.nodes.set('', { kind: 'dir', ino: ino++, mode: 0o755, size: 0, children: [] });
    const ensureDir = (path: string): Node => {
      let n = this.nodes.get(path);
      if (!n) {
        // A parent the index does not list is implied.
        const parent = ensureDir(parentOf(path));
        n = { kind: 'dir', ino: ino++, mode: 0o755, size: 0, children: [] };
        this.nodes.set(path, n);
        parent.children!.push(baseName(path));
      }
      if (n.kind !== 'dir') throw new Error(`layer index: ${path} is used as a directory but is a ${n.kind}`);
      return n;
    };
    const add = (path: string, node: Node) => {
      const parent = ensureDir(parentOf(path));
      const existing = this.nodes.get(path);
      if (existing) {
        if (existing.kind === 'dir' && node.kind === 'dir') {
          existing.mode = node.mode;
          return;
        }
        throw new Error(`layer index: duplicate entry ${path}`);
      }
      this.nodes.set(path, node);
      parent.children!.push(baseName(path));
    };
    for (const e of content.entries) {
      if (e.type === 'dir') {
        add(e.path, { kind: 'dir', ino: ino++, mode: e.mode, size: 0, children: [] });
      } else if (e.type === 'symlink') {
        add(e.path, {
          kind: 'symlink',
          ino: ino++,
          mode: 0o777,
          size: (e.target ?? '').length,
          target: e.target,
        });
      } else {
        const chunks = e.chunks ?? [];
        const offsets = new Float64Array(chunks.length);
        let at = 0;
        chunks.forEach((c, i) => {
          offsets[i] = at;
          at += c.size;
        });
        add(e.path, { kind: 'file', ino: ino++, mode: e.mode, size: e.size, chunks, offsets });
      }
    }
    const marker = (path: string) =>
      add(path, { kind: 'file', ino: ino++, mode: 0o644, size: 0, chunks: [], offsets: new Float64Array(0) });
    for (const w of content.whiteouts) marker(joinPath(parentOf(w), WHITEOUT_PREFIX + baseName(w)));
    for (const o of content.opaque) marker(joinPath(o, OPAQUE_MARKER));
    for (const n of this.nodes.values()) n.children?.sort(compareNames);
  }

  private node(path: string): Node {
    const n = this.nodes.get(path);
    if (n) return n;
    const parent = this.nodes.get(parentOf(path));
    throw fsError(parent && parent.kind !== 'dir' ? Errno.NOTDIR : Errno.NOENT, path);
  }

  kind(path: string): FileKind | null {
    const n = this.nodes.get(path);
    if (n) return n.kind;
    const parent = this.nodes.get(parentOf(path));
    if (parent && parent.kind !== 'dir') throw fsError(Errno.NOTDIR, path);
    return null;
  }

  stat(path: string): Stat {
    return this.statOf(this.node(path));
  }

  private statOf(n: Node): Stat {
    return {
      dev: this.dev,
      ino: n.ino,
      kind: n.kind,
      nlink: n.kind === 'dir' ? 2n : 1n,
      size: BigInt(n.size),
      atimeNs: EPOCH_NS,
      mtimeNs: EPOCH_NS,
      ctimeNs: EPOCH_NS,
      mode: n.mode,
    };
  }

  readlink(path: string): string {
    const n = this.node(path);
    if (n.kind !== 'symlink') throw fsError(Errno.INVAL, path);
    return n.target!;
  }

  open(path: string, flags: OpenFlags): FileHandle {
    if (flags.write || flags.create || flags.truncate) {
      if (flags.create && flags.exclusive && this.nodes.has(path)) throw fsError(Errno.EXIST, path);
      throw fsError(Errno.ROFS, path);
    }
    const n = this.node(path);
    if (n.kind === 'symlink') throw fsError(flags.directory ? Errno.NOTDIR : Errno.LOOP, path);
    if (flags.directory && n.kind !== 'dir') throw fsError(Errno.NOTDIR, path);
    return new LayerFileHandle(this, n);
  }

  readdir(path: string): DirEntry[] {
    const n = this.node(path);
    if (n.kind !== 'dir') throw fsError(Errno.NOTDIR, path);
    return n.children!.map((name) => {
      const c = this.nodes.get(joinPath(path, name))!;
      return { name, kind: c.kind, ino: c.ino };
    });
  }

  /** Reads up to buf.length bytes of a file at position, chunk by chunk. */
  readFile(n: Node, buf: Uint8Array, position: number): number {
    if (position >= n.size) return 0;
    const want = Math.min(buf.length, n.size - position);
    const offsets = n.offsets!;
    const chunks = n.chunks!;
    // The chunk holding `position`: the last offset <= position.
    let lo = 0;
    let hi = offsets.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (offsets[mid]! <= position) lo = mid;
      else hi = mid - 1;
    }
    let done = 0;
    for (let i = lo; i < chunks.length && done < want; i++) {
      const c = chunks[i]!;
      const bytes = this.chunks.read(c.digest, c.size);
      const from = position + done - offsets[i]!;
      const n2 = Math.min(bytes.length - from, want - done);
      buf.set(bytes.subarray(from, from + n2), done);
      done += n2;
    }
    return done;
  }

  statNode(n: Node): Stat {
    return this.statOf(n);
  }

  mkdir(path: string): void {
    throw fsError(this.nodes.has(path) ? Errno.EXIST : Errno.ROFS, path);
  }
  rmdir(path: string): void {
    this.node(path);
    throw fsError(Errno.ROFS, path);
  }
  unlink(path: string): void {
    this.node(path);
    throw fsError(Errno.ROFS, path);
  }
  rename(from: string, _to: string): void {
    this.node(from);
    throw fsError(Errno.ROFS, from);
  }
  link(from: string, _to: string): void {
    this.node(from);
    throw fsError(Errno.ROFS, from);
  }
  symlink(_target: string, path: string): void {
    throw fsError(this.nodes.has(path) ? Errno.EXIST : Errno.ROFS, path);
  }
  setTimes(path: string, _a: TimeSpec, _m: TimeSpec): void {
    this.node(path);
    throw fsError(Errno.ROFS, path);
  }
}

class LayerFileHandle extends GuardedHandle implements FileHandle {
  readonly kind: FileKind;
  constructor(
    private readonly fs: LayerFileSystem,
    private readonly n: Node,
  ) {
    super();
    this.kind = n.kind;
  }
  read(buf: Uint8Array, position: number): number {
    this.file(position);
    return this.fs.readFile(this.n, buf, position);
  }
  write(_buf: Uint8Array, position: number): number {
    this.file(position);
    throw fsError(Errno.BADF, 'not open for writing');
  }
  stat(): Stat {
    this.check();
    return this.fs.statNode(this.n);
  }
  setSize(size: number): void {
    this.file(size);
    throw fsError(Errno.INVAL, 'not open for writing');
  }
  allocate(offset: number): void {
    this.file(offset);
    throw fsError(Errno.BADF, 'not open for writing');
  }
  setTimes(): void {
    this.check();
    throw fsError(Errno.ROFS);
  }
  private file(position: number): void {
    this.checkFileAt(position);
  }
}

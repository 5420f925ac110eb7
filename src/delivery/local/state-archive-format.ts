/**
 * The state archive format (docs/state-and-settings.md), platform-neutral:
 * header validation, the order rules, and whole-buffer encoding and
 * decoding. Node streams archives to and from disk (state-archive.ts); the
 * browser runtime holds a state in memory and uses encodeArchive and
 * decodeArchive. Both compute the trailing SHA-256 themselves (node:crypto,
 * WebCrypto), so this file never hashes.
 *
 *   magic    8 bytes   "CAPSTAT1"
 *   record*  hlen u32 (1..65536), header (UTF-8 JSON), data (files only)
 *   end      u32       0
 *   digest   32 bytes  SHA-256 of every byte before it
 */
import { utf8Length } from '../../package/paths.js';
import { StateError } from './errors.js';

export const ARCHIVE_MAGIC = new TextEncoder().encode('CAPSTAT1');
export const MAX_HEADER = 65536;
export const DIGEST_BYTES = 32;

export type ArchiveEntryType = 'file' | 'dir' | 'symlink';

export interface ArchiveHeader {
  path: string;
  type: ArchiveEntryType;
  mode: number;
  size: number;
  mtime: number;
  target?: string;
}

/** A header and, for a file, its bytes. */
export interface ArchiveRecord extends ArchiveHeader {
  data?: Uint8Array;
}

export function badArchive(why: string): StateError {
  return new StateError('BAD_ARCHIVE', `not a valid state archive: ${why}; nothing was imported`);
}

const KEYS = new Set(['path', 'type', 'mode', 'size', 'mtime', 'target']);

/** Parses and checks one header; BAD_ARCHIVE for anything but exactly the documented keys and values. */
export function parseHeader(bytes: Uint8Array): ArchiveHeader {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw badArchive('a header is not UTF-8 JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw badArchive('a header is not an object');
  const h = v as Record<string, unknown>;
  for (const k of Object.keys(h))
    if (!KEYS.has(k)) throw badArchive(`unknown header key ${JSON.stringify(k)}`);
  const { path, type, mode, size, mtime, target } = h;
  if (typeof path !== 'string') throw badArchive('a header has no path');
  const problem = pathProblem(path);
  if (problem) throw badArchive(`unsafe path ${JSON.stringify(path)}: ${problem}`);
  if (type !== 'file' && type !== 'dir' && type !== 'symlink') throw badArchive(`${path}: unknown type`);
  if (!Number.isInteger(mode) || (mode as number) < 0 || (mode as number) > 0o777)
    throw badArchive(`${path}: bad mode`);
  if (!Number.isSafeInteger(size) || (size as number) < 0) throw badArchive(`${path}: bad size`);
  if (type !== 'file' && size !== 0) throw badArchive(`${path}: only files have a size`);
  if (!Number.isSafeInteger(mtime)) throw badArchive(`${path}: bad mtime`);
  if (type === 'symlink') {
    if (typeof target !== 'string' || target === '' || target.includes('\0') || utf8Length(target) > 4096) {
      throw badArchive(`${path}: bad symlink target`);
    }
  } else if (target !== undefined) throw badArchive(`${path}: only symlinks have a target`);
  const header: ArchiveHeader = {
    path,
    type,
    mode: mode as number,
    size: size as number,
    mtime: mtime as number,
  };
  if (type === 'symlink') header.target = target as string;
  return header;
}

/** Why `path` cannot name an entry inside the state, or null. Whiteout names are allowed here. */
export function pathProblem(path: string): string | null {
  if (path === '') return 'empty';
  if (path.startsWith('/')) return 'absolute';
  if (path.includes('\0')) return 'contains NUL';
  if (utf8Length(path) > 4096) return 'longer than 4096 bytes';
  for (const c of path.split('/')) {
    if (c === '' || c === '.' || c === '..') return `"${c}" component`;
    if (utf8Length(c) > 255) return 'component longer than 255 bytes';
  }
  return null;
}

/**
 * The order rules: no path twice, and every entry's parent a directory
 * record seen before it. The second rule is what stops "symlink a -> /etc,
 * then file a/passwd": a file only lands in a directory the archive made.
 */
export class ArchiveOrder {
  private readonly dirs = new Set<string>(['']);
  private readonly seen = new Set<string>();

  check(header: ArchiveHeader): void {
    const parent = header.path.includes('/') ? header.path.slice(0, header.path.lastIndexOf('/')) : '';
    if (this.seen.has(header.path)) throw badArchive(`${header.path} appears twice`);
    if (!this.dirs.has(parent))
      throw badArchive(`${header.path}: its parent is not a directory listed before it`);
    this.seen.add(header.path);
    if (header.type === 'dir') this.dirs.add(header.path);
  }
}

/** The header's bytes: the JSON with exactly the documented keys. */
export function encodeHeader(h: ArchiveHeader): Uint8Array {
  const header: ArchiveHeader = { path: h.path, type: h.type, mode: h.mode, size: h.size, mtime: h.mtime };
  if (h.type === 'symlink') header.target = h.target;
  return new TextEncoder().encode(JSON.stringify(header));
}

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}

/**
 * Everything before the digest (magic, records, end) for records in
 * pre-order; the caller appends the SHA-256 of it. Records are checked as
 * a reader would check them, so a writer can never make an archive its
 * own reader refuses.
 */
export function encodeArchive(records: Iterable<ArchiveRecord>): Uint8Array {
  const parts: Uint8Array[] = [ARCHIVE_MAGIC];
  const order = new ArchiveOrder();
  for (const r of records) {
    const data = r.type === 'file' ? (r.data ?? new Uint8Array(0)) : new Uint8Array(0);
    const header = { ...r, size: data.length };
    const problem = pathProblem(header.path);
    if (problem) throw badArchive(`unsafe path ${JSON.stringify(header.path)}: ${problem}`);
    order.check(header);
    const bytes = encodeHeader(header);
    if (bytes.length > MAX_HEADER) throw badArchive(`${header.path}: header of ${bytes.length} bytes`);
    parts.push(u32(bytes.length), bytes, data);
  }
  parts.push(u32(0));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Splits a whole archive into what the digest covers and the digest itself. */
export function splitArchive(bytes: Uint8Array): { body: Uint8Array; digest: Uint8Array } {
  if (bytes.length < ARCHIVE_MAGIC.length + 4 + DIGEST_BYTES) throw badArchive('truncated');
  return {
    body: bytes.subarray(0, bytes.length - DIGEST_BYTES),
    digest: bytes.subarray(bytes.length - DIGEST_BYTES),
  };
}

/**
 * The records of an archive body (splitArchive's `body`, whose digest the
 * caller has checked): magic, records, end, and nothing after the end.
 */
export function decodeArchive(body: Uint8Array): ArchiveRecord[] {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const take = (at: number, n: number) => {
    if (at + n > body.length) throw badArchive('truncated');
    return body.subarray(at, at + n);
  };
  const magic = take(0, ARCHIVE_MAGIC.length);
  if (!magic.every((b, i) => b === ARCHIVE_MAGIC[i]))
    throw badArchive('wrong magic (not made by capsule state export)');
  let at = ARCHIVE_MAGIC.length;
  const order = new ArchiveOrder();
  const records: ArchiveRecord[] = [];
  for (;;) {
    take(at, 4);
    const hlen = view.getUint32(at);
    at += 4;
    if (hlen === 0) break;
    if (hlen > MAX_HEADER) throw badArchive(`header of ${hlen} bytes`);
    const header = parseHeader(take(at, hlen));
    at += hlen;
    order.check(header);
    const record: ArchiveRecord = header;
    if (header.type === 'file') {
      record.data = take(at, header.size).slice();
      at += header.size;
    }
    records.push(record);
  }
  if (at !== body.length) throw badArchive('bytes after the end');
  return records;
}

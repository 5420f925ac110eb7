/**
 * Pack files: the objects of one store batch in one file. Packing a tree
 * writes hundreds of new chunks at once; as one file each, every object costs
 * a create, an fsync, a rename and an fsync of its shard directory, and on a
 * journaling filesystem those dominate packing a tree of small files. In a
 * pack file the same objects cost one write each and one fsync for all.
 *
 * Format (all integers little-endian):
 *
 *   0             "CAPSPACK", then the format version (u32 = 1) and 4 zero bytes
 *   16            the objects' stored bytes, one after another, as `write` got them
 *   indexOffset   `count` index entries of 44 bytes, sorted by digest:
 *                   digest (32 bytes), offset (u64), length (u32)
 *   size - 56     footer: indexOffset (u64), count (u32), version (u32),
 *                   SHA-256 of the index (32 bytes), "CAPSPACK"
 *
 * The index comes last so that objects can be appended as they arrive. A pack
 * is written in tmp/, fsync'd, and renamed into packs/ (whose entry is then
 * fsync'd): it appears whole or not at all. Its objects are verified on every
 * read like loose ones; the index's own SHA-256, and the bounds checked here,
 * keep a damaged or hostile index from pointing anywhere but into the pack's
 * own object area. A lookup searches the index in place (binary search over
 * the sorted digests), so opening a pack costs reading and hashing its index,
 * not parsing it.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Digest } from '../../package/types.js';

export const PACK_MAGIC = Buffer.from('CAPSPACK', 'latin1');
export const PACK_VERSION = 1;
export const PACK_HEADER_SIZE = 16;
export const PACK_ENTRY_SIZE = 44;
export const PACK_FOOTER_SIZE = 56;
export const PACK_SUFFIX = '.pack';
/** Pack file names: 32 random hex digits and the suffix. */
export const PACK_NAME_RE = /^[0-9a-f]{32}\.pack$/;

/** One object's place in a pack. */
export interface PackEntry {
  digest: Digest;
  offset: number;
  length: number;
}

export function newPackName(): string {
  return `${randomBytes(16).toString('hex')}${PACK_SUFFIX}`;
}

export function packHeader(): Buffer {
  const h = Buffer.alloc(PACK_HEADER_SIZE);
  PACK_MAGIC.copy(h, 0);
  h.writeUInt32LE(PACK_VERSION, 8);
  return h;
}

/** The index and footer that end a pack whose objects end at `indexOffset`. */
export function packTrailer(entries: PackEntry[], indexOffset: number): Buffer {
  const sorted = [...entries].sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
  const out = Buffer.alloc(sorted.length * PACK_ENTRY_SIZE + PACK_FOOTER_SIZE);
  sorted.forEach((e, i) => {
    const at = i * PACK_ENTRY_SIZE;
    out.write(e.digest.slice('sha256:'.length), at, 32, 'hex');
    out.writeBigUInt64LE(BigInt(e.offset), at + 32);
    out.writeUInt32LE(e.length, at + 40);
  });
  const indexEnd = sorted.length * PACK_ENTRY_SIZE;
  const footer = out.subarray(indexEnd);
  footer.writeBigUInt64LE(BigInt(indexOffset), 0);
  footer.writeUInt32LE(sorted.length, 8);
  footer.writeUInt32LE(PACK_VERSION, 12);
  createHash('sha256').update(out.subarray(0, indexEnd)).digest().copy(footer, 16);
  PACK_MAGIC.copy(footer, 48);
  return out;
}

/** Thrown when a pack's footer or index is not what this module writes. */
export class BadPackError extends Error {}

/**
 * Reads the footer of a pack of `fileSize` bytes (`footer` is its last
 * PACK_FOOTER_SIZE bytes) and says where the index is.
 */
export function parsePackFooter(
  footer: Uint8Array,
  fileSize: number,
): { indexOffset: number; count: number } {
  const f = Buffer.from(footer.buffer, footer.byteOffset, footer.length);
  if (fileSize < PACK_HEADER_SIZE + PACK_FOOTER_SIZE || f.length !== PACK_FOOTER_SIZE)
    throw new BadPackError(`too short to be a pack (${fileSize} bytes)`);
  if (!f.subarray(48).equals(PACK_MAGIC)) throw new BadPackError('no pack footer (wrong magic)');
  const version = f.readUInt32LE(12);
  if (version !== PACK_VERSION) throw new BadPackError(`pack format version ${version} is not supported`);
  const indexOffset = Number(f.readBigUInt64LE(0));
  const count = f.readUInt32LE(8);
  if (indexOffset < PACK_HEADER_SIZE || indexOffset + count * PACK_ENTRY_SIZE + PACK_FOOTER_SIZE !== fileSize)
    throw new BadPackError('the footer does not match the file size');
  return { indexOffset, count };
}

/** Checks a pack's index against the checksum in its footer (the one parsePackFooter read). */
export function checkPackIndex(index: Uint8Array, footer: Uint8Array): void {
  const f = Buffer.from(footer.buffer, footer.byteOffset, footer.length);
  if (!createHash('sha256').update(index).digest().equals(f.subarray(16, 48)))
    throw new BadPackError('the index does not match its checksum');
  if (index.length % PACK_ENTRY_SIZE !== 0) throw new BadPackError('the index has a partial entry');
}

/**
 * A pack's entries, with their order and bounds checked (objects end by
 * `indexOffset`). Lookups search the index in place instead (packs.ts);
 * this is for listings and gc.
 */
export function parsePackIndex(index: Uint8Array, indexOffset: number): PackEntry[] {
  const ix = Buffer.from(index.buffer, index.byteOffset, index.length);
  if (ix.length % PACK_ENTRY_SIZE !== 0) throw new BadPackError('the index has a partial entry');
  const entries: PackEntry[] = [];
  let previous = '';
  for (let at = 0; at < ix.length; at += PACK_ENTRY_SIZE) {
    const hex = ix.toString('hex', at, at + 32);
    const offset = Number(ix.readBigUInt64LE(at + 32));
    const length = ix.readUInt32LE(at + 40);
    if (hex <= previous) throw new BadPackError('the index is not sorted, or names an object twice');
    if (offset < PACK_HEADER_SIZE || offset + length > indexOffset)
      throw new BadPackError(`the index places sha256:${hex} outside the object area`);
    previous = hex;
    entries.push({ digest: `sha256:${hex}`, offset, length });
  }
  return entries;
}

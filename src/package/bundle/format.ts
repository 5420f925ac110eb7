/**
 * The Capsule bundle file, version 1: whole packages in one file, readable in
 * place without extracting. Platform-neutral: this file frames and unframes
 * bytes; reading them from a file descriptor (reader.ts) or with HTTP Range
 * requests is the caller's business. docs/bundle.md says the same for humans.
 *
 * Layout. Integers are unsigned little-endian; N is the file size.
 *
 *   offset   size  field
 *   0        8     header magic: 89 43 41 50 53 0D 0A 1A  ("\x89CAPS\r\n\x1A", as PNG:
 *                  the high byte catches 7-bit transports, CR LF catches newline
 *                  conversion, 1A stops `type` on DOS)
 *   8        4     format version, u32 = 1
 *   12       4     flags, u32 = 0 (reserved: a v1 reader refuses any other value)
 *   16       ...   object area: the stored bytes of every object, back to back, no
 *                  padding, in ascending digest order (byte order of the digest string).
 *                  Chunks are stored as the store holds them (encoded, see
 *                  ChunkEncoding); manifests, layer indexes and profiles as their
 *                  canonical JSON bytes.
 *   I        L     index: canonical JSON (canonical.ts) of `BundleIndex`
 *   N-56     8     I, the index offset, u64
 *   N-48     8     L, the index length, u64
 *   N-40     32    SHA-256 of the L index bytes (raw, not hex)
 *   N-8      8     footer magic: 43 41 50 53 2D 45 4E 44  ("CAPS-END")
 *
 * So a reader reads 16 bytes at 0 and 56 at N-56 (two ranges, or one suffix
 * range plus the header), then the index, then any object by offset. The
 * index ends exactly where the footer starts (I + L = N - 56), and the
 * objects tile [16, I) exactly: the first starts at 16, each next one where
 * the previous ends, the last ends at I. There is no gap or overlap to
 * hide bytes in, and the same packages give the same file, byte for byte.
 *
 * The index's checksum detects damage (a truncated download, a flipped bit);
 * it is not a signature. Trust comes from the objects themselves: each one is
 * verified against its digest when it is read, and the manifest digests are
 * what package signatures sign.
 */
import type { Digest, Signature } from '../types.js';

export const BUNDLE_SCHEMA = 'capsule.bundle/v1';
export const BUNDLE_VERSION = 1;

export const HEADER_MAGIC: readonly number[] = [0x89, 0x43, 0x41, 0x50, 0x53, 0x0d, 0x0a, 0x1a];
export const FOOTER_MAGIC: readonly number[] = [0x43, 0x41, 0x50, 0x53, 0x2d, 0x45, 0x4e, 0x44];
export const HEADER_SIZE = 16;
export const FOOTER_SIZE = 56;

/** The largest index a reader will load (128 MiB: about a million objects). */
export const MAX_INDEX_SIZE = 128 * 1024 * 1024;
/** The largest metadata object (a layer index of MAX_LAYER_ENTRIES entries fits). */
export const MAX_META_SIZE = 256 * 1024 * 1024;
/**
 * The largest stored chunk: MAX_CHUNK_SIZE plain bytes, plus the header byte
 * and room for an encoding that grew a little (gzip's worst case is ~0.03%).
 */
export const MAX_STORED_CHUNK_SIZE = 16 * 1024 * 1024 + 64 * 1024;

/**
 * What kind of object this is, so a reader knows how to verify it:
 *   meta   a manifest, layer index or launch profile: digest = SHA-256 of the stored bytes
 *   chunk  digest = SHA-256 of the decoded bytes (store/types.ts, chunk-io.ts)
 */
export type ObjectKind = 'meta' | 'chunk';

/** One object. `offset` is from the start of the file; `length` is at least 1. */
export interface BundleObject {
  digest: Digest;
  kind: ObjectKind;
  offset: number;
  length: number;
}

/**
 * One package in the bundle: its manifest is the `meta` object `digest`, and
 * `name`/`version` must be the manifest's own (importers check this before
 * setting a ref). `root` marks what was exported, as opposed to a dependency
 * that came along with it. `signatures` are detached (types.ts), sorted by
 * keyId then signature.
 */
export interface BundlePackage {
  name: string;
  version: string;
  digest: Digest;
  root: boolean;
  signatures: Signature[];
}

/**
 * The index. `packages` is sorted by name, then version, with no name@version
 * twice and at least one entry; `objects` is sorted by digest with no digest
 * twice. Unknown fields are refused.
 */
export interface BundleIndex {
  schema: typeof BUNDLE_SCHEMA;
  packages: BundlePackage[];
  objects: BundleObject[];
}

export interface BundleFooter {
  indexOffset: number;
  indexLength: number;
  /** The raw 32-byte SHA-256 of the index bytes. */
  indexSha256: Uint8Array;
}

export function encodeHeader(): Uint8Array {
  const out = new Uint8Array(HEADER_SIZE);
  out.set(HEADER_MAGIC, 0);
  new DataView(out.buffer).setUint32(8, BUNDLE_VERSION, true);
  return out;
}

export function encodeFooter(footer: BundleFooter): Uint8Array {
  const out = new Uint8Array(FOOTER_SIZE);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(footer.indexOffset), true);
  view.setBigUint64(8, BigInt(footer.indexLength), true);
  out.set(footer.indexSha256, 16);
  out.set(FOOTER_MAGIC, 48);
  return out;
}

/** Byte order of strings made of ASCII (digests, names, versions): plain code-unit order. */
export function compareAscii(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The order of `BundleIndex.packages`. */
export function comparePackages(a: BundlePackage, b: BundlePackage): number {
  return compareAscii(a.name, b.name) || compareAscii(a.version, b.version);
}

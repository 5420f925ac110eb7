/**
 * Reading a bundle's header, footer and index (format.ts), strictly and
 * platform-neutrally: every check a hostile file could need happens here,
 * before anything is allocated from a size the file claims, so a reader over
 * a file descriptor and one over HTTP Range requests share them.
 */
import * as v from 'valibot';
import { parseCanonical } from '../canonical.js';
import { PackageError } from '../errors.js';
import { check, count, digest, list, strict } from '../fields.js';
import type { Hasher } from '../hash.js';
import { NAME_RE, SEMVER_RE } from '../types.js';
import {
  BUNDLE_SCHEMA,
  BUNDLE_VERSION,
  FOOTER_MAGIC,
  FOOTER_SIZE,
  HEADER_MAGIC,
  HEADER_SIZE,
  MAX_INDEX_SIZE,
  MAX_META_SIZE,
  MAX_STORED_CHUNK_SIZE,
  compareAscii,
  comparePackages,
  type BundleFooter,
  type BundleIndex,
} from './format.js';

function corrupt(message: string): PackageError {
  return new PackageError('CORRUPT_BUNDLE', message);
}

function startsWith(bytes: Uint8Array, magic: readonly number[], at = 0): boolean {
  return magic.every((b, i) => bytes[at + i] === b);
}

/** Checks the first HEADER_SIZE bytes of a file of `fileSize` bytes. */
export function parseHeader(bytes: Uint8Array, fileSize: number): void {
  if (fileSize < HEADER_SIZE || bytes.length < HEADER_SIZE || !startsWith(bytes, HEADER_MAGIC))
    throw new PackageError('NOT_A_BUNDLE', 'not a Capsule bundle (no bundle header)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER_SIZE);
  const version = view.getUint32(8, true);
  if (version !== BUNDLE_VERSION)
    throw new PackageError(
      'UNSUPPORTED_BUNDLE',
      `bundle format version ${version} is not supported (this capsule reads version ${BUNDLE_VERSION})`,
    );
  const flags = view.getUint32(12, true);
  if (flags !== 0)
    throw new PackageError('UNSUPPORTED_BUNDLE', `bundle header has unknown flags 0x${flags.toString(16)}`);
}

/** Checks the last FOOTER_SIZE bytes of a file of `fileSize` bytes and where they put the index. */
export function parseFooter(bytes: Uint8Array, fileSize: number): BundleFooter {
  if (fileSize < HEADER_SIZE + FOOTER_SIZE || bytes.length !== FOOTER_SIZE)
    throw corrupt(`bundle is truncated: ${fileSize} bytes is too short to hold a header and a footer`);
  if (!startsWith(bytes, FOOTER_MAGIC, 48))
    throw corrupt('bundle is truncated or damaged: its last bytes are not a bundle footer');
  const view = new DataView(bytes.buffer, bytes.byteOffset, FOOTER_SIZE);
  const offset = view.getBigUint64(0, true);
  const length = view.getBigUint64(8, true);
  const footerAt = BigInt(fileSize - FOOTER_SIZE);
  if (length > BigInt(MAX_INDEX_SIZE))
    throw corrupt(`bundle index of ${length} bytes is over the ${MAX_INDEX_SIZE}-byte limit`);
  if (offset < BigInt(HEADER_SIZE) || offset + length !== footerAt)
    throw corrupt(
      `bundle footer puts the index at ${offset}+${length}, but it must end at ${footerAt}, where the footer starts`,
    );
  return {
    indexOffset: Number(offset),
    indexLength: Number(length),
    indexSha256: bytes.slice(16, 48),
  };
}

const name = v.pipe(v.string(), v.regex(NAME_RE, 'expected a package name'));
const version = v.pipe(
  v.string(),
  v.maxLength(128, 'longer than 128 characters'),
  v.regex(SEMVER_RE, 'expected a version'),
);

const indexSchema = strict({
  schema: v.literal(BUNDLE_SCHEMA, `expected "${BUNDLE_SCHEMA}"`),
  packages: v.pipe(
    v.array(
      strict({
        name,
        version,
        digest,
        root: v.boolean(),
        signatures: list(
          strict({
            keyId: digest,
            algorithm: v.literal('ed25519', 'expected "ed25519"'),
            signature: v.pipe(v.string(), v.regex(/^[A-Za-z0-9+/]{86}==$/, 'expected base64 of 64 bytes')),
          }),
          64,
          'more than 64 signatures',
        ),
      }),
    ),
    v.minLength(1, 'a bundle holds at least one package'),
    v.maxLength(65536, 'more than 65536 packages'),
  ),
  objects: v.array(
    strict({
      digest,
      kind: v.picklist(['meta', 'chunk'], 'expected "meta" or "chunk"'),
      offset: count,
      length: count,
    }),
  ),
});

/**
 * Checks the index bytes against the footer's checksum, parses them and
 * checks the layout rules of format.ts. Throws PackageError CORRUPT_BUNDLE
 * naming the first problem.
 */
export function parseIndex(bytes: Uint8Array, footer: BundleFooter, hasher: Hasher): BundleIndex {
  if (bytes.length !== footer.indexLength) throw corrupt('bundle index is truncated');
  const sum = hasher.sha256(bytes);
  if (sum.length !== 32 || !sum.every((b, i) => b === footer.indexSha256[i]))
    throw corrupt('bundle index checksum mismatch: the index is damaged');
  let value: unknown;
  try {
    value = parseCanonical(bytes);
  } catch (e) {
    throw corrupt(`bundle index: ${(e as Error).message}`);
  }
  const r = check(indexSchema, value);
  if (!r.ok) throw corrupt(`bundle index: ${r.message}`);
  const index: BundleIndex = r.value;
  checkObjects(index, footer.indexOffset);
  checkPackages(index);
  return index;
}

/** Objects sorted and unique by digest, tiling [HEADER_SIZE, indexOffset) exactly. */
function checkObjects(index: BundleIndex, indexOffset: number): void {
  let end = HEADER_SIZE;
  let previous = '';
  index.objects.forEach((o, i) => {
    const at = `bundle index: objects[${i}] (${o.digest})`;
    const order = compareAscii(previous, o.digest);
    if (order === 0) throw corrupt(`${at} is listed twice`);
    if (order > 0) throw corrupt(`${at} is out of digest order`);
    previous = o.digest;
    const max = o.kind === 'chunk' ? MAX_STORED_CHUNK_SIZE : MAX_META_SIZE;
    if (o.length < 1 || o.length > max) throw corrupt(`${at} has length ${o.length}, outside 1..${max}`);
    if (o.offset < end) throw corrupt(`${at} at ${o.offset} overlaps the object before it (ends at ${end})`);
    if (o.offset > end) throw corrupt(`${at} at ${o.offset} leaves a gap after ${end}`);
    end = o.offset + o.length;
    if (end > indexOffset) throw corrupt(`${at} runs past the object area (ends at ${end} > ${indexOffset})`);
  });
  if (end !== indexOffset)
    throw corrupt(`bundle index: the objects end at ${end}, but the index starts at ${indexOffset}`);
}

/** Packages sorted, unique by name@version, each a meta object of the bundle. */
function checkPackages(index: BundleIndex): void {
  const kinds = new Map(index.objects.map((o) => [o.digest, o.kind]));
  index.packages.forEach((p, i) => {
    const at = `bundle index: packages[${i}] (${p.name}@${p.version})`;
    const before = index.packages[i - 1];
    if (before && comparePackages(before, p) >= 0) throw corrupt(`${at} is out of order or listed twice`);
    if (kinds.get(p.digest) !== 'meta')
      throw corrupt(`${at}: its manifest ${p.digest} is not a metadata object of the bundle`);
  });
}

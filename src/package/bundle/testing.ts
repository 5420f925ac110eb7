/**
 * Fixtures for the bundle tests: small packages packed into a temporary disk
 * store, and a way to take a bundle apart and put it back together with a
 * changed index (a valid checksum over hostile contents).
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { FsObjectStore, FsRefStore } from '../../store/fs/index.js';
import { canonicalBytes, parseCanonical } from '../canonical.js';
import { nodeHasher } from '../hash-node.js';
import { buildManifest, writeProfile } from '../objects.js';
import { packTree, writeManifest } from '../pack.js';
import { randomBytes } from '../testing.js';
import { PROFILE_SCHEMA, type Digest } from '../types.js';
import { FOOTER_SIZE, HEADER_SIZE, encodeFooter, type BundleIndex } from './format.js';

export function tempDir(prefix = 'capsule-bundle-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

function writeTree(dir: string, files: Record<string, string | Uint8Array>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
}

export interface Fixture {
  dir: string;
  objects: FsObjectStore;
  refs: FsRefStore;
  /** base@1.0.0: a runtime-like package. */
  base: Digest;
  /** app@2.0.0: depends on base, has a launch profile. */
  app: Digest;
}

/**
 * Packs base@1.0.0 and app@2.0.0 (on top of base) into a fresh store. With
 * `small`, the files are tiny, so the bundle is a few KiB and every byte of
 * it can be flipped in a test.
 */
export async function makeFixture(small = false): Promise<Fixture> {
  const dir = tempDir();
  const objects = new FsObjectStore(join(dir, 'store'));
  const refs = new FsRefStore(join(dir, 'store'));
  const big = small ? 1 : 200;
  writeTree(join(dir, 'base'), {
    'lib/runtime.bin': randomBytes(1000 * big, 'runtime'),
    'lib/README': 'base runtime\n',
  });
  writeTree(join(dir, 'app'), {
    'bin/app.wasm': randomBytes(1500 * big, 'app'),
    'etc/app.conf': 'x=1\n'.repeat(big),
  });
  const baseLayer = await packTree(join(dir, 'base'), objects, { workers: 0 });
  const base = writeManifest(
    objects,
    buildManifest({ name: 'base', version: '1.0.0', entry: '/lib/runtime.bin', layers: [baseLayer.layer] }),
  );
  const appLayer = await packTree(join(dir, 'app'), objects, { workers: 0 });
  const profile = writeProfile(
    objects,
    { schema: PROFILE_SCHEMA, manifest: base, chunks: [], args: ['--warm'] },
    nodeHasher,
  );
  const app = writeManifest(
    objects,
    buildManifest({
      name: 'app',
      version: '2.0.0',
      entry: '/bin/app.wasm',
      layers: [appLayer.layer],
      dependencies: [{ name: 'base', range: '^1.0.0', digest: base, version: '1.0.0' }],
      profile,
    }),
  );
  refs.setRef('base', '1.0.0', base);
  refs.setRef('app', '2.0.0', app);
  return { dir, objects, refs, base, app };
}

export interface BundleParts {
  header: Uint8Array;
  /** The object area, from HEADER_SIZE to the index. */
  area: Uint8Array;
  index: BundleIndex;
}

export function splitBundle(bytes: Uint8Array): BundleParts {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const at = bytes.length - FOOTER_SIZE;
  const offset = Number(view.getBigUint64(at, true));
  const length = Number(view.getBigUint64(at + 8, true));
  return {
    header: bytes.slice(0, HEADER_SIZE),
    area: bytes.slice(HEADER_SIZE, offset),
    index: parseCanonical(bytes.subarray(offset, offset + length)) as BundleIndex,
  };
}

/** Reassembles a bundle with a correct footer and checksum around whatever the parts say. */
export function joinBundle(parts: BundleParts, indexBytes = canonicalBytes(parts.index)): Uint8Array {
  const indexOffset = parts.header.length + parts.area.length;
  const footer = encodeFooter({
    indexOffset,
    indexLength: indexBytes.length,
    indexSha256: nodeHasher.sha256(indexBytes),
  });
  const out = new Uint8Array(indexOffset + indexBytes.length + footer.length);
  out.set(parts.header, 0);
  out.set(parts.area, parts.header.length);
  out.set(indexBytes, indexOffset);
  out.set(footer, indexOffset + indexBytes.length);
  return out;
}

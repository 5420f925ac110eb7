/**
 * Layer index validation. A layer index comes from outside (a store, a
 * bundle, a server) and drives what the view shows, so every rule of
 * types.ts is checked, with the failing field's path in the message:
 *   - shape: strict objects, known fields only;
 *   - paths: safe (paths.ts), strictly increasing in UTF-8 byte order (sorted
 *     and unique), in `entries`, `whiteouts` and `opaque` alike;
 *   - every ancestor of an entry that is itself an entry of this layer is a
 *     directory (no "a/b" under a file or symlink "a");
 *   - files: `chunks` present, chunk sizes 1..MAX_CHUNK_SIZE adding up to
 *     `size`, no `target`;
 *   - directories: size 0, no chunks, no target;
 *   - symlinks: size 0, a non-empty `target` without NUL of at most 4096
 *     bytes, no chunks. The target is kept verbatim: it may be absolute or
 *     climb with "..", because the view resolves it inside itself (vfs/);
 *   - `opaque` names directories of this layer.
 */
import * as v from 'valibot';
import { PackageError } from './errors.js';
import { check, count, digest, integer, layerPath, list, strict, text } from './fields.js';
import { parseCanonicalAs } from './manifest.js';
import { compareUtf8, MAX_PATH_BYTES, utf8Length } from './paths.js';
import { LAYER_SCHEMA, MAX_CHUNK_SIZE, type LayerIndex } from './types.js';

export const MAX_LAYER_ENTRIES = 1_000_000;

const entrySchema = strict({
  path: layerPath,
  type: v.picklist(['file', 'dir', 'symlink'], 'expected "file", "dir" or "symlink"'),
  mode: v.pipe(integer, v.minValue(0, 'expected 0..0o777'), v.maxValue(0o777, 'expected 0..0o777')),
  size: count,
  target: v.optional(text(MAX_PATH_BYTES)),
  chunks: v.optional(
    v.array(
      strict({
        digest,
        size: v.pipe(
          integer,
          v.minValue(1, 'expected >= 1'),
          v.maxValue(MAX_CHUNK_SIZE, `larger than ${MAX_CHUNK_SIZE}`),
        ),
      }),
    ),
  ),
});

const indexSchema = strict({
  schema: v.literal(LAYER_SCHEMA, `expected "${LAYER_SCHEMA}"`),
  entries: list(entrySchema, MAX_LAYER_ENTRIES, `more than ${MAX_LAYER_ENTRIES} entries`),
  whiteouts: list(layerPath, MAX_LAYER_ENTRIES, `more than ${MAX_LAYER_ENTRIES} whiteouts`),
  opaque: list(layerPath, MAX_LAYER_ENTRIES, `more than ${MAX_LAYER_ENTRIES} opaque directories`),
});

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const indexTypeMatches: Same<v.InferOutput<typeof indexSchema>, LayerIndex> = true;
void indexTypeMatches;

function fail(path: string, message: string): never {
  throw new PackageError('INVALID_LAYER', `invalid layer index: ${path}: ${message}`);
}

function checkSorted(paths: readonly string[], field: string): void {
  for (let i = 1; i < paths.length; i++) {
    const c = compareUtf8(paths[i - 1]!, paths[i]!);
    if (c === 0) fail(`${field}[${i}]`, `duplicate path ${JSON.stringify(paths[i])}`);
    if (c > 0) fail(`${field}[${i}]`, 'not sorted by UTF-8 bytes');
  }
}

/** Validates a parsed value as a layer index. Throws PackageError INVALID_LAYER. */
export function validateLayerIndex(value: unknown): LayerIndex {
  const r = check(indexSchema, value);
  if (!r.ok) throw new PackageError('INVALID_LAYER', `invalid layer index: ${r.message}`);
  const index = r.value;
  checkSorted(
    index.entries.map((e) => e.path),
    'entries',
  );
  checkSorted(index.whiteouts, 'whiteouts');
  checkSorted(index.opaque, 'opaque');

  const types = new Map<string, string>();
  index.entries.forEach((e, i) => {
    const at = `entries[${i}]`;
    // Sorted order puts ancestors first, so they are already in `types`.
    for (let slash = e.path.indexOf('/'); slash >= 0; slash = e.path.indexOf('/', slash + 1)) {
      const t = types.get(e.path.slice(0, slash));
      if (t !== undefined && t !== 'dir')
        fail(`${at}.path`, `parent ${JSON.stringify(e.path.slice(0, slash))} is a ${t}`);
    }
    types.set(e.path, e.type);
    if (e.type === 'file') {
      if (e.target !== undefined) fail(`${at}.target`, 'only symlinks have a target');
      if (e.chunks === undefined) fail(`${at}.chunks`, 'a file needs a chunk list');
      let sum = 0;
      for (const c of e.chunks) sum += c.size;
      if (sum !== e.size) fail(`${at}.chunks`, `chunk sizes add up to ${sum}, not size ${e.size}`);
    } else {
      if (e.chunks !== undefined) fail(`${at}.chunks`, `a ${e.type} has no chunks`);
      if (e.size !== 0) fail(`${at}.size`, `a ${e.type} has size 0`);
      if (e.type === 'dir' && e.target !== undefined) fail(`${at}.target`, 'only symlinks have a target');
      if (e.type === 'symlink') {
        if (e.target === undefined || e.target === '')
          fail(`${at}.target`, 'a symlink needs a non-empty target');
        if (utf8Length(e.target) > MAX_PATH_BYTES)
          fail(`${at}.target`, `longer than ${MAX_PATH_BYTES} bytes`);
      }
    }
  });
  index.opaque.forEach((p, i) => {
    if (types.get(p) !== 'dir') fail(`opaque[${i}]`, `${JSON.stringify(p)} is not a directory of this layer`);
  });
  return index;
}

/** Parses and validates layer index bytes (canonical JSON). */
export function parseLayerIndex(bytes: Uint8Array): LayerIndex {
  return validateLayerIndex(parseCanonicalAs(bytes, 'INVALID_LAYER', 'layer index'));
}

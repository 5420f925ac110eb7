/**
 * Manifest and launch-profile validation. Loading a package starts here: the
 * bytes must be canonical JSON (canonical.ts) and match the schema exactly;
 * unknown fields are refused, so a v1 reader never silently ignores
 * something a newer writer meant.
 */
import * as v from 'valibot';
import { parseCanonical } from './canonical.js';
import { PackageError } from './errors.js';
import { check, count, digest, guestFilePath, guestPath, list, record, strict, text } from './fields.js';
import {
  MANIFEST_SCHEMA,
  NAME_RE,
  PROFILE_SCHEMA,
  SEMVER_RE,
  type LaunchProfile,
  type Manifest,
} from './types.js';

const name = v.pipe(
  v.string(),
  v.regex(NAME_RE, 'expected a name: a-z 0-9 . _ - (1-64, starting with a letter or digit)'),
);
const version = v.pipe(
  v.string(),
  v.maxLength(128, 'longer than 128 characters'),
  v.regex(SEMVER_RE, 'expected a semver version (1.2.3[-pre][+build])'),
);
const envKey = v.pipe(
  text(1024),
  v.minLength(1, 'empty name'),
  v.check((k) => !k.includes('='), 'contains "="'),
);

/** Refuses a second item with the same `key`, at that item's `key`. */
function unique<T extends Record<K, string>, K extends string>(key: K, what: string) {
  return v.rawCheck<T[]>(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const items = dataset.value;
    const seen = new Set<string>();
    items.forEach((item, i) => {
      const value = item[key];
      if (seen.has(value))
        addIssue({
          message: `duplicate ${what} "${value}"`,
          path: [
            { type: 'array', origin: 'value', input: items, key: i, value: item },
            { type: 'object', origin: 'value', input: item, key, value },
          ],
        });
      seen.add(value);
    });
  });
}

const dependency = strict({
  name,
  range: v.pipe(text(256), v.minLength(1, 'empty range')),
  digest,
  version,
});

const dir = strict({
  guest: guestPath,
  access: v.picklist(['ro', 'rw'], 'expected "ro" or "rw"'),
  reason: v.optional(text(1024)),
});

const manifestSchema = strict({
  schema: v.literal(MANIFEST_SCHEMA, `expected "${MANIFEST_SCHEMA}"`),
  name,
  version,
  entry: guestFilePath,
  args: list(text(65536), 4096, 'more than 4096 arguments'),
  env: record(envKey, text(65536)),
  cwd: guestPath,
  layers: list(strict({ digest, size: count, entries: count }), 1024, 'more than 1024 layers'),
  dependencies: v.pipe(
    list(dependency, 256, 'more than 256 dependencies'),
    unique<v.InferOutput<typeof dependency>, 'name'>('name', 'dependency'),
  ),
  permissions: strict({
    dirs: v.pipe(
      list(dir, 256, 'more than 256 directories'),
      unique<v.InferOutput<typeof dir>, 'guest'>('guest', 'directory'),
    ),
  }),
  settings: strict({
    files: record(guestFilePath, v.pipe(v.string(), v.maxLength(1 << 20, 'longer than 1 MiB'))),
  }),
  profile: v.nullable(digest),
  annotations: record(text(256), text(65536)),
  split: v.optional(strict({ secondary: guestFilePath, primaryFunctions: count, secondaryFunctions: count })),
});

const profileSchema = strict({
  schema: v.literal(PROFILE_SCHEMA, `expected "${PROFILE_SCHEMA}"`),
  manifest: digest,
  chunks: list(digest, 1 << 20, 'more than 2^20 chunks'),
  args: list(text(65536), 4096, 'more than 4096 arguments'),
  after: v.optional(list(digest, 1 << 20, 'more than 2^20 chunks')),
});

// Compile-time checks that the schemas produce exactly the types of types.ts.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const manifestTypeMatches: Same<v.InferOutput<typeof manifestSchema>, Manifest> = true;
const profileTypeMatches: Same<v.InferOutput<typeof profileSchema>, LaunchProfile> = true;
void manifestTypeMatches;
void profileTypeMatches;

/** Validates a parsed value as a manifest. Throws PackageError INVALID_MANIFEST naming each failing field. */
export function validateManifest(value: unknown): Manifest {
  const r = check(manifestSchema, value);
  if (!r.ok) throw new PackageError('INVALID_MANIFEST', `invalid manifest: ${r.message}`);
  return r.value;
}

/** Parses and validates manifest bytes (canonical JSON). */
export function parseManifest(bytes: Uint8Array): Manifest {
  return validateManifest(parseCanonicalAs(bytes, 'INVALID_MANIFEST', 'manifest'));
}

export function validateProfile(value: unknown): LaunchProfile {
  const r = check(profileSchema, value);
  if (!r.ok) throw new PackageError('INVALID_PROFILE', `invalid launch profile: ${r.message}`);
  return r.value;
}

export function parseProfile(bytes: Uint8Array): LaunchProfile {
  return validateProfile(parseCanonicalAs(bytes, 'INVALID_PROFILE', 'launch profile'));
}

/** parseCanonical, with the error re-labelled for the object being read. */
export function parseCanonicalAs(
  bytes: Uint8Array,
  code: 'INVALID_MANIFEST' | 'INVALID_PROFILE' | 'INVALID_LAYER',
  what: string,
): unknown {
  try {
    return parseCanonical(bytes);
  } catch (e) {
    if (e instanceof PackageError) throw new PackageError(code, `invalid ${what}: ${e.message}`);
    throw e;
  }
}

/**
 * Manifest and launch-profile validation. Loading a package starts here: the
 * bytes must be canonical JSON (canonical.ts) and match the schema exactly;
 * unknown fields are refused, so a v1 reader never silently ignores
 * something a newer writer meant.
 */
import { z } from 'zod';
import { parseCanonical } from './canonical.js';
import { PackageError } from './errors.js';
import { count, digest, formatIssues, guestFilePath, guestPath, text } from './fields.js';
import {
  MANIFEST_SCHEMA,
  NAME_RE,
  PROFILE_SCHEMA,
  SEMVER_RE,
  type LaunchProfile,
  type Manifest,
} from './types.js';

const name = z
  .string()
  .regex(NAME_RE, 'expected a name: a-z 0-9 . _ - (1-64, starting with a letter or digit)');
const version = z
  .string()
  .max(128, 'longer than 128 characters')
  .regex(SEMVER_RE, 'expected a semver version (1.2.3[-pre][+build])');
const envKey = text(1024)
  .min(1, 'empty name')
  .refine((k) => !k.includes('='), 'contains "="');

const manifestSchema = z.strictObject({
  schema: z.literal(MANIFEST_SCHEMA, `expected "${MANIFEST_SCHEMA}"`),
  name,
  version,
  entry: guestFilePath,
  args: z.array(text(65536)).max(4096, 'more than 4096 arguments'),
  env: z.record(envKey, text(65536)),
  cwd: guestPath,
  layers: z.array(z.strictObject({ digest, size: count, entries: count })).max(1024, 'more than 1024 layers'),
  dependencies: z
    .array(
      z.strictObject({
        name,
        range: text(256).min(1, 'empty range'),
        digest,
        version,
      }),
    )
    .max(256, 'more than 256 dependencies')
    .superRefine((deps, ctx) => {
      const seen = new Set<string>();
      deps.forEach((d, i) => {
        if (seen.has(d.name))
          ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate dependency "${d.name}"` });
        seen.add(d.name);
      });
    }),
  permissions: z.strictObject({
    dirs: z
      .array(
        z.strictObject({
          guest: guestPath,
          access: z.enum(['ro', 'rw'], 'expected "ro" or "rw"'),
          reason: text(1024).optional(),
        }),
      )
      .max(256, 'more than 256 directories')
      .superRefine((dirs, ctx) => {
        const seen = new Set<string>();
        dirs.forEach((d, i) => {
          if (seen.has(d.guest))
            ctx.addIssue({ code: 'custom', path: [i, 'guest'], message: `duplicate directory "${d.guest}"` });
          seen.add(d.guest);
        });
      }),
  }),
  settings: z.strictObject({
    files: z.record(guestFilePath, z.string().max(1 << 20, 'longer than 1 MiB')),
  }),
  profile: digest.nullable(),
  annotations: z.record(text(256), text(65536)),
});

const profileSchema = z.strictObject({
  schema: z.literal(PROFILE_SCHEMA, `expected "${PROFILE_SCHEMA}"`),
  manifest: digest,
  chunks: z.array(digest).max(1 << 20, 'more than 2^20 chunks'),
  args: z.array(text(65536)).max(4096, 'more than 4096 arguments'),
});

// Compile-time checks that the schemas produce exactly the types of types.ts.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const manifestTypeMatches: Same<z.infer<typeof manifestSchema>, Manifest> = true;
const profileTypeMatches: Same<z.infer<typeof profileSchema>, LaunchProfile> = true;
void manifestTypeMatches;
void profileTypeMatches;

/** Validates a parsed value as a manifest. Throws PackageError INVALID_MANIFEST naming each failing field. */
export function validateManifest(value: unknown): Manifest {
  const r = manifestSchema.safeParse(value);
  if (!r.success)
    throw new PackageError('INVALID_MANIFEST', `invalid manifest: ${formatIssues(r.error.issues)}`);
  return r.data;
}

/** Parses and validates manifest bytes (canonical JSON). */
export function parseManifest(bytes: Uint8Array): Manifest {
  return validateManifest(parseCanonicalAs(bytes, 'INVALID_MANIFEST', 'manifest'));
}

export function validateProfile(value: unknown): LaunchProfile {
  const r = profileSchema.safeParse(value);
  if (!r.success)
    throw new PackageError('INVALID_PROFILE', `invalid launch profile: ${formatIssues(r.error.issues)}`);
  return r.data;
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

/**
 * Which version of an app a client gets, from what follows `@` in
 * `URL/name[@spec]` and what the server's catalog says (docs/server.md):
 *
 *   (nothing)   the `stable` channel when it has a version, else "latest"
 *   latest      the highest release that is not yanked (a pre-release only when there is no release)
 *   1.2.3       exactly that version, yanked or not (the caller warns)
 *   beta        a channel: the version it points at (never a yanked one; the server sees to that)
 *   ^1.2, 1.x   the highest version in the range that is not yanked
 *
 * A channel name is 2-32 lowercase letters, digits and "-", starts with a
 * letter, and is neither `latest` nor something semver reads as a range
 * (`x`, `x-1`), so the three kinds never overlap.
 */
import { createRequire } from 'node:module';
import type SemverLib from 'semver';
import { SEMVER_RE } from '../../package/types.js';

export const CHANNEL_RE = /^[a-z][a-z0-9-]{1,31}$/;

export const DEFAULT_CHANNEL = 'stable';

let semverLib: typeof SemverLib | undefined;
function semver(): typeof SemverLib {
  return (semverLib ??= createRequire(import.meta.url)('semver') as typeof SemverLib);
}

export function isChannelName(s: string): boolean {
  return CHANNEL_RE.test(s) && s !== 'latest' && semver().validRange(s) === null;
}

export type VersionSpec =
  | { kind: 'default' }
  | { kind: 'latest' }
  | { kind: 'pin'; version: string }
  | { kind: 'channel'; channel: string }
  | { kind: 'range'; range: string };

/** What follows `@`, classified; null when it is no version, range or channel name. */
export function parseVersionSpec(spec: string | undefined): VersionSpec | null {
  if (spec === undefined) return { kind: 'default' };
  if (spec === 'latest') return { kind: 'latest' };
  if (SEMVER_RE.test(spec)) return { kind: 'pin', version: spec };
  if (isChannelName(spec)) return { kind: 'channel', channel: spec };
  if (spec.length <= 256 && semver().validRange(spec) !== null) return { kind: 'range', range: spec };
  return null;
}

/** An app as the catalog lists it. */
export interface CatalogApp {
  name: string;
  versions: { version: string; digest: string; yanked?: boolean }[];
  /** Channel name -> the version it points at now (channels with none are left out). */
  channels?: Record<string, string>;
}

/** The highest release that is not yanked; a pre-release only when there is no release. */
export function latestVersion(app: CatalogApp): string | null {
  const usable = semver().rsort(app.versions.filter((v) => !v.yanked).map((v) => v.version));
  return usable.find((v) => semver().prerelease(v) === null) ?? usable[0] ?? null;
}

/** The version `spec` selects in `app`, or null when it selects none. */
export function selectVersion(app: CatalogApp, spec: VersionSpec): string | null {
  switch (spec.kind) {
    case 'default':
      return app.channels?.[DEFAULT_CHANNEL] ?? latestVersion(app);
    case 'latest':
      return latestVersion(app);
    case 'pin':
      return app.versions.some((v) => v.version === spec.version) ? spec.version : null;
    case 'channel':
      return app.channels?.[spec.channel] ?? null;
    case 'range':
      return semver().maxSatisfying(
        app.versions.filter((v) => !v.yanked).map((v) => v.version),
        spec.range,
      );
  }
}

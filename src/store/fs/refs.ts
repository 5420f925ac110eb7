/**
 * Named references: `refs/<name>/<version>` is a text file holding a manifest
 * digest and "\n". It is replaced atomically (staged-file.ts), so a reader
 * sees the old digest or the new one, never a mix. Names must match NAME_RE
 * and versions must be exact semver 2.0 strings (`1.2.3`, `2.0.0-rc.1+b7`,
 * not `v1.2.3`) before either becomes a path component.
 *
 * Empty `refs/<name>/` folders are left behind by deleteRef on purpose:
 * removing them would race a concurrent setRef of the same name.
 */
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import type SemverLib from 'semver';
import { DIGEST_RE, NAME_RE, SEMVER_RE, type Digest } from '../../package/types.js';
import { assertDigest } from '../digest.js';
import { StoreError } from '../types.js';
import { storeLayout, type StoreLayout } from './layout.js';
import { ioError, isCode, writeFileStaged } from './staged-file.js';

export interface Ref {
  name: string;
  version: string;
  digest: Digest;
}

export class FsRefStore {
  readonly layout: StoreLayout;

  /** `root` is the store directory, shared with FsObjectStore. */
  constructor(root: string) {
    this.layout = storeLayout(root);
  }

  setRef(name: string, version: string, digest: Digest): void {
    const path = this.#pathOf(name, version);
    assertDigest(digest);
    writeFileStaged(this.layout.tmp, path, new TextEncoder().encode(`${digest}\n`));
  }

  /** The digest `name@version` points at, or null. Throws CORRUPT for a damaged ref file. */
  getRef(name: string, version: string): Digest | null {
    const path = this.#pathOf(name, version);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      if (isCode(e, 'ENOENT', 'ENOTDIR')) return null;
      throw ioError('read ref', path, e);
    }
    const digest = text.trimEnd();
    if (!DIGEST_RE.test(digest))
      throw new StoreError('CORRUPT', `ref ${name}@${version} (${path}) is damaged`);
    return digest;
  }

  /** Removes `name@version`; true when it existed. */
  deleteRef(name: string, version: string): boolean {
    const path = this.#pathOf(name, version);
    const existed = this.getRef(name, version) !== null;
    try {
      rmSync(path, { force: true });
    } catch (e) {
      throw ioError('delete ref', path, e);
    }
    return existed;
  }

  /** Every ref, by name and then by ascending version. Damaged or misnamed files are skipped. */
  listRefs(): Ref[] {
    const refs: Ref[] = [];
    for (const name of readDirOrEmpty(this.layout.refs)
      .filter((n) => NAME_RE.test(n))
      .sort()) {
      for (const version of this.versions(name)) {
        const digest = this.#tryGet(name, version);
        if (digest !== null) refs.push({ name, version, digest });
      }
    }
    return refs;
  }

  /** The versions of `name`, ascending by semver precedence (build metadata breaks ties). */
  versions(name: string): string[] {
    assertName(name);
    const found = readDirOrEmpty(join(this.layout.refs, name)).filter(isExactVersion);
    return found.length < 2 ? found : found.sort((a, b) => semver().compareBuild(a, b));
  }

  /**
   * The highest version of `name` matching `range` (an exact version or an
   * npm-style range: `^1.2`, `~1.2.3`, `>=2 <3`, `1.x`), or null. With no
   * range: the highest release, or the highest pre-release when there is no
   * release at all. Pre-releases match a range only when it names one.
   */
  resolve(name: string, range?: string): Ref | null {
    // Highest first; among equal precedence the last build by compareBuild.
    const all = this.versions(name).reverse();
    let version: string | undefined;
    if (range === undefined || range === '' || range === 'latest') {
      version = all.find((v) => !isPrerelease(v)) ?? all[0];
    } else if (isExactVersion(range)) {
      version = all.find((v) => v === range);
    } else {
      if (semver().validRange(range) === null) {
        throw new StoreError('BAD_REF', `not a version or version range: ${JSON.stringify(range)}`);
      }
      version = all.find((v) => semver().satisfies(v, range));
    }
    if (version === undefined) return null;
    const digest = this.getRef(name, version);
    return digest === null ? null : { name, version, digest };
  }

  #pathOf(name: string, version: string): string {
    assertName(name);
    if (!isExactVersion(version)) {
      throw new StoreError('BAD_REF', `not a semantic version (like 1.2.3): ${JSON.stringify(version)}`);
    }
    return join(this.layout.refs, name, version);
  }

  #tryGet(name: string, version: string): Digest | null {
    try {
      return this.getRef(name, version);
    } catch (e) {
      if (e instanceof StoreError && e.code === 'CORRUPT') return null;
      throw e;
    }
  }
}

function assertName(name: string): void {
  if (typeof name !== 'string' || !NAME_RE.test(name)) {
    throw new StoreError(
      'BAD_REF',
      `not a package name (lowercase letters, digits, ".", "_", "-"; 1-64 chars): ${JSON.stringify(name)}`,
    );
  }
}

/**
 * semver is loaded on first use: it costs ~25 ms to load, and the common
 * cases (one version of a package, an exact version) never need it.
 */
let semverLib: typeof SemverLib | undefined;
function semver(): typeof SemverLib {
  return (semverLib ??= createRequire(import.meta.url)('semver') as typeof SemverLib);
}

/** Exactly a semver 2.0 version, nothing semver would merely coerce ("v1.0.0", " 1.0.0"). */
function isExactVersion(v: string): boolean {
  return typeof v === 'string' && v.length <= 128 && SEMVER_RE.test(v);
}

/** A pre-release has a "-" in its version part (before any "+build"). */
function isPrerelease(v: string): boolean {
  return v.split('+')[0]!.includes('-');
}

function readDirOrEmpty(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (e) {
    if (isCode(e, 'ENOENT', 'ENOTDIR')) return [];
    throw ioError('list', dir, e);
  }
}

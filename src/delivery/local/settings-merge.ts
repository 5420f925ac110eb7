/**
 * The virtual registry's rules, platform-neutral: keys, the shapes of the
 * policy and user files, and how the three layers merge.
 *
 * Keys: `env.NAME` is an environment variable; an absolute guest path
 * (`/etc/app.conf`) is a configuration file the settings layer owns.
 *
 * Layers, lowest first: package defaults (manifest.env, manifest.settings.files)
 * < admin policy < user overrides. A key the policy locks takes the policy's
 * value (or the package's, when the policy only locks it) and the user's
 * value is ignored; a locked path locks its whole subtree. The policy also
 * decides whether host directories may be mounted into the app at all.
 */
import type { Manifest } from '../../package/types.js';
import { layerPathProblem } from '../../package/paths.js';
import { StateError } from './errors.js';

/** $CAPSULE_HOME/policy/<app>.json */
export interface Policy {
  env: Record<string, string>;
  /** Guest path (absolute) -> content. */
  files: Record<string, string>;
  locked: { env: string[]; paths: string[] };
  mounts: 'allow' | 'deny';
}

/** $CAPSULE_HOME/settings/<user>/<app>.json */
export interface UserSettings {
  env: Record<string, string>;
  files: Record<string, string>;
}

export interface EffectiveSettings {
  /** Sorted by name. */
  env: [string, string][];
  /** Guest path (absolute) -> content. */
  files: Record<string, string>;
  /** Guest paths (absolute), sorted. */
  lockedPaths: string[];
  /** Env names, sorted. */
  lockedEnv: string[];
  mountsAllowed: boolean;
}

export type SettingKey = { kind: 'env'; name: string } | { kind: 'file'; path: string };

export function emptyPolicy(): Policy {
  return { env: {}, files: {}, locked: { env: [], paths: [] }, mounts: 'allow' };
}

export function emptyUserSettings(): UserSettings {
  return { env: {}, files: {} };
}

/** Why `name` cannot be an environment variable name, or null. */
export function envNameProblem(name: string): string | null {
  if (name === '') return 'empty';
  if (name.includes('=')) return 'contains "="';
  if (name.includes('\0')) return 'contains NUL';
  return null;
}

/** Why `path` cannot be a settings file path, or null. */
export function settingsPathProblem(path: string): string | null {
  if (!path.startsWith('/')) return 'not absolute';
  return layerPathProblem(path.slice(1));
}

/** Parses `env.NAME` or `/guest/path`; throws BAD_NAME with what is wrong. */
export function parseKey(key: string): SettingKey {
  if (key.startsWith('env.')) {
    const name = key.slice(4);
    const problem = envNameProblem(name);
    if (problem) throw new StateError('BAD_NAME', `bad setting ${JSON.stringify(key)}: env name ${problem}`);
    return { kind: 'env', name };
  }
  if (key.startsWith('/')) {
    const problem = settingsPathProblem(key);
    if (problem) throw new StateError('BAD_NAME', `bad setting ${JSON.stringify(key)}: path ${problem}`);
    return { kind: 'file', path: key };
  }
  throw new StateError(
    'BAD_NAME',
    `bad setting ${JSON.stringify(key)}: a key is env.NAME (an environment variable) or /abs/path (a config file)`,
  );
}

export function keyString(key: SettingKey): string {
  return key.kind === 'env' ? `env.${key.name}` : key.path;
}

/** The locked path that covers `path` (itself or an ancestor), or null. */
export function lockingPath(policy: Policy, path: string): string | null {
  return policy.locked.paths.find((l) => path === l || path.startsWith(l + '/')) ?? null;
}

/** True when the policy locks this key. */
export function isLocked(policy: Policy, key: SettingKey): boolean {
  return key.kind === 'env' ? policy.locked.env.includes(key.name) : lockingPath(policy, key.path) !== null;
}

/** What the app sees: the three layers merged (pure; the same in Node and the browser). */
export function effectiveSettings(
  manifest: Pick<Manifest, 'env' | 'settings'>,
  policy: Policy,
  user: UserSettings,
): EffectiveSettings {
  const env = new Map<string, string>(Object.entries(manifest.env));
  for (const [k, v] of Object.entries(policy.env)) env.set(k, v);
  for (const [k, v] of Object.entries(user.env)) if (!policy.locked.env.includes(k)) env.set(k, v);

  const files = new Map<string, string>(Object.entries(manifest.settings.files));
  for (const [p, v] of Object.entries(policy.files)) files.set(p, v);
  for (const [p, v] of Object.entries(user.files)) if (lockingPath(policy, p) === null) files.set(p, v);

  return {
    env: [...env.entries()].sort(([a], [b]) => compare(a, b)),
    files: Object.fromEntries(withoutConflicts([...files.entries()])),
    lockedPaths: [...policy.locked.paths].sort(compare),
    lockedEnv: [...policy.locked.env].sort(compare),
    mountsAllowed: policy.mounts !== 'deny',
  };
}

/**
 * `/etc/a` and `/etc/a/b` cannot both be files. When layers disagree like
 * that, the file nearer the root wins and the one beneath it is dropped:
 * deterministic, and it never turns a file somebody set into a directory.
 */
function withoutConflicts(entries: [string, string][]): [string, string][] {
  entries.sort(([a], [b]) => compare(a, b));
  const kept: [string, string][] = [];
  const paths = new Set<string>();
  for (const [path, content] of entries) {
    let ancestor = path.slice(0, path.lastIndexOf('/'));
    let shadowed = false;
    while (ancestor !== '') {
      if (paths.has(ancestor)) shadowed = true;
      ancestor = ancestor.slice(0, ancestor.lastIndexOf('/'));
    }
    if (shadowed) continue;
    paths.add(path);
    kept.push([path, content]);
  }
  return kept;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export type SettingSource = 'package' | 'policy' | 'user';

export interface SettingRow {
  key: string;
  /** null: locked by the policy, but no layer gives it a value. */
  value: string | null;
  /** The layer the value comes from (the policy for a lock without a value). */
  source: SettingSource;
  locked: boolean;
  /** A user value that the lock overrides. */
  ignoredUserValue?: string;
}

/** Every key with its effective value and where it comes from, for `capsule settings ls`. */
export function settingRows(
  manifest: Pick<Manifest, 'env' | 'settings'> | null,
  policy: Policy,
  user: UserSettings,
): SettingRow[] {
  const rows = new Map<string, SettingRow>();
  const put = (key: SettingKey, value: string, source: SettingSource): void => {
    const k = keyString(key);
    const locked = isLocked(policy, key);
    if (source === 'user' && locked) {
      const row = rows.get(k);
      if (row) row.ignoredUserValue = value;
      else rows.set(k, { key: k, value: null, source: 'policy', locked, ignoredUserValue: value });
      return;
    }
    rows.set(k, { key: k, value, source, locked });
  };
  const layers: [SettingSource, Pick<UserSettings, 'env' | 'files'>][] = [];
  if (manifest) layers.push(['package', { env: manifest.env, files: manifest.settings.files }]);
  layers.push(['policy', policy], ['user', user]);
  for (const [source, layer] of layers) {
    for (const [name, v] of Object.entries(layer.env)) put({ kind: 'env', name }, v, source);
    for (const [path, v] of Object.entries(layer.files)) put({ kind: 'file', path }, v, source);
  }
  for (const name of policy.locked.env) {
    const k = `env.${name}`;
    if (!rows.has(k)) rows.set(k, { key: k, value: null, source: 'policy', locked: true });
  }
  for (const path of policy.locked.paths) {
    if (!rows.has(path)) rows.set(path, { key: path, value: null, source: 'policy', locked: true });
  }
  return [...rows.values()].sort((a, b) => compare(a.key, b.key));
}

/** Checks a parsed policy file; `where` names it in errors. */
export function validatePolicy(value: unknown, where: string): Policy {
  const o = objectAt(value, where);
  const locked = o.locked === undefined ? {} : objectAt(o.locked, `${where}: locked`);
  const mounts = o.mounts ?? 'allow';
  if (mounts !== 'allow' && mounts !== 'deny') throw corrupt(where, 'mounts must be "allow" or "deny"');
  return {
    env: envMap(o.env, `${where}: env`),
    files: fileMap(o.files, `${where}: files`),
    locked: {
      env: stringList(locked.env, `${where}: locked.env`, envNameProblem),
      paths: stringList(locked.paths, `${where}: locked.paths`, settingsPathProblem),
    },
    mounts,
  };
}

/** Checks a parsed user settings file. */
export function validateUserSettings(value: unknown, where: string): UserSettings {
  const o = objectAt(value, where);
  return { env: envMap(o.env, `${where}: env`), files: fileMap(o.files, `${where}: files`) };
}

function corrupt(where: string, why: string): StateError {
  return new StateError('CORRUPT', `${where}: ${why}`);
}

function objectAt(v: unknown, where: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw corrupt(where, 'expected an object');
  return v as Record<string, unknown>;
}

function stringMap(
  v: unknown,
  where: string,
  keyProblem: (k: string) => string | null,
): Record<string, string> {
  if (v === undefined) return {};
  const out: Record<string, string> = {};
  for (const [k, s] of Object.entries(objectAt(v, where))) {
    const problem = keyProblem(k);
    if (problem) throw corrupt(where, `${JSON.stringify(k)}: ${problem}`);
    if (typeof s !== 'string') throw corrupt(where, `${JSON.stringify(k)}: expected a string`);
    out[k] = s;
  }
  return out;
}

function envMap(v: unknown, where: string): Record<string, string> {
  const map = stringMap(v, where, envNameProblem);
  for (const [k, s] of Object.entries(map))
    if (s.includes('\0')) throw corrupt(where, `${k}: value contains NUL`);
  return map;
}

function fileMap(v: unknown, where: string): Record<string, string> {
  return stringMap(v, where, settingsPathProblem);
}

function stringList(v: unknown, where: string, problemOf: (s: string) => string | null): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw corrupt(where, 'expected a list');
  return v.map((s, i) => {
    if (typeof s !== 'string') throw corrupt(where, `[${i}]: expected a string`);
    const problem = problemOf(s);
    if (problem) throw corrupt(where, `${JSON.stringify(s)}: ${problem}`);
    return s;
  });
}

/**
 * Where the virtual registry lives (Node): one JSON file per app for the
 * admin policy and one per user per app for the user's overrides.
 *
 *   $CAPSULE_HOME/policy/<app>.json          Policy (settings-merge.ts)
 *   $CAPSULE_HOME/settings/<user>/<app>.json UserSettings
 *
 * Every change is read-modify-write under a lock (`.locks/` beside the
 * files, store/fs/lock.ts), so two commands at once never lose an update,
 * and the file is replaced atomically (staged in `.tmp/`, fsync'd, renamed).
 * A missing file means "nothing set". A file that does not parse or fails
 * validation is reported (CORRUPT), never silently replaced.
 *
 * Trust: Capsule only reads the policy directory when it runs an app. On a
 * shared machine the administrator makes $CAPSULE_HOME/policy (or the whole
 * home) owned by root and read-only to users; Capsule does not pretend to
 * enforce what the OS permissions do not.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CapsuleHome } from '../../store/home.js';
import type { Manifest } from '../../package/types.js';
import { withLock } from '../../store/fs/lock.js';
import { isCode, writeFileStaged } from '../../store/fs/staged-file.js';
import { StateError, checkName, ioFailure } from './errors.js';
import {
  effectiveSettings,
  emptyPolicy,
  emptyUserSettings,
  isLocked,
  lockingPath,
  parseKey,
  validatePolicy,
  validateUserSettings,
  type EffectiveSettings,
  type Policy,
  type SettingKey,
  type UserSettings,
} from './settings-merge.js';

export class SettingsStore {
  constructor(private readonly home: Pick<CapsuleHome, 'settings' | 'policy'>) {}

  policyFile(app: string): string {
    return join(this.home.policy, `${checkName('app', app)}.json`);
  }

  userFile(user: string, app: string): string {
    return join(this.home.settings, checkName('user', user), `${checkName('app', app)}.json`);
  }

  getPolicy(app: string): Policy {
    const file = this.policyFile(app);
    const raw = readJson(file);
    return raw === undefined ? emptyPolicy() : validatePolicy(raw, file);
  }

  getUser(user: string, app: string): UserSettings {
    const file = this.userFile(user, app);
    const raw = readJson(file);
    return raw === undefined ? emptyUserSettings() : validateUserSettings(raw, file);
  }

  /** The merged view for one user; `manifest` supplies the package defaults. */
  effective(manifest: Pick<Manifest, 'env' | 'settings'>, user: string, app: string): EffectiveSettings {
    return effectiveSettings(manifest, this.getPolicy(app), this.getUser(user, app));
  }

  /** Sets a policy value (`env.NAME` or `/path`). */
  setPolicy(app: string, key: string, value: string): void {
    const k = parseKey(key);
    checkValue(k, value);
    this.updatePolicy(app, (p) => setIn(p, k, value));
  }

  unsetPolicy(app: string, key: string): boolean {
    const k = parseKey(key);
    let found = false;
    this.updatePolicy(app, (p) => (found = unsetIn(p, k)));
    return found;
  }

  /** Locks a key: users can no longer override it, and a locked path is read-only to the app. */
  lock(app: string, key: string): void {
    const k = parseKey(key);
    this.updatePolicy(app, (p) => {
      const list = k.kind === 'env' ? p.locked.env : p.locked.paths;
      const item = k.kind === 'env' ? k.name : k.path;
      if (!list.includes(item)) list.push(item);
      list.sort();
    });
  }

  /** Returns false when the key was not locked. */
  unlock(app: string, key: string): boolean {
    const k = parseKey(key);
    let found = false;
    this.updatePolicy(app, (p) => {
      const list = k.kind === 'env' ? p.locked.env : p.locked.paths;
      const i = list.indexOf(k.kind === 'env' ? k.name : k.path);
      if (i >= 0) {
        list.splice(i, 1);
        found = true;
      }
    });
    return found;
  }

  setMounts(app: string, mounts: 'allow' | 'deny'): void {
    this.updatePolicy(app, (p) => {
      p.mounts = mounts;
    });
  }

  /** Sets a user override; LOCKED when the policy locks the key. */
  setUser(user: string, app: string, key: string, value: string): void {
    this.userFile(user, app); // names first: a bad name is the clearer error
    const k = parseKey(key);
    checkValue(k, value);
    this.refuseLocked(app, k);
    this.updateUser(user, app, (s) => setIn(s, k, value));
  }

  /** Removes a user override (allowed even for a locked key: it only drops an ignored value). */
  unsetUser(user: string, app: string, key: string): boolean {
    const k = parseKey(key);
    let found = false;
    this.updateUser(user, app, (s) => (found = unsetIn(s, k)));
    return found;
  }

  private refuseLocked(app: string, k: SettingKey): void {
    const policy = this.getPolicy(app);
    if (!isLocked(policy, k)) return;
    const key = k.kind === 'env' ? `env.${k.name}` : k.path;
    const by = k.kind === 'file' ? lockingPath(policy, k.path) : null;
    const under = by !== null && by !== key ? ` (it is under the locked ${by})` : '';
    throw new StateError('LOCKED', `${key} is locked by the admin policy ${this.policyFile(app)}${under}`);
  }

  private updatePolicy(app: string, change: (p: Policy) => void): void {
    const file = this.policyFile(app);
    withLock(
      join(this.home.policy, '.locks'),
      () => {
        const policy = this.getPolicy(app);
        change(policy);
        writeJson(join(this.home.policy, '.tmp'), file, policy);
      },
      { name: app, purpose: `policy ${app}` },
    );
  }

  private updateUser(user: string, app: string, change: (s: UserSettings) => void): void {
    const file = this.userFile(user, app);
    withLock(
      join(this.home.settings, '.locks'),
      () => {
        const settings = this.getUser(user, app);
        change(settings);
        writeJson(join(this.home.settings, '.tmp'), file, settings);
      },
      { name: `${user}--${app}`, purpose: `settings ${user} ${app}` },
    );
  }
}

function checkValue(k: SettingKey, value: string): void {
  if (k.kind === 'env' && value.includes('\0')) {
    throw new StateError('BAD_NAME', `env.${k.name}: a value cannot contain NUL`);
  }
}

function setIn(
  layer: { env: Record<string, string>; files: Record<string, string> },
  k: SettingKey,
  v: string,
): void {
  if (k.kind === 'env') layer.env[k.name] = v;
  else layer.files[k.path] = v;
}

function unsetIn(
  layer: { env: Record<string, string>; files: Record<string, string> },
  k: SettingKey,
): boolean {
  const map = k.kind === 'env' ? layer.env : layer.files;
  const name = k.kind === 'env' ? k.name : k.path;
  if (!Object.hasOwn(map, name)) return false;
  delete map[name];
  return true;
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if (isCode(e, 'ENOENT')) return undefined;
    throw ioFailure('read', file, e);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new StateError('CORRUPT', `${file}: not valid JSON (${(e as Error).message}); fix or remove it`);
  }
}

/** Sorted keys, so the files diff well and are the same whatever the edit order. */
function writeJson(tmpDir: string, file: string, value: Policy | UserSettings): void {
  const sorted = (m: Record<string, string>) =>
    Object.fromEntries(Object.entries(m).sort(([a], [b]) => (a < b ? -1 : 1)));
  const out: Record<string, unknown> = { env: sorted(value.env), files: sorted(value.files) };
  if ('locked' in value) {
    out.locked = value.locked;
    out.mounts = value.mounts;
  }
  writeFileStaged(tmpDir, file, new TextEncoder().encode(`${JSON.stringify(out, null, 2)}\n`), 0o644);
}

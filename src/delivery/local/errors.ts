/**
 * The one error type of a user's local side of Capsule: state layers,
 * settings and policy. `code` is stable; the CLI and tests branch on it.
 */
import { NAME_RE } from '../../package/types.js';

export type StateErrorCode =
  /** A user, app, snapshot name, settings key or value that cannot be used. */
  | 'BAD_NAME'
  /** No such app state, snapshot or setting. */
  | 'NOT_FOUND'
  /** A snapshot of that name exists already. */
  | 'EXISTS'
  /** The user tried to override a key the admin locked. */
  | 'LOCKED'
  /** An archive that is truncated, tampered with or hostile. */
  | 'BAD_ARCHIVE'
  /** On-disk state or a settings file that is not what Capsule wrote. */
  | 'CORRUPT'
  /** The host filesystem failed. */
  | 'IO';

export class StateError extends Error {
  constructor(
    readonly code: StateErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'StateError';
  }
}

/** Wraps a host error (anything not already a StateError) as IO. */
export function ioFailure(op: string, path: string, e: unknown): StateError {
  if (e instanceof StateError) return e;
  return new StateError('IO', `cannot ${op} ${path}: ${(e as Error).message}`, { cause: e });
}

/** App names: the package name rule. */
export const APP_RE = NAME_RE;
/** User names: portable login names; no "/", no leading "." or "-", so one is always a plain directory name. */
export const USER_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$/;
/** Snapshot names: like user names. */
export const SNAPSHOT_RE = USER_RE;

export function checkName(kind: 'user' | 'app' | 'snapshot', name: string): string {
  const re = kind === 'app' ? APP_RE : kind === 'user' ? USER_RE : SNAPSHOT_RE;
  if (!re.test(name)) {
    throw new StateError(
      'BAD_NAME',
      `invalid ${kind} name ${JSON.stringify(name)} (letters, digits, ".", "_", "-"; at most 64; ${
        kind === 'app' ? 'lowercase, ' : ''
      }not starting with "." or "-")`,
    );
  }
  return name;
}

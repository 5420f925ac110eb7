/** Exit codes of capsule itself (see the CLI contract in the README). */
export const ExitCode = {
  /** capsule's own error: bad arguments, a refused package, an unreachable server. */
  USAGE: 125,
  /** The target exists but cannot be started (invalid module, missing entry). */
  CANNOT_START: 126,
  /** The target was not found. */
  NOT_FOUND: 127,
  /** The guest trapped (as wasmtime reports it: 128 + SIGABRT). */
  TRAP: 134,
  /** --timeout expired (as GNU timeout). */
  TIMEOUT: 124,
} as const;

/**
 * The one error type of the CLI. `code` is the exit code; `hint` says what to
 * do next; `usage` asks main to print the command's usage first.
 */
const BRAND = Symbol.for('capsule.CliError');

export class CliError extends Error {
  /** Recognised by brand, not by class: the bundled commands carry their own copy of this class. */
  readonly [BRAND] = true;

  static is(e: unknown): e is CliError {
    return typeof e === 'object' && e !== null && (e as { [BRAND]?: unknown })[BRAND] === true;
  }

  constructor(
    message: string,
    readonly code: number = ExitCode.USAGE,
    readonly hint?: string,
    readonly usage?: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

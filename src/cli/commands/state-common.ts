/**
 * What `capsule state`, `capsule settings` and `capsule policy` share:
 * argument parsing with a usage on error, the mapping of StateError and
 * StoreError to CliError, and plain-text tables.
 */
import { formatBytes } from '../progress.js';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { readFileSync } from 'node:fs';
import { CliError, ExitCode } from '../errors.js';
import { StateError } from '../../delivery/local/errors.js';
import { StoreError } from '../../store/types.js';
import { openLocalStore, type CapsuleHome } from '../../store/home.js';
import { readManifest } from '../../package/objects.js';
import type { Manifest } from '../../package/types.js';

type Options = NonNullable<ParseArgsConfig['options']>;

export function parseCommand<T extends Options>(argv: string[], options: T, usage: string) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new CliError(
      (e as Error).message.replace(/^TypeError \[[A-Z_]+\]: /, ''),
      ExitCode.USAGE,
      undefined,
      usage,
    );
  }
}

/** The positionals a subcommand needs, or a usage error naming what is missing. */
export function need(positionals: string[], names: string[], usage: string, optional = 0): string[] {
  const min = names.length - optional;
  if (positionals.length < min) {
    throw new CliError(
      `missing ${names.slice(positionals.length).join(' ')}`,
      ExitCode.USAGE,
      undefined,
      usage,
    );
  }
  if (positionals.length > names.length) {
    throw new CliError(`unexpected argument ${positionals[names.length]}`, ExitCode.USAGE, undefined, usage);
  }
  return positionals;
}

const HINTS: Partial<Record<StateError['code'], string>> = {
  BAD_NAME: 'app names are lowercase package names; keys are env.NAME or an absolute guest path',
  LOCKED: 'ask the administrator to unlock it (capsule policy unlock APP KEY)',
  BAD_ARCHIVE: 'export the state again from its source; nothing was changed here',
  CORRUPT: 'fix or remove the file named above',
};

/** Runs a command body, turning the library's errors into CLI errors (exit 125). */
export function reporting<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof StateError) throw new CliError(e.message, ExitCode.USAGE, HINTS[e.code]);
    if (e instanceof StoreError) throw new CliError(e.message, ExitCode.USAGE);
    throw e;
  }
}

/** A value given inline, or read from a host file with --file. */
export function valueOf(inline: string | undefined, file: string | undefined, usage: string): string {
  if (file !== undefined) {
    if (inline !== undefined)
      throw new CliError('give VALUE or --file, not both', ExitCode.USAGE, undefined, usage);
    try {
      return readFileSync(file, 'utf8');
    } catch (e) {
      throw new CliError(`cannot read ${file}: ${(e as Error).message}`, ExitCode.USAGE);
    }
  }
  if (inline === undefined)
    throw new CliError('missing VALUE (or --file PATH)', ExitCode.USAGE, undefined, usage);
  return inline;
}

/** The highest installed version's manifest, for package defaults; null when the app is not in the local store. */
export function installedManifest(home: CapsuleHome, app: string): Manifest | null {
  try {
    const { objects, refs } = openLocalStore(home);
    const ref = refs.resolve(app);
    return ref === null ? null : readManifest(objects, ref.digest);
  } catch {
    return null; // defaults are a convenience here; `capsule verify` reports a damaged store
  }
}

/** Left-aligned columns separated by two spaces. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

/** One line of a value for a table: the first line, shortened, with a mark when there is more. */
export function shortValue(v: string, max = 48): string {
  const first = v.split('\n')[0]!;
  const more = first.length < v.replace(/\n$/, '').length;
  const cut = first.length > max ? first.slice(0, max - 1) + '…' : first;
  return more ? `${cut} …` : cut;
}

/** Sizes as the other commands print them. */
export const humanBytes = formatBytes;

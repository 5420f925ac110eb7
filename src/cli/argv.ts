import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CliError } from './errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * Splits a command line at its target: options before it are capsule's, and
 * everything after it (or after "--") belongs to the app, so an app's own
 * flags are never taken for capsule's.
 */
export function parseWithTarget<T extends Options>(argv: string[], options: T, usage: string) {
  let split = argv.length;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      split = i;
      break;
    }
    if (a.startsWith('-') && a !== '-') {
      const name = a.replace(/^-+/, '').split('=')[0]!;
      const opt = options[name] ?? Object.values(options).find((o) => o.short === name);
      if (opt?.type === 'string' && !a.includes('=')) i++;
      continue;
    }
    split = i + 1;
    break;
  }
  const head = argv.slice(0, split);
  let rest = argv.slice(split);
  if (rest[0] === '--') rest = rest.slice(1);
  try {
    const parsed = parseArgs({
      args: head.filter((a) => a !== '--'),
      options,
      allowPositionals: true,
      strict: true,
    });
    return { values: parsed.values, positionals: parsed.positionals, rest };
  } catch (e) {
    throw new CliError((e as Error).message.replace(/^TypeError \[[A-Z_]+\]: /, ''), 125, undefined, usage);
  }
}

/** parseArgs for a command with positionals and a --help flag; bad flags are exit 125 with usage. */
export function parseCommand<T extends Options>(argv: string[], options: T, usage: string) {
  try {
    return parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } } as T & {
        help: { type: 'boolean'; short: 'h' };
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    throw new CliError((e as Error).message.replace(/^TypeError \[[A-Z_]+\]: /, ''), 125, undefined, usage);
  }
}

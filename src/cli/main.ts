#!/usr/bin/env node
import { CliError } from './errors.js';

const help = `capsule — run WebAssembly apps without installing them

Usage: capsule <command> [options]

Commands
  run       run a WASI program (a .wasm file) in isolation

Run 'capsule <command> --help' for a command's options.
Exit codes: the app's own, or 125 (capsule's error), 126 (cannot start), 127 (not found).`;

interface Command {
  describe: string;
  load: () => Promise<(argv: string[]) => Promise<number>>;
}

const commands: Record<string, Command> = {
  run: { describe: 'run a WASI program', load: async () => (await import('./commands/run.js')).run },
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    process.stdout.write(help + '\n');
    return name === undefined ? 125 : 0;
  }
  if (name === '--version' || name === '-V') {
    const { createRequire } = await import('node:module');
    const pkg = createRequire(import.meta.url)('../../../package.json') as { version: string };
    process.stdout.write(`capsule ${pkg.version}\n`);
    return 0;
  }
  const command = commands[name];
  if (!command)
    throw new CliError(`unknown command: ${name}`, 125, "run 'capsule --help' to list the commands");
  return (await command.load())(rest);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof CliError) {
      if (e.usage) process.stderr.write(e.usage + '\n\n');
      process.stderr.write(`capsule: ${e.message}\n`);
      if (e.hint) process.stderr.write(`  hint: ${e.hint}\n`);
      process.exit(e.code);
    }
    process.stderr.write(`capsule: internal error: ${(e as Error)?.stack ?? e}\n`);
    process.exit(125);
  },
);

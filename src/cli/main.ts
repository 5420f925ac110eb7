#!/usr/bin/env node
import { CliError } from './errors.js';
import { settle } from './background.js';
import { prestartWorker } from '../runtime/node/prestart.js';
import { setCodeCacheVariant } from '../runtime/node/code-cache.js';

interface Command {
  group: string;
  describe: string;
  load: () => Promise<(argv: string[]) => Promise<number>>;
}

/** Commands load lazily: `capsule run x.wasm` never loads the packing code. */
const commands: Record<string, Command> = {
  run: {
    group: 'Run',
    describe: 'run a .wasm file, a package or a bundle',
    load: async () => (await import('./commands/run.js')).run,
  },
  pack: {
    group: 'Packages',
    describe: 'pack a directory into a package',
    load: async () => (await import('./commands/pack.js')).pack,
  },
  ls: {
    group: 'Packages',
    describe: 'list the packages in the local store',
    load: async () => (await import('./commands/store.js')).ls,
  },
  inspect: {
    group: 'Packages',
    describe: "show a package's manifest, layers and sizes",
    load: async () => (await import('./commands/store.js')).inspect,
  },
  rm: {
    group: 'Packages',
    describe: 'remove a package version',
    load: async () => (await import('./commands/store.js')).rm,
  },
  verify: {
    group: 'Packages',
    describe: 'check a package, the store or a bundle for damage',
    load: async () => verifyCommand,
  },
  gc: {
    group: 'Packages',
    describe: 'delete data no package uses',
    load: async () => (await import('./commands/store.js')).gc,
  },
  export: {
    group: 'Packages',
    describe: 'write a package to a single .capsule file',
    load: async () => (await import('./commands/bundle.js')).exportCmd,
  },
  import: {
    group: 'Packages',
    describe: 'add the packages of a .capsule file to the store',
    load: async () => (await import('./commands/bundle.js')).importCmd,
  },
  capture: {
    group: 'Packages',
    describe: 'run a setup step and keep what it wrote as a new package',
    load: async () => (await import('./commands/capture.js')).capture,
  },
  profile: {
    group: 'Packages',
    describe: 'record the launch profile that streaming prefetches',
    load: async () => (await import('./commands/profile.js')).profile,
  },
  state: {
    group: 'Your data',
    describe: "list, reset, snapshot, roll back, export or import an app's state",
    load: async () => (await import('./commands/state.js')).state,
  },
  settings: {
    group: 'Your data',
    describe: "get or set an app's settings (environment and config files)",
    load: async () => (await import('./commands/settings.js')).settings,
  },
  policy: {
    group: 'Administration',
    describe: "set and lock an app's settings for its users; allow or deny mounts",
    load: async () => (await import('./commands/policy.js')).policy,
  },
  serve: {
    group: 'Server',
    describe: 'run the Capsule server: catalog, users, entitlements, delivery',
    load: async () => (await import('./commands/serve.js')).serve,
  },
  login: {
    group: 'Server',
    describe: 'keep a token for a server',
    load: async () => (await import('./commands/remote.js')).login,
  },
  push: {
    group: 'Server',
    describe: 'upload a package to a server (only what it lacks)',
    load: async () => (await import('./commands/remote.js')).push,
  },
  pull: {
    group: 'Server',
    describe: 'download a package from a server, to run offline',
    load: async () => (await import('./commands/remote.js')).pull,
  },
  catalog: {
    group: 'Server',
    describe: 'list the apps on a server that you may use',
    load: async () => (await import('./commands/remote.js')).catalog,
  },
  sessions: {
    group: 'Server',
    describe: 'list or end your cloud sessions',
    load: async () => (await import('./commands/sessions.js')).sessions,
  },
  admin: {
    group: 'Server',
    describe: 'manage users, groups, grants, channels, yanks, cloud sessions; read usage and the audit log',
    load: async () => (await import('./commands/admin.js')).admin,
  },
  keygen: {
    group: 'Signing',
    describe: 'make a signing key pair',
    load: async () => (await import('./commands/keys.js')).keygen,
  },
  trust: {
    group: 'Signing',
    describe: 'manage the keys whose signatures you accept',
    load: async () => (await import('./commands/keys.js')).trust,
  },
};

/** `capsule verify` takes a package, nothing (the whole store), or a bundle file. */
async function verifyCommand(argv: string[]): Promise<number> {
  const file = argv.find((a) => !a.startsWith('-'));
  if (file && (file.endsWith('.capsule') || file.includes('/'))) {
    return (await import('./commands/bundle.js')).verifyBundleFile(file);
  }
  return (await import('./commands/store.js')).verify(argv);
}

function helpText(): string {
  const groups = new Map<string, string[]>();
  for (const [name, c] of Object.entries(commands)) {
    const lines = groups.get(c.group) ?? [];
    lines.push(`  ${name.padEnd(10)}${c.describe}`);
    groups.set(c.group, lines);
  }
  return `capsule — run WebAssembly apps without installing them

Usage: capsule <command> [options]

${[...groups].map(([g, lines]) => `${g}\n${lines.join('\n')}`).join('\n\n')}

Run 'capsule <command> --help' for a command's options.
Data lives in $CAPSULE_HOME (default ~/.capsule).
Exit codes: the app's own, or 125 (capsule's error), 126 (cannot start), 127 (not found).`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    process.stdout.write(helpText() + '\n');
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

/**
 * The kind of `capsule run`, guessed from its arguments before anything is
 * parsed: it picks the code caches to load (runtime/node/code-cache.ts), so
 * a wrong guess costs only time.
 */
function runVariant(args: string[]): string {
  const end = args.indexOf('--');
  const own = end < 0 ? args : args.slice(0, end);
  if (own.some((a) => /^https?:\/\//.test(a))) return 'remote';
  if (own.some((a) => a.endsWith('.capsule'))) return 'bundle';
  if (own.some((a) => a.endsWith('.wasm'))) return 'file';
  return 'package';
}

// `capsule run` boots the guest's worker thread now, while the rest loads.
if (process.argv[2] === 'run' && !process.argv.includes('--help') && !process.argv.includes('-h')) {
  const variant = runVariant(process.argv.slice(3));
  setCodeCacheVariant(variant);
  prestartWorker(variant);
}

/** How long a finished command waits for its best-effort work (usage reports) before exiting. */
const GRACE_MS = 1500;

main(process.argv.slice(2)).then(
  async (code) => {
    await settle(GRACE_MS);
    process.exit(code);
  },
  async (e: unknown) => {
    await settle(GRACE_MS);
    if (CliError.is(e)) {
      if (e.usage) process.stderr.write(e.usage + '\n\n');
      process.stderr.write(`capsule: ${e.message}\n`);
      if (e.hint) process.stderr.write(`  hint: ${e.hint}\n`);
      process.exit(e.code);
    }
    process.stderr.write(`capsule: internal error: ${(e as Error)?.stack ?? e}\n`);
    process.exit(125);
  },
);

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { capsuleHome } from '../../store/home.js';
import { StateStore, defaultUser } from '../../delivery/local/state.js';
import { CliError, ExitCode } from '../errors.js';
import { humanBytes, need, parseCommand, reporting, table } from './state-common.js';
import { asRemoteCliError, clientFor, serverOf } from './remote-common.js';

export const stateUsage = `Usage: capsule state <subcommand> [options]

An app's user state is everything it wrote: a copy-on-write layer over the
package, kept per user and per app name (shared by all versions of the app).

Subcommands
  ls [APP]                    list apps with state: files, size, snapshots
  reset APP                   forget everything APP wrote (snapshots are kept)
  snapshot APP [NAME]         copy the current state aside (NAME: a timestamp by default)
  rollback APP NAME           make a copy of snapshot NAME the current state
  rm-snapshot APP NAME        delete a snapshot
  export APP FILE             write the current state to one archive file
  import APP FILE             verify an archive and make it the current state
  push APP --server URL       make this state of APP your state on the server
                              (what your cloud sessions of APP see)
  pull APP --server URL       make your state of APP on the server this state

Reset, rollback and import are atomic: after a crash the state is the old one
or the new one, never a mix. A session already running keeps the state it
started with; what it writes after a reset or rollback is discarded.

Options
  --user USER                 act for USER (default: $CAPSULE_USER, else your login)
  --all-users                 ls: every user's state
  --json                      ls: machine-readable output
  --server URL                push, pull: the server (or $CAPSULE_SERVER)
  -h, --help                  show this help

Examples
  capsule state snapshot sqlite before-upgrade
  capsule state rollback sqlite before-upgrade
  capsule state export sqlite sqlite.state
  capsule state push sqlite --server http://127.0.0.1:7373

push and pull move the same archive as export and import, whole and
verified; the server keeps your state per app just as this machine does.
Your user on the server is the token's (capsule login), here --user's.`;

const options = {
  user: { type: 'string' },
  'all-users': { type: 'boolean' },
  json: { type: 'boolean' },
  server: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function state(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(argv, options, stateUsage);
  const [sub, ...args] = positionals;
  if (values.help || sub === 'help') {
    process.stdout.write(stateUsage + '\n');
    return 0;
  }
  if (sub === undefined) throw new CliError('missing subcommand', ExitCode.USAGE, undefined, stateUsage);
  const home = capsuleHome();
  const store = new StateStore(home.state);
  if (sub === 'push' || sub === 'pull') {
    const [app] = need(args, ['APP'], stateUsage);
    const user = reporting(() => values.user ?? defaultUser());
    return transfer(sub, store, user, app!, serverOf(values.server, stateUsage));
  }
  return reporting(() => {
    const user = values.user ?? defaultUser();
    switch (sub) {
      case 'ls': {
        const [app] = need(args, ['APP'], stateUsage, 1);
        let rows = store.list(values['all-users'] ? undefined : user);
        if (app !== undefined) rows = rows.filter((r) => r.app === app);
        if (values.json) {
          process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
          return 0;
        }
        if (rows.length === 0) {
          process.stdout.write(app === undefined ? 'no app state yet\n' : `${app} has no state yet\n`);
          return 0;
        }
        const header = ['USER', 'APP', 'FILES', 'SIZE', 'DELETIONS', 'SNAPSHOTS'];
        const body = rows.map((r) => [
          r.user,
          r.app,
          String(r.files),
          humanBytes(r.bytes),
          String(r.whiteouts),
          r.snapshots.map((s) => s.name).join(', ') || '-',
        ]);
        process.stdout.write(table(header, body));
        if (app !== undefined) {
          for (const r of rows) {
            if (r.snapshots.length === 0) continue;
            process.stdout.write(`\nSnapshots of ${r.app} (${r.user}):\n`);
            process.stdout.write(
              table(
                ['NAME', 'CREATED', 'SIZE'],
                r.snapshots.map((s) => [s.name, s.created, humanBytes(s.bytes)]),
              ),
            );
          }
        }
        return 0;
      }
      case 'reset': {
        const [app] = need(args, ['APP'], stateUsage);
        store.reset(user, app!);
        process.stdout.write(`state of ${app} reset for ${user} (snapshots kept)\n`);
        return 0;
      }
      case 'snapshot': {
        const [app, name] = need(args, ['APP', 'NAME'], stateUsage, 1);
        const made = store.snapshot(user, app!, name);
        process.stdout.write(`snapshot ${made} of ${app} taken\n`);
        return 0;
      }
      case 'rollback': {
        const [app, name] = need(args, ['APP', 'NAME'], stateUsage);
        store.rollback(user, app!, name!);
        process.stdout.write(`state of ${app} rolled back to snapshot ${name} (the snapshot is kept)\n`);
        return 0;
      }
      case 'rm-snapshot': {
        const [app, name] = need(args, ['APP', 'NAME'], stateUsage);
        store.removeSnapshot(user, app!, name!);
        process.stdout.write(`snapshot ${name} of ${app} deleted\n`);
        return 0;
      }
      case 'export': {
        const [app, file] = need(args, ['APP', 'FILE'], stateUsage);
        const s = store.exportState(user, app!, resolve(file!));
        process.stdout.write(`exported ${s.entries} entries (${humanBytes(s.bytes)}) of ${app} to ${file}\n`);
        return 0;
      }
      case 'import': {
        const [app, file] = need(args, ['APP', 'FILE'], stateUsage);
        const s = store.importState(user, app!, resolve(file!));
        process.stdout.write(
          `imported ${s.entries} entries (${humanBytes(s.bytes)}) into the state of ${app}\n`,
        );
        return 0;
      }
      default:
        throw new CliError(`unknown subcommand: state ${sub}`, ExitCode.USAGE, undefined, stateUsage);
    }
  });
}

/** push / pull: the state archive between this machine's state and the server's (docs/cloud.md). */
async function transfer(
  direction: 'push' | 'pull',
  store: StateStore,
  user: string,
  app: string,
  server: string,
): Promise<number> {
  const client = clientFor(server);
  const dir = mkdtempSync(join(tmpdir(), 'capsule-state-'));
  const file = join(dir, `${app}.state`);
  try {
    if (direction === 'push') {
      const s = reporting(() => store.exportState(user, app, file));
      await client.put(`/state/${encodeURIComponent(app)}`, readFileSync(file));
      process.stdout.write(
        `pushed ${s.entries} entries (${humanBytes(s.bytes)}) of ${app} to ${client.base}\n`,
      );
    } else {
      const { bytes } = await client.bytes(`/state/${encodeURIComponent(app)}`);
      writeFileSync(file, bytes, { mode: 0o600 });
      const s = reporting(() => store.importState(user, app, file));
      process.stdout.write(
        `pulled ${s.entries} entries (${humanBytes(s.bytes)}) of ${app} from ${client.base} into the state of ${user}\n`,
      );
    }
    return 0;
  } catch (e) {
    throw asRemoteCliError(e);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

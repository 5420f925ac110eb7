import { capsuleHome } from '../../store/home.js';
import { defaultUser } from '../../delivery/local/state.js';
import { SettingsStore } from '../../delivery/local/settings.js';
import { parseKey, settingRows } from '../../delivery/local/settings-merge.js';
import { CliError, ExitCode } from '../errors.js';
import {
  installedManifest,
  need,
  parseCommand,
  reporting,
  shortValue,
  table,
  valueOf,
} from './state-common.js';

export const settingsUsage = `Usage: capsule settings <subcommand> APP [KEY [VALUE]] [options]

Settings are an app's environment variables and configuration files, in
layers: package defaults < admin policy < your overrides. This command edits
your overrides; 'capsule policy' edits the admin's layer.

KEY is env.NAME for an environment variable, or an absolute guest path
(/etc/app.conf) for a configuration file.

Subcommands
  ls APP                 every setting: its value, the layer it comes from, locks
  get APP KEY            print the value the app sees (exit 1 when unset)
  set APP KEY VALUE      override KEY (refused with exit 125 when the admin locked it)
  unset APP KEY          drop your override

Options
  --user USER            act for USER (default: $CAPSULE_USER, else your login)
  --file PATH            set: read VALUE from a host file
  --json                 ls: machine-readable output
  -h, --help             show this help

A configuration file the app itself has written since lives in its state
and hides the settings layer; 'capsule state reset APP' brings the settings
back (a locked path always shows the admin's value).

Examples
  capsule settings set sqlite env.SQLITE_HISTORY /data/history
  capsule settings set myapp /etc/myapp.conf --file ./myapp.conf
  capsule settings ls myapp --json`;

const options = {
  user: { type: 'string' },
  file: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function settings(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(argv, options, settingsUsage);
  const [sub, ...args] = positionals;
  if (values.help || sub === 'help') {
    process.stdout.write(settingsUsage + '\n');
    return 0;
  }
  if (sub === undefined) throw new CliError('missing subcommand', ExitCode.USAGE, undefined, settingsUsage);
  const home = capsuleHome();
  const store = new SettingsStore(home);
  return reporting(() => {
    const user = values.user ?? defaultUser();
    switch (sub) {
      case 'ls': {
        const [app] = need(args, ['APP'], settingsUsage);
        const rows = settingRows(
          installedManifest(home, app!),
          store.getPolicy(app!),
          store.getUser(user, app!),
        );
        if (values.json) {
          process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
          return 0;
        }
        if (rows.length === 0) {
          process.stdout.write(`${app} has no settings\n`);
          return 0;
        }
        const body = rows.map((r) => [
          r.key,
          r.value === null ? '(unset)' : shortValue(r.value),
          r.source,
          r.locked ? (r.ignoredUserValue !== undefined ? 'locked (your value ignored)' : 'locked') : '',
        ]);
        process.stdout.write(table(['KEY', 'VALUE', 'FROM', 'LOCK'], body));
        return 0;
      }
      case 'get': {
        const [app, key] = need(args, ['APP', 'KEY'], settingsUsage);
        const k = parseKey(key!);
        const wanted = k.kind === 'env' ? `env.${k.name}` : k.path;
        const rows = settingRows(
          installedManifest(home, app!),
          store.getPolicy(app!),
          store.getUser(user, app!),
        );
        const row = rows.find((r) => r.key === wanted);
        if (row === undefined || row.value === null) {
          process.stderr.write(`${wanted} is not set for ${app}\n`);
          return 1;
        }
        process.stdout.write(k.kind === 'env' ? `${row.value}\n` : row.value);
        return 0;
      }
      case 'set': {
        const [app, key, inline] = need(args, ['APP', 'KEY', 'VALUE'], settingsUsage, 1);
        const value = valueOf(inline, values.file, settingsUsage);
        store.setUser(user, app!, key!, value);
        process.stdout.write(`${key} set for ${app} (${user})\n`);
        return 0;
      }
      case 'unset': {
        const [app, key] = need(args, ['APP', 'KEY'], settingsUsage);
        const found = store.unsetUser(user, app!, key!);
        process.stdout.write(
          found ? `${key} unset for ${app} (${user})\n` : `${key} was not set for ${app}\n`,
        );
        return 0;
      }
      default:
        throw new CliError(`unknown subcommand: settings ${sub}`, ExitCode.USAGE, undefined, settingsUsage);
    }
  });
}

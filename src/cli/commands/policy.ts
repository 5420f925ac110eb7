import { capsuleHome } from '../../store/home.js';
import { SettingsStore } from '../../delivery/local/settings.js';
import { CliError, ExitCode } from '../errors.js';
import { need, parseCommand, reporting, shortValue, table, valueOf } from './state-common.js';

export const policyUsage = `Usage: capsule policy <subcommand> APP [KEY [VALUE]] [options]

The admin policy of an app: settings that override the package's defaults,
locks that users cannot override, and whether host directories may be
mounted into the app. It lives in $CAPSULE_HOME/policy/APP.json; on a shared
machine, make that directory writable by the administrator only.

KEY is env.NAME for an environment variable, or an absolute guest path
(/etc/app.conf) for a configuration file.

Subcommands
  ls APP                  the policy: values, locks, mounts
  set APP KEY VALUE       set a value (above the package's, below a user's unless locked)
  unset APP KEY           drop a value
  lock APP KEY            users may not override KEY; a locked path (and all
                          below it) is read-only to the app: writes fail with EACCES
  unlock APP KEY          lift a lock
  mounts APP allow|deny   whether 'capsule run --dir' may grant host directories

Options
  --file PATH             set: read VALUE from a host file
  --json                  ls: machine-readable output
  -h, --help              show this help

Examples
  capsule policy set myapp /etc/myapp.conf --file ./site.conf
  capsule policy lock myapp /etc/myapp.conf
  capsule policy lock myapp env.PROXY
  capsule policy mounts myapp deny`;

const options = {
  file: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function policy(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(argv, options, policyUsage);
  const [sub, ...args] = positionals;
  if (values.help || sub === 'help') {
    process.stdout.write(policyUsage + '\n');
    return 0;
  }
  if (sub === undefined) throw new CliError('missing subcommand', ExitCode.USAGE, undefined, policyUsage);
  const store = new SettingsStore(capsuleHome());
  return reporting(() => {
    switch (sub) {
      case 'ls': {
        const [app] = need(args, ['APP'], policyUsage);
        const p = store.getPolicy(app!);
        if (values.json) {
          process.stdout.write(JSON.stringify(p, null, 2) + '\n');
          return 0;
        }
        const rows: string[][] = [];
        const lockedEnv = new Set(p.locked.env);
        const lockedPaths = new Set(p.locked.paths);
        for (const [k, v] of Object.entries(p.env))
          rows.push([`env.${k}`, shortValue(v), lockedEnv.delete(k) ? 'locked' : '']);
        for (const [k, v] of Object.entries(p.files))
          rows.push([k, shortValue(v), lockedPaths.delete(k) ? 'locked' : '']);
        for (const k of lockedEnv) rows.push([`env.${k}`, '(no value: the package default)', 'locked']);
        for (const k of lockedPaths) rows.push([k, '(no value: whatever the package holds)', 'locked']);
        rows.sort((a, b) => (a[0]! < b[0]! ? -1 : 1));
        if (rows.length > 0) process.stdout.write(table(['KEY', 'VALUE', 'LOCK'], rows));
        else process.stdout.write(`${app} has no policy settings\n`);
        process.stdout.write(`mounts: ${p.mounts}\n`);
        return 0;
      }
      case 'set': {
        const [app, key, inline] = need(args, ['APP', 'KEY', 'VALUE'], policyUsage, 1);
        store.setPolicy(app!, key!, valueOf(inline, values.file, policyUsage));
        process.stdout.write(`policy: ${key} set for ${app}\n`);
        return 0;
      }
      case 'unset': {
        const [app, key] = need(args, ['APP', 'KEY'], policyUsage);
        const found = store.unsetPolicy(app!, key!);
        process.stdout.write(
          found ? `policy: ${key} unset for ${app}\n` : `policy: ${key} was not set for ${app}\n`,
        );
        return 0;
      }
      case 'lock': {
        const [app, key] = need(args, ['APP', 'KEY'], policyUsage);
        store.lock(app!, key!);
        process.stdout.write(`policy: ${key} locked for ${app}\n`);
        return 0;
      }
      case 'unlock': {
        const [app, key] = need(args, ['APP', 'KEY'], policyUsage);
        const found = store.unlock(app!, key!);
        process.stdout.write(
          found ? `policy: ${key} unlocked for ${app}\n` : `policy: ${key} was not locked for ${app}\n`,
        );
        return 0;
      }
      case 'mounts': {
        const [app, mode] = need(args, ['APP', 'allow|deny'], policyUsage);
        if (mode !== 'allow' && mode !== 'deny') {
          throw new CliError(
            `mounts: expected allow or deny, got ${mode}`,
            ExitCode.USAGE,
            undefined,
            policyUsage,
          );
        }
        store.setMounts(app!, mode);
        process.stdout.write(
          `policy: host directory mounts ${mode === 'allow' ? 'allowed' : 'denied'} for ${app}\n`,
        );
        return 0;
      }
      default:
        throw new CliError(`unknown subcommand: policy ${sub}`, ExitCode.USAGE, undefined, policyUsage);
    }
  });
}

/** `capsule admin`: users, groups, grants, channels, yanks, usage and the audit log of a server (admin role). */
import { parseCommand } from '../argv.js';
import { CliError } from '../errors.js';
import { adminApps } from './admin-apps.js';
import { asRemoteCliError, clientFor, serverOf } from './remote-common.js';
import { sessionCommand } from './sessions.js';

export const adminUsage = `Usage: capsule admin COMMAND [options] --server URL

Commands
  user add NAME [--role admin|publisher|user] [--password-stdin]
                                  add a user; prints their first API token
  user ls                         list users
  group add NAME [--member USER]...
                                  create a group, or add members to it
  group ls                        list groups
  grant APP (--user U | --group G)     entitle a user or a group to an app
  revoke APP (--user U | --group G)    withdraw it
  grants                          list entitlements
  promote NAME@VERSION --channel C
                                  point channel C (stable, beta, or any name)
                                  at VERSION; a yanked version is refused
  rollback NAME --channel C       point channel C back at the version it
                                  pointed at before (an error when there is none)
  yank NAME@VERSION [--undo]      no channel, range or "latest" selects a yanked
                                  version; a client that pins it still runs it,
                                  with a warning. --undo restores it
  channels NAME                   NAME's channels, their versions and history
  usage [--app A] [--since WHEN]  launches per app, version, user and mode
                                  (stream, local, pull, cloud); WHEN is a date,
                                  a time, or 30m, 12h, 7d
  audit [--limit N]               the audit log: every admin action
  sessions                        every cloud session on the server
  end-session ID                  end a cloud session (audited)

Clients get: URL/NAME -> the stable channel's version (else the highest
version that is not yanked); URL/NAME@beta or --channel beta -> that channel;
URL/NAME@1.2.3 -> exactly that version.

Options
  --server URL    the server (or $CAPSULE_SERVER)
  --json          print JSON
  -h, --help      show this help`;

const options = {
  server: { type: 'string' },
  role: { type: 'string' },
  'password-stdin': { type: 'boolean' },
  member: { type: 'string', multiple: true },
  user: { type: 'string' },
  group: { type: 'string' },
  limit: { type: 'string' },
  channel: { type: 'string' },
  undo: { type: 'boolean' },
  app: { type: 'string' },
  since: { type: 'string' },
  json: { type: 'boolean' },
} as const;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

const print = (s: string) => process.stdout.write(s + '\n');

export async function admin(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(argv, options, adminUsage);
  if (values.help || positionals.length === 0) {
    process.stdout.write(adminUsage + '\n');
    return values.help ? 0 : 125;
  }
  const client = clientFor(serverOf(values.server, adminUsage));
  const [cmd, sub, arg] = positionals;
  const usage = (msg: string) => new CliError(msg, 125, undefined, adminUsage);
  const out = (value: unknown, text: () => string) =>
    print(values.json ? JSON.stringify(value, null, 2) : text());
  try {
    if (cmd === 'user' && sub === 'add') {
      if (!arg) throw usage('expected: user add NAME');
      const password = values['password-stdin'] ? await readStdin() : undefined;
      const r = await client.json<{ user: { name: string; role: string }; token: string }>(
        'POST',
        '/admin/users',
        {
          name: arg,
          role: values.role ?? 'user',
          ...(password !== undefined ? { password } : {}),
        },
      );
      out(r, () => `added ${r.user.name} (${r.user.role}); their token (shown once):\n  ${r.token}`);
    } else if (cmd === 'user' && sub === 'ls') {
      const r = await client.json<{ users: { name: string; role: string }[] }>('GET', '/admin/users');
      out(r, () => r.users.map((u) => `${u.name.padEnd(24)}${u.role}`).join('\n'));
    } else if (cmd === 'group' && sub === 'add') {
      if (!arg) throw usage('expected: group add NAME');
      const r = await client.json<{ group: { name: string; members: string[] } }>('POST', '/admin/groups', {
        name: arg,
        members: values.member ?? [],
      });
      out(r, () => `group ${r.group.name}: ${r.group.members.join(', ') || '(no members)'}`);
    } else if (cmd === 'group' && sub === 'ls') {
      const r = await client.json<{ groups: { name: string; members: string[] }[] }>('GET', '/admin/groups');
      out(r, () => r.groups.map((g) => `${g.name.padEnd(24)}${g.members.join(', ')}`).join('\n'));
    } else if (cmd === 'grant' || cmd === 'revoke') {
      if (!sub || arg) throw usage(`expected: ${cmd} APP (--user U | --group G)`);
      if (!values.user === !values.group) throw usage('give exactly one of --user and --group');
      const body = { app: sub, ...(values.user ? { user: values.user } : { group: values.group }) };
      const r = await client.json('POST', cmd === 'grant' ? '/admin/grants' : '/admin/grants/revoke', body);
      const who = values.user ? `user ${values.user}` : `group ${values.group}`;
      out(r, () => (cmd === 'grant' ? `granted ${sub} to ${who}` : `revoked ${sub} from ${who}`));
    } else if (cmd === 'grants') {
      const r = await client.json<{ grants: { app: string; kind: string; subject: string }[] }>(
        'GET',
        '/admin/grants',
      );
      out(r, () => r.grants.map((g) => `${g.app.padEnd(24)}${g.kind} ${g.subject}`).join('\n'));
    } else if (cmd === 'audit') {
      const limit = values.limit ? `?limit=${encodeURIComponent(values.limit)}` : '';
      const r = await client.json<{
        entries: { at: string; actor: string; action: string; detail: Record<string, unknown> }[];
      }>('GET', `/admin/audit${limit}`);
      out(r, () =>
        r.entries
          .map((e) => `${e.at}  ${e.actor.padEnd(12)}${e.action.padEnd(18)}${JSON.stringify(e.detail)}`)
          .join('\n'),
      );
    } else if (cmd === 'sessions' || cmd === 'end-session') {
      if (cmd === 'end-session' ? !sub || arg : sub)
        throw usage(`expected: ${cmd}${cmd === 'end-session' ? ' ID' : ''}`);
      await sessionCommand(
        client,
        '/admin/sessions',
        cmd === 'end-session' ? sub : undefined,
        values.json ?? false,
      );
    } else if (
      !(await adminApps(client, cmd!, {
        positionals,
        channel: values.channel,
        undo: values.undo,
        app: values.app,
        since: values.since,
        usage,
        out,
      }))
    ) {
      throw usage(`unknown admin command: ${positionals.join(' ')}`);
    }
    return 0;
  } catch (e) {
    throw asRemoteCliError(e);
  }
}

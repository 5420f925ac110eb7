/** `capsule sessions`: your cloud sessions on a server; and the table `capsule admin sessions` prints. */
import { parseCommand } from '../argv.js';
import { CliError } from '../errors.js';
import type { RemoteClient } from '../../delivery/remote/client.js';
import { asRemoteCliError, clientFor, serverOf } from './remote-common.js';
import { table } from './state-common.js';

export const sessionsUsage = `Usage: capsule sessions [end ID] [--server URL] [--json]

Lists your cloud sessions on a server (started with 'capsule run --cloud'),
or ends one. Attach to a running one with
'capsule run --cloud --session ID URL'.

Options
  --server URL    the server (or $CAPSULE_SERVER)
  --json          print JSON
  -h, --help      show this help`;

interface SessionRow {
  id: string;
  user: string;
  app: string;
  version: string;
  state: string;
  attached: boolean;
  created: string;
  lastActivity: string;
  exit: { code: number; reason: string } | null;
}

export function sessionsTable(rows: SessionRow[], withUser: boolean): string {
  if (rows.length === 0) return 'no sessions\n';
  const header = [
    'ID',
    ...(withUser ? ['USER'] : []),
    'APP',
    'STATE',
    'ATTACHED',
    'CREATED',
    'LAST ACTIVITY',
  ];
  return table(
    header,
    rows.map((s) => [
      s.id,
      ...(withUser ? [s.user] : []),
      `${s.app}@${s.version}`,
      s.exit ? `ended (${s.exit.reason}, ${s.exit.code})` : s.state,
      s.attached ? 'yes' : 'no',
      s.created,
      s.lastActivity,
    ]),
  );
}

/** Lists (GET `path`) or ends (POST `path/ID/end`) sessions; prints a table or JSON. */
export async function sessionCommand(
  client: RemoteClient,
  path: '/sessions' | '/admin/sessions',
  endId: string | undefined,
  json: boolean,
): Promise<void> {
  if (endId !== undefined) {
    const r = await client.json<{ session: SessionRow }>('POST', `${path}/${encodeURIComponent(endId)}/end`);
    process.stdout.write(
      json
        ? JSON.stringify(r, null, 2) + '\n'
        : `ended ${r.session.id} (${r.session.app}@${r.session.version})\n`,
    );
    return;
  }
  const r = await client.json<{ sessions: SessionRow[] }>('GET', path);
  process.stdout.write(
    json ? JSON.stringify(r, null, 2) + '\n' : sessionsTable(r.sessions, path === '/admin/sessions'),
  );
}

export async function sessions(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(
    argv,
    { server: { type: 'string' }, json: { type: 'boolean' } },
    sessionsUsage,
  );
  if (values.help) {
    process.stdout.write(sessionsUsage + '\n');
    return 0;
  }
  const [sub, id, extra] = positionals;
  if (sub !== undefined && (sub !== 'end' || id === undefined || extra !== undefined))
    throw new CliError(
      `expected 'capsule sessions' or 'capsule sessions end ID'`,
      125,
      undefined,
      sessionsUsage,
    );
  const client = clientFor(serverOf(values.server, sessionsUsage));
  try {
    await sessionCommand(client, '/sessions', id, values.json ?? false);
  } catch (e) {
    throw asRemoteCliError(e);
  }
  return 0;
}

/** `capsule serve`: the Capsule server, until SIGTERM or SIGINT. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCommand } from '../argv.js';
import { CliError } from '../errors.js';
import { capsuleHome } from '../../store/home.js';
import { DEFAULT_MAX_OBJECT_BYTES, startServer } from '../../server/index.js';
import { DEFAULT_LIMITS, DEFAULT_MAX_STATE_BYTES, type CloudLimits } from '../../server/cloud/index.js';

export const serveUsage = `Usage: capsule serve [--port P] [--data DIR] [options]

Runs the Capsule server: the catalog, users and entitlements, publishing and
delivery (docs/server.md). It needs no other service: metadata is a SQLite
file in DIR and objects are a filesystem store in DIR/objects.

Options
  --port P                 TCP port (default 7373; 0 picks a free one)
  --host H                 address to listen on (default 127.0.0.1)
  --data DIR               data directory (default $CAPSULE_HOME/server)
  --allow-unsigned         accept packages with no signature by a key in DIR/trust
  --max-object-bytes N     the largest object an upload may carry (default ${DEFAULT_MAX_OBJECT_BYTES})
  --max-state-bytes N      the largest state archive a user may upload (default ${DEFAULT_MAX_STATE_BYTES})
  --tls-cert FILE          serve HTTPS with this certificate (PEM, the chain after it)
  --tls-key FILE           ... and this private key (PEM); give both or neither. Clients
                           trust a private CA with NODE_EXTRA_CA_CERTS=ca.pem (docs/server.md)
  --trust-proxy            behind a TLS-terminating proxy: believe X-Forwarded-Proto, so the
                           web console's cookie is Secure for https visitors (docs/console.md)
  -h, --help               show this help

Cloud sessions (docs/cloud.md)
  --max-sessions N         running sessions on this server (default ${DEFAULT_LIMITS.maxSessions})
  --sessions-per-user N    running sessions per user (default ${DEFAULT_LIMITS.sessionsPerUser})
  --session-memory MIB     an app's linear memory (default ${DEFAULT_LIMITS.memoryMiB})
  --session-cpu SECONDS    CPU time of a session (default ${DEFAULT_LIMITS.cpuSeconds})
  --session-wall SECONDS   wall-clock time of a session (default ${DEFAULT_LIMITS.wallSeconds})
  --session-idle SECONDS   how long a session may stay detached (default ${DEFAULT_LIMITS.idleSeconds})
  --session-buffer BYTES   output kept for replay on reattach (default ${DEFAULT_LIMITS.bufferBytes})
  --ws-rate N              WebSocket messages a client may send per second (default ${DEFAULT_LIMITS.messagesPerSecond})

On the first start with an empty DIR the user "admin" is created. Its token
is $CAPSULE_ADMIN_TOKEN when that is set; otherwise one is generated and
printed once. $CAPSULE_ADMIN_PASSWORD, when set, becomes its password for
the web console (URL/console/). SIGTERM or SIGINT stops the server gracefully: it stops
accepting, lets requests in flight finish, and closes the database.`;

/** The cloud limits `capsule serve` sets, by flag. */
const LIMIT_FLAGS: Record<string, keyof CloudLimits> = {
  'max-sessions': 'maxSessions',
  'sessions-per-user': 'sessionsPerUser',
  'session-memory': 'memoryMiB',
  'session-cpu': 'cpuSeconds',
  'session-wall': 'wallSeconds',
  'session-idle': 'idleSeconds',
  'session-buffer': 'bufferBytes',
  'ws-rate': 'messagesPerSecond',
};

function positiveInt(flag: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < 1)
    throw new CliError(`${flag} ${v}: not a positive integer`, 125, undefined, serveUsage);
  return n;
}

/** The PEM files of --tls-cert and --tls-key, both or neither. */
function readTls(certFile: string | undefined, keyFile: string | undefined) {
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined || keyFile === undefined)
    throw new CliError(
      `${certFile === undefined ? '--tls-key' : '--tls-cert'} needs ${certFile === undefined ? '--tls-cert' : '--tls-key'} too`,
      125,
      'give the certificate and its private key, both PEM files',
      serveUsage,
    );
  const read = (flag: string, file: string): string => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new CliError(
        `${flag} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
        125,
      );
    }
    if (!text.includes('-----BEGIN '))
      throw new CliError(`${flag} ${file}: not a PEM file`, 125, 'give the PEM form (-----BEGIN ...)');
    return text;
  };
  return { cert: read('--tls-cert', certFile), key: read('--tls-key', keyFile) };
}

export async function serve(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(
    argv,
    {
      port: { type: 'string' },
      host: { type: 'string' },
      data: { type: 'string' },
      'allow-unsigned': { type: 'boolean' },
      'max-object-bytes': { type: 'string' },
      'max-state-bytes': { type: 'string' },
      ...Object.fromEntries(Object.keys(LIMIT_FLAGS).map((k) => [k, { type: 'string' as const }])),
      'trust-proxy': { type: 'boolean' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
    },
    serveUsage,
  );
  if (values.help) {
    process.stdout.write(serveUsage + '\n');
    return 0;
  }
  if (positionals.length > 0)
    throw new CliError(`unexpected argument: ${positionals[0]}`, 125, undefined, serveUsage);
  const port = Number(values.port ?? 7373);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new CliError(`--port ${values.port}: not a port number`, 125, undefined, serveUsage);
  const maxObjectBytes = Number(values['max-object-bytes'] ?? DEFAULT_MAX_OBJECT_BYTES);
  if (!Number.isInteger(maxObjectBytes) || maxObjectBytes < 1)
    throw new CliError(`--max-object-bytes ${values['max-object-bytes']}: not a positive integer`, 125);
  const dataDir = values.data ?? join(capsuleHome().root, 'server');
  const maxStateBytes = positiveInt('--max-state-bytes', values['max-state-bytes'], DEFAULT_MAX_STATE_BYTES);
  const limits: Partial<CloudLimits> = {};
  for (const [flag, key] of Object.entries(LIMIT_FLAGS)) {
    const v = (values as Record<string, string | undefined>)[flag];
    if (v !== undefined) limits[key] = positiveInt(`--${flag}`, v, 0);
  }

  const tls = readTls(values['tls-cert'], values['tls-key']);

  let server;
  try {
    server = await startServer({
      tls,
      dataDir,
      port,
      host: values.host ?? '127.0.0.1',
      allowUnsigned: values['allow-unsigned'] ?? false,
      maxObjectBytes,
      adminToken: process.env.CAPSULE_ADMIN_TOKEN || undefined,
      cloud: { limits, maxStateBytes },
      adminPassword: process.env.CAPSULE_ADMIN_PASSWORD || undefined,
      trustProxy: values['trust-proxy'] ?? false,
      onError: (e) => process.stderr.write(`capsule serve: ${(e as Error)?.stack ?? e}\n`),
    });
  } catch (e) {
    throw new CliError(`cannot start the server: ${(e as Error).message}`, 125);
  }
  if (server.generatedAdminToken) {
    process.stdout.write(
      `first start: the admin token is (shown once, keep it safe)\n  ${server.generatedAdminToken}\n`,
    );
  }
  // One write: whoever watches for "listening" gets the console's address in the same chunk.
  process.stdout.write(
    `capsule server listening on ${server.url} (data in ${dataDir})\nweb console: ${server.url}/console/\n`,
  );
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  process.stdout.write(`${signal}: finishing requests in flight, then stopping\n`);
  await server.close();
  process.stdout.write('capsule server stopped\n');
  return 0;
}

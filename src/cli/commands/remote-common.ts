/** What the commands that talk to a server share: the client, and its errors as exit codes. */
import { RemoteClient, RemoteError } from '../../delivery/remote/client.js';
import { tokenFor } from '../../delivery/remote/credentials.js';
import { flushUsage } from '../../delivery/remote/usage.js';
import { capsuleHome } from '../../store/home.js';
import { track } from '../background.js';
import { CliError, ExitCode } from '../errors.js';

export function serverOf(flag: string | undefined, usage: string): string {
  const server = flag ?? process.env.CAPSULE_SERVER;
  if (!server) throw new CliError('--server URL is required (or set CAPSULE_SERVER)', 125, undefined, usage);
  return server;
}

/** A client for `server`; contacting it also sends the launches spooled for it (in the background). */
export function clientFor(server: string): RemoteClient {
  let client: RemoteClient;
  try {
    client = new RemoteClient(server, tokenFor(capsuleHome(), server));
  } catch (e) {
    throw asRemoteCliError(e);
  }
  reportUsage(client);
  return client;
}

const flushes = new Map<string, Promise<unknown>>();

/**
 * Sends the launches spooled for the client's server, after any send to it
 * already under way (so a launch spooled meanwhile goes too). Best effort:
 * main waits a moment for it, and whatever is not sent stays spooled.
 */
export function reportUsage(client: RemoteClient): void {
  const next = (flushes.get(client.base) ?? Promise.resolve())
    .then(() => flushUsage(client, capsuleHome()))
    .catch(() => 0);
  flushes.set(client.base, next);
  track(next);
}

/** Exit 125 for a refused token or entitlement and an unreachable server; 127 for an unknown package. */
export function asRemoteCliError(e: unknown): unknown {
  if (!(e instanceof RemoteError)) return e;
  switch (e.code) {
    case 'UNAUTHORIZED':
      return new CliError(e.message, 125, "log in with 'capsule login SERVER', or set CAPSULE_TOKEN");
    case 'FORBIDDEN':
      return new CliError(e.message, 125, 'ask an administrator to grant you the app');
    case 'NOT_FOUND':
      return new CliError(
        e.message,
        ExitCode.NOT_FOUND,
        "run 'capsule catalog --server URL' to see what is there",
      );
    case 'UNREACHABLE':
      return new CliError(e.message, 125, 'check the URL, and that the server is running');
    default:
      return new CliError(e.message, 125);
  }
}

/** What the commands that talk to a server share: the client, and its errors as exit codes. */
import { RemoteClient, RemoteError } from '../../delivery/remote/client.js';
import { tokenFor } from '../../delivery/remote/credentials.js';
import { capsuleHome } from '../../store/home.js';
import { CliError, ExitCode } from '../errors.js';

export function serverOf(flag: string | undefined, usage: string): string {
  const server = flag ?? process.env.CAPSULE_SERVER;
  if (!server) throw new CliError('--server URL is required (or set CAPSULE_SERVER)', 125, undefined, usage);
  return server;
}

export function clientFor(server: string): RemoteClient {
  try {
    return new RemoteClient(server, tokenFor(capsuleHome(), server));
  } catch (e) {
    throw asRemoteCliError(e);
  }
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

/**
 * `capsule run --cloud URL/APP[@VERSION] [-- ARGS]`: the app runs on the
 * server, and this terminal is attached to it over the terminal protocol
 * (docs/cloud.md). With a terminal on stdin, it is put in raw mode (the
 * server's line discipline echoes and edits lines, as a remote pty does)
 * and resizes are forwarded; otherwise stdin is piped through as it is.
 * If the connection drops, it reattaches to the same session and resumes
 * the output where it stopped. The app's exit code is capsule's.
 */
import { capsuleHome } from '../../store/home.js';
import { tokenFor } from '../../delivery/remote/credentials.js';
import { RemoteError } from '../../delivery/remote/client.js';
import { TerminalConnection, type SessionExit } from '../../delivery/remote/terminal.js';
import { CliError, ExitCode } from '../errors.js';
import { asRemoteCliError } from './remote-common.js';

export interface CloudRunRequest {
  target: string;
  args: string[];
  /** Attach to this session instead of starting one. */
  session?: string;
  /** --channel: the app's version from this channel (as NAME@CHANNEL). */
  channel?: string;
}

/** Reattach delays after a dropped connection, ms. */
const RETRY_MS = [100, 250, 500, 1000, 2000, 4000];
/** Stop reading stdin while this much is waiting to be sent. */
const HIGH_WATER = 1024 * 1024;

function splitCloudTarget(target: string, session: string | undefined): { server: string; app: string } {
  if (session !== undefined) {
    const m = /^(https?:\/\/[^/]+(?:\/.*?)?)(?:\/([a-z0-9][^/]*))?\/?$/.exec(target);
    if (!m) throw new CliError(`not a server URL: ${target}`, ExitCode.USAGE);
    return { server: m[1]!, app: m[2] ?? '' };
  }
  const m = /^(https?:\/\/.+)\/([^/]+)$/.exec(target);
  if (!m)
    throw new CliError(
      `--cloud needs URL/APP[@VERSION], not ${target}`,
      ExitCode.USAGE,
      'for example: capsule run --cloud http://127.0.0.1:7373/sqlite -- :memory:',
    );
  return { server: m[1]!, app: m[2]! };
}

export async function runCloud(req: CloudRunRequest): Promise<number> {
  const { server, app: named } = splitCloudTarget(req.target, req.session);
  if (req.channel !== undefined && named.includes('@'))
    throw new CliError(`give the version in ${named} or --channel ${req.channel}, not both`, ExitCode.USAGE);
  const app = req.channel !== undefined ? `${named}@${req.channel}` : named;
  const token = tokenFor(capsuleHome(), server);
  const stdin = process.stdin;
  const interactive = stdin.isTTY === true;
  const size = () => ({ cols: process.stdout.columns || 80, rows: process.stdout.rows || 24 });
  const handlers = {
    output: (fd: 1 | 2, bytes: Buffer) => (fd === 1 ? process.stdout : process.stderr).write(bytes),
  };

  let conn: TerminalConnection;
  try {
    conn = await TerminalConnection.open(
      server,
      token,
      req.session !== undefined
        ? { session: req.session }
        : { app, args: req.args, tty: interactive, ...size() },
      handlers,
    );
  } catch (e) {
    throw asRemoteCliError(e);
  }
  const id = conn.hello!.id;
  if (interactive)
    process.stderr.write(`capsule: cloud session ${id} (${conn.hello!.app}@${conn.hello!.version})\r\n`);

  // Stdin: raw on a terminal; paused while the socket has much unsent.
  let paused = false;
  const onData = (chunk: Buffer) => {
    conn.stdin(chunk, () => {
      if (paused && conn.ws.bufferedAmount < HIGH_WATER / 2) {
        paused = false;
        stdin.resume();
      }
    });
    if (conn.ws.bufferedAmount > HIGH_WATER) {
      paused = true;
      stdin.pause();
    }
  };
  let stdinEnded = false;
  const onEnd = () => {
    stdinEnded = true;
    conn.eof();
  };
  const onResize = () => conn.resize(size().cols, size().rows);
  if (interactive) stdin.setRawMode(true);
  stdin.on('data', onData);
  stdin.on('end', onEnd);
  process.stdout.on('resize', onResize);
  const restore = () => {
    stdin.off('data', onData);
    stdin.off('end', onEnd);
    process.stdout.off('resize', onResize);
    if (interactive) stdin.setRawMode(false);
    stdin.pause();
  };

  try {
    for (;;) {
      const closed = await conn.closed;
      if (conn.exit) return report(conn.exit);
      if (closed.code === 1008 || closed.code === 4001 || closed.code === 1001 || closed.code === 1009) {
        throw new CliError(
          `the server closed the session's terminal: ${closed.reason || closed.code}`,
          ExitCode.USAGE,
        );
      }
      // Dropped: attach again to the same session and pick up where the output stopped.
      conn = await reattach(server, token, id, conn.received, handlers);
      if (conn.hello!.replay.lost > 0)
        process.stderr.write(
          `\r\ncapsule: ${conn.hello!.replay.lost} bytes of output were lost while away\r\n`,
        );
      if (stdinEnded) conn.eof();
      else if (paused) {
        paused = false;
        stdin.resume();
      }
    }
  } finally {
    restore();
  }
}

async function reattach(
  server: string,
  token: string | null,
  id: string,
  since: number,
  handlers: { output: (fd: 1 | 2, bytes: Buffer) => void },
): Promise<TerminalConnection> {
  let last: unknown;
  for (const ms of RETRY_MS) {
    await new Promise((r) => setTimeout(r, ms));
    try {
      return await TerminalConnection.open(server, token, { session: id, since }, handlers);
    } catch (e) {
      last = e;
      // Refused outright (the session is gone, or no longer ours): no point retrying.
      if (e instanceof RemoteError && e.code !== 'UNREACHABLE') break;
    }
  }
  const err = asRemoteCliError(last);
  throw new CliError(
    `lost the connection to cloud session ${id}: ${(err as Error).message}`,
    ExitCode.USAGE,
    `attach again later with 'capsule run --cloud --session ${id} ${server}'`,
  );
}

function report(exit: SessionExit): number {
  if (exit.reason !== 'exit' && exit.message) process.stderr.write(`capsule: ${exit.message}\n`);
  return exit.code;
}

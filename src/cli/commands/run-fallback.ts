/**
 * `capsule run URL/NAME[@...]` when the server cannot be reached: run the
 * version this client already has from that server, with a one-line warning.
 * Only packages that came from that server (pull or stream; usage.ts keeps
 * their origin) qualify, so a package packed or imported locally never
 * stands in for a server's app. Which one: for a pin, that exact version;
 * for a range, the highest local match; otherwise the version the same
 * target resolved to the last time the server answered, else the highest
 * local release. A 401 or 403 is an answer, not an outage: no fallback.
 */
import { RemoteError, type RemoteClient } from '../../delivery/remote/client.js';
import { latestVersion, parseVersionSpec, selectVersion } from '../../delivery/remote/select.js';
import { ObjectStreamer } from '../../delivery/remote/stream.js';
import { lastSelection, originOf, spoolLaunch } from '../../delivery/remote/usage.js';
import type { PackageRef } from '../../delivery/local/resolve.js';
import { CliError } from '../errors.js';
import { openLocal } from '../context.js';
import { preparePackageRun, type PackageRunRequest, type PreparedRun } from './run-package.js';

/** No answer at all (refused, DNS, timeout), or a gateway saying the same. */
export function isUnreachable(e: unknown): e is RemoteError {
  return (
    e instanceof RemoteError &&
    e.code === 'UNREACHABLE' &&
    (e.status === undefined || e.status === 502 || e.status === 503 || e.status === 504)
  );
}

export function prepareFallbackRun(
  req: Omit<PackageRunRequest, 'bundle'>,
  client: RemoteClient,
  ref: PackageRef,
  cause: RemoteError,
): PreparedRun & { streamer: ObjectStreamer } {
  const ctx = openLocal();
  const server = client.base;
  const fromServer = ctx.refs.versions(ref.name).filter((v) => {
    const digest = ctx.refs.getRef(ref.name, v);
    return digest !== null && originOf(ctx.home, digest)?.server === server;
  });
  const app = { name: ref.name, versions: fromServer.map((version) => ({ version, digest: '' })) };
  const wanted = parseVersionSpec(ref.range);
  let version: string | null = null;
  if (wanted?.kind === 'pin' || wanted?.kind === 'range') version = selectVersion(app, wanted);
  else if (wanted) {
    const last = lastSelection(ctx.home, server, ref.name, ref.range ?? '');
    version = last !== null && fromServer.includes(last) ? last : latestVersion(app);
  }
  const what = ref.range === undefined ? ref.name : `${ref.name}@${ref.range}`;
  if (version === null)
    throw new CliError(
      `${cause.message}; and no copy of ${what} from it is in the local store`,
      125,
      'check the URL and that the server is running; a run that reaches it keeps a copy for offline use',
    );
  process.stderr.write(
    `capsule: warning: ${cause.message}; running ${ref.name}@${version} from the local store\n`,
  );
  const prepared = preparePackageRun({ ...req, target: `${ref.name}@${version}`, bundle: false });
  try {
    spoolLaunch(ctx.home, { server, app: ref.name, version, mode: 'local' });
  } catch {
    // Usage is best effort.
  }
  return { ...prepared, streamer: new ObjectStreamer(client, ctx.objects) };
}

/** `capsule login`, `push`, `pull` and `catalog`: the client side of a Capsule server. */
import { parseCommand } from '../argv.js';
import { CliError, ExitCode } from '../errors.js';
import { ProgressBar, formatBytes } from '../progress.js';
import { asCliError, openLocal, resolveLocal } from '../context.js';
import { asRemoteCliError, clientFor, reportUsage, serverOf } from './remote-common.js';
import { RemoteClient, normalizeServerUrl } from '../../delivery/remote/client.js';
import { saveToken } from '../../delivery/remote/credentials.js';
import { pushPackage } from '../../delivery/remote/push.js';
import { pullPackage } from '../../delivery/remote/pull.js';
import { parsePackageRef } from '../../delivery/local/resolve.js';
import { SignatureStore, TrustStore, checkSignatures } from '../../delivery/local/trust.js';
import {
  isChannelName,
  parseVersionSpec,
  selectVersion,
  type CatalogApp,
} from '../../delivery/remote/select.js';
import { recordOrigin, spoolLaunch } from '../../delivery/remote/usage.js';
import { withLock } from '../../store/fs/lock.js';
import type { CapsuleHome } from '../../store/home.js';

export const loginUsage = `Usage: capsule login SERVER [--token TOKEN | --user NAME --password-stdin]

Checks a token with the server and keeps it in $CAPSULE_HOME/credentials.json
(mode 0600) for later commands. With --user, the password is read from stdin
and traded for a new token. Without either, $CAPSULE_TOKEN is used.
CAPSULE_TOKEN, when set, always wins over the stored token.`;

export const pushUsage = `Usage: capsule push NAME[@VERSION] --server URL

Uploads a package from the local store to a server (publisher or admin role).
Only the objects the server lacks are sent; the server verifies each one and
its signature policy before it names the package.`;

export const pullUsage = `Usage: capsule pull URL/NAME[@VERSION|@RANGE|@CHANNEL] [--channel C] [--allow-unsigned] [--force]
       capsule pull --server URL NAME[@...]

Downloads a package with everything it needs into the local store, verified,
so it then runs offline ('capsule run NAME@VERSION'). Interrupted pulls
resume: objects already in the store are not fetched again.

Which version: NAME alone is what the server's stable channel points at (the
highest version that is not yanked when there is no stable channel);
NAME@beta or --channel beta follows that channel; NAME@1.2.3 pins a version
(a yanked one too, with a warning); NAME@^1.2 is the highest match that is
not yanked; NAME@latest ignores channels.

Options
  --channel C        follow channel C (stable, beta, ...)
  --allow-unsigned   keep a package with no signature by a key you trust
  --force            replace a local NAME@VERSION that names another package`;

export const catalogUsage = `Usage: capsule catalog --server URL [--json]

Lists the apps and versions on a server that you may use, which versions
are yanked, and which version each channel (stable, beta, ...) points at.`;

export async function login(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(
    argv,
    { token: { type: 'string' }, user: { type: 'string' }, 'password-stdin': { type: 'boolean' } },
    loginUsage,
  );
  if (values.help) {
    process.stdout.write(loginUsage + '\n');
    return 0;
  }
  const server = positionals[0];
  if (!server || positionals.length > 1)
    throw new CliError('expected one SERVER', 125, undefined, loginUsage);
  const { home } = openLocal();
  try {
    let token = values.token ?? process.env.CAPSULE_TOKEN ?? null;
    if (values.user) {
      if (!values['password-stdin'])
        throw new CliError('--user needs --password-stdin', 125, undefined, loginUsage);
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      const password = Buffer.concat(chunks)
        .toString('utf8')
        .replace(/\r?\n$/, '');
      const r = await new RemoteClient(server, null).json<{ token: string }>('POST', '/auth/login', {
        user: values.user,
        password,
      });
      token = r.token;
    }
    if (!token)
      throw new CliError('no token: pass --token, --user, or set CAPSULE_TOKEN', 125, undefined, loginUsage);
    const me = await new RemoteClient(server, token).json<{ user: { name: string; role: string } }>(
      'GET',
      '/whoami',
    );
    const file = saveToken(home, server, token);
    process.stdout.write(
      `logged in to ${normalizeServerUrl(server)} as ${me.user.name} (${me.user.role}); token kept in ${file}\n`,
    );
    return 0;
  } catch (e) {
    throw asRemoteCliError(e);
  }
}

export async function push(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(argv, { server: { type: 'string' } }, pushUsage);
  if (values.help) {
    process.stdout.write(pushUsage + '\n');
    return 0;
  }
  const target = positionals[0];
  if (!target || positionals.length > 1)
    throw new CliError('expected one NAME[@VERSION]', 125, undefined, pushUsage);
  const client = clientFor(serverOf(values.server, pushUsage));
  const ctx = openLocal();
  const pkg = resolveLocal(ctx, target);
  const signatures = new SignatureStore(ctx.home).list(pkg.digest);
  const bar = new ProgressBar(`pushing ${pkg.name}@${pkg.version}`);
  try {
    const r = await pushPackage(
      client,
      ctx.objects,
      { name: pkg.name, version: pkg.version, digest: pkg.digest, signatures },
      (d, t) => bar.update(d, t),
    );
    bar.done();
    process.stdout.write(
      `pushed ${pkg.name}@${pkg.version} ${pkg.digest} to ${client.base}\n` +
        `  sent ${r.uploaded} of ${r.objects} objects, ${formatBytes(r.uploadedBytes)} of ${formatBytes(r.totalBytes)}\n`,
    );
    return 0;
  } catch (e) {
    bar.done();
    throw asCliError(asRemoteCliError(e));
  }
}

/** `http://host:port/name@1.0` -> server and package; `--server URL name@1.0` works too. */
export function splitTarget(target: string, server: string | undefined): { server: string; spec: string } {
  if (server) return { server, spec: target };
  const m = /^(https?:\/\/.+)\/([^/]+)$/.exec(target);
  if (!m) throw new CliError(`not URL/NAME[@VERSION]: ${target}`, 125, undefined, pullUsage);
  return { server: m[1]!, spec: m[2]! };
}

/** `NAME` with `--channel C` is `NAME@C`; a channel given both ways, or a bad name, is refused. */
export function withChannel(spec: string, channel: string | undefined, usage: string): string {
  if (channel === undefined) return spec;
  if (!isChannelName(channel))
    throw new CliError(
      `--channel ${channel}: not a channel name`,
      125,
      'channel names are like stable or beta: 2-32 of a-z, 0-9 and "-", starting with a letter',
      usage,
    );
  if (spec.slice(spec.lastIndexOf('/') + 1).includes('@'))
    throw new CliError(`give the version or the channel, not both: ${spec} --channel ${channel}`, 125);
  return `${spec}@${channel}`;
}

/**
 * The version a URL target names: a pinned version as it is, else what the
 * catalog's channels and versions select for the caller (delivery/remote/select.ts).
 */
export async function resolveRemoteVersion(
  client: RemoteClient,
  ref: { name: string; range?: string },
  spec: string,
): Promise<string> {
  const wanted = parseVersionSpec(ref.range);
  if (!wanted)
    throw new CliError(
      `${spec}: not a version, a version range or a channel name after "@"`,
      125,
      'write NAME, NAME@1.2.3, NAME@^1.2 or NAME@CHANNEL (like stable or beta)',
    );
  if (wanted.kind === 'pin') return wanted.version;
  const cat = await client.json<{ apps: CatalogApp[] }>('GET', '/catalog');
  const app = cat.apps.find((a) => a.name === ref.name);
  const version = app ? selectVersion(app, wanted) : null;
  if (version !== null) return version;
  const hint = "run 'capsule catalog --server URL' to see what is there";
  if (app && wanted.kind === 'channel') {
    const names = Object.keys(app.channels ?? {});
    throw new CliError(
      `${ref.name} has no channel ${wanted.channel} that points at a version on ${client.base}` +
        (names.length ? ` (its channels: ${names.join(', ')})` : ' (it has no channels)'),
      ExitCode.NOT_FOUND,
      hint,
    );
  }
  if (app)
    throw new CliError(
      `${spec}: no version of ${ref.name} on ${client.base} matches (yanked versions are never chosen)`,
      ExitCode.NOT_FOUND,
      hint,
    );
  throw new CliError(`${spec}: no such package on ${client.base} that you may use`, ExitCode.NOT_FOUND, hint);
}

/** A yanked version only runs when pinned; say so. */
export function warnIfYanked(record: { yanked?: boolean }, name: string, server: string): void {
  if (record.yanked)
    process.stderr.write(
      `capsule: warning: ${name} is yanked on ${server}; it is used only because you named this exact version\n`,
    );
}

/** A package that came from a server: where from, and a launch of `mode` spooled for it. */
export function noteDelivery(
  home: CapsuleHome,
  client: RemoteClient,
  p: { name: string; version: string; digest: string; spec: string },
  mode: 'stream' | 'pull',
): void {
  try {
    recordOrigin(home, { server: client.base, ...p });
    spoolLaunch(home, { server: client.base, app: p.name, version: p.version, mode });
    reportUsage(client);
  } catch {
    // Usage is best effort: a spool that cannot be written never fails a run.
  }
}

export async function pull(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(
    argv,
    {
      server: { type: 'string' },
      channel: { type: 'string' },
      'allow-unsigned': { type: 'boolean' },
      force: { type: 'boolean' },
    },
    pullUsage,
  );
  if (values.help) {
    process.stdout.write(pullUsage + '\n');
    return 0;
  }
  const target = positionals[0];
  if (!target || positionals.length > 1)
    throw new CliError('expected one URL/NAME[@VERSION]', 125, undefined, pullUsage);
  const split = splitTarget(target, values.server ?? undefined);
  const { server } = split;
  const spec = withChannel(split.spec, values.channel, pullUsage);
  const ref = parsePackageRef(spec);
  if (!ref) throw new CliError(`not a package name: ${spec}`, 125, 'names look like sqlite or sqlite@3.45.0');
  const client = clientFor(server);
  const ctx = openLocal();
  const bar = new ProgressBar(`pulling ${spec}`);
  try {
    const version = await resolveRemoteVersion(client, ref, spec);
    const r = await pullPackage(client, ctx.objects, ref.name, version, (d, t) => bar.update(d, t));
    bar.done();
    warnIfYanked(r.record, `${ref.name}@${version}`, client.base);
    const { digest, signatures } = r.record;
    const check = checkSignatures(digest, signatures, new TrustStore(ctx.home).list());
    if (check.bad.length > 0)
      throw new CliError(`${ref.name}@${version} carries a signature that does not verify: refused`, 125);
    if (check.trusted.length === 0 && !values['allow-unsigned'])
      throw new CliError(
        `${ref.name}@${version} is not signed by a key you trust: refused`,
        125,
        "trust the publisher's key with 'capsule trust add KEY.pub', or pass --allow-unsigned",
      );
    withLock(ctx.home.store.locks, () => {
      const existing = ctx.refs.getRef(ref.name, version!);
      if (existing !== null && existing !== digest && !values.force)
        throw new CliError(
          `${ref.name}@${version} already exists locally with other content (${existing})`,
          125,
          'pass --force to replace it',
        );
      ctx.refs.setRef(ref.name, version!, digest);
    });
    const sigs = new SignatureStore(ctx.home);
    for (const s of signatures) sigs.add(digest, s);
    noteDelivery(ctx.home, client, { name: ref.name, version, digest, spec: ref.range ?? '' }, 'pull');
    // Loaded here, not up front: run.js carries this module for streamed runs, where it is not needed.
    const { warmEntryCache } = await import('../../delivery/local/entry-warm.js');
    await warmEntryCache(ctx.home, ctx.objects, digest);
    process.stdout.write(
      `pulled ${ref.name}@${version} ${digest}\n` +
        `  fetched ${r.fetched} objects (${formatBytes(r.fetchedBytes)}), ${r.skipped} were already here\n`,
    );
    return 0;
  } catch (e) {
    bar.done();
    throw asCliError(asRemoteCliError(e));
  }
}

export async function catalog(argv: string[]): Promise<number> {
  const { values } = parseCommand(
    argv,
    { server: { type: 'string' }, json: { type: 'boolean' } },
    catalogUsage,
  );
  if (values.help) {
    process.stdout.write(catalogUsage + '\n');
    return 0;
  }
  const client = clientFor(serverOf(values.server, catalogUsage));
  try {
    const cat = await client.json<{ apps: CatalogApp[] }>('GET', '/catalog');
    if (values.json) {
      process.stdout.write(JSON.stringify(cat, null, 2) + '\n');
    } else if (cat.apps.length === 0) {
      process.stdout.write(`no apps on ${client.base} that you may use\n`);
    } else {
      for (const app of cat.apps) {
        const versions = app.versions.map((v) => (v.yanked ? `${v.version} (yanked)` : v.version));
        const channels = Object.entries(app.channels ?? {}).map(([c, v]) => `${c} ${v}`);
        process.stdout.write(
          `${app.name}  ${versions.join(', ')}${channels.length ? `  [${channels.join(', ')}]` : ''}\n`,
        );
      }
    }
    return 0;
  } catch (e) {
    throw asRemoteCliError(e);
  }
}

import { readFileSync } from 'node:fs';
import { PROFILE_SCHEMA, validateManifest, writeProfile } from '../../package/index.js';
import { nodeHasher } from '../../package/node.js';
import { writeManifest } from '../../package/pack.js';
import { sign } from '../../package/sign.js';
import { withLock } from '../../store/fs/lock.js';
import { SignatureStore } from '../../delivery/local/trust.js';
import { parseWithTarget } from '../argv.js';
import { CliError } from '../errors.js';
import { asCliError, openLocal } from '../context.js';
import { privateKeyPath } from './pack.js';
import { preparePackageRun, runPrepared } from './run-package.js';

const usage = `Usage: capsule profile record NAME[@VERSION] [--sign KEY] [--] [ARGS...]

Runs the package once on a fresh state layer and records, in order, the
chunks it reads before its first output: its launch profile. The profile
is stored with the package (its manifest then names it, so the package gets
a new digest under the same name@version), and streaming fetches those
chunks first.

Options
  --sign KEY        sign the updated package (earlier signatures name the old digest)
  --timeout SECONDS stop the recording run after this long
  -h, --help        show this help`;

const options = {
  sign: { type: 'string' },
  timeout: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function profile(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === '-h' || sub === '--help') {
    process.stdout.write(usage + '\n');
    return 0;
  }
  if (sub !== 'record')
    throw new CliError(sub ? `unknown profile command: ${sub}` : 'missing a command', 125, undefined, usage);
  const { values, positionals, rest: args } = parseWithTarget(rest, options, usage);
  if (values.help) {
    process.stdout.write(usage + '\n');
    return 0;
  }
  const target = positionals[0];
  if (!target) throw new CliError('missing NAME[@VERSION]', 125, undefined, usage);
  const ctx = openLocal();
  try {
    const prepared = preparePackageRun({
      target,
      bundle: false,
      args,
      env: [],
      mounts: [],
      allowUnsigned: false,
      ephemeral: true,
    });
    const view = prepared.session.view!;
    (view.data as { recordProfile?: boolean }).recordProfile = true;
    // The entry's chunks belong in the profile: let the worker read them through the view.
    prepared.session.entryBytes = undefined;
    const result = await runPrepared(prepared, values.timeout);
    const recorded = (result.viewResult as { profile?: string[] } | undefined)?.profile;
    if (!recorded) throw new CliError('the recording run reported no profile', 125);
    const pkg = prepared.package;
    const profileDigest = writeProfile(
      ctx.objects,
      { schema: PROFILE_SCHEMA, manifest: pkg.digest, chunks: recorded, args },
      nodeHasher,
    );
    const manifest = validateManifest({ ...pkg.manifest, profile: profileDigest });
    const digest = writeManifest(ctx.objects, manifest);
    withLock(ctx.home.store.locks, () => {
      if (ctx.refs.getRef(pkg.name, pkg.version) !== pkg.digest) {
        throw new CliError(`${pkg.name}@${pkg.version} changed while recording; record again`, 125);
      }
      ctx.refs.setRef(pkg.name, pkg.version, digest);
    });
    const sigs = new SignatureStore(ctx.home);
    sigs.remove(pkg.digest);
    if (values.sign) sigs.add(digest, sign(digest, readFileSync(privateKeyPath(ctx, values.sign), 'utf8')));
    const total = pkg.layers.length;
    process.stdout.write(
      `recorded ${recorded.length} chunks before the first output (${total} layers)\n` +
        `${pkg.name}@${pkg.version} is now ${digest} (profile ${profileDigest})\n`,
    );
    if (result.kind !== 'exit' || result.code !== 0) {
      process.stderr.write(
        `capsule: note: the recording run ended with ${result.kind === 'exit' ? `exit ${result.code}` : result.kind}\n`,
      );
    }
    return 0;
  } catch (e) {
    throw asCliError(e);
  }
}

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
import { concatBytes } from '../../runtime/bytes.js';
import { ModuleSplitter, splitLayers, SplitToolError } from '../../delivery/local/split.js';
import type { SplitInfo } from '../../package/index.js';
import { formatBytes } from '../progress.js';

const usage = `Usage: capsule profile record NAME[@VERSION] [--split] [--sign KEY] [--] [ARGS...]

Runs the package once on a fresh state layer and records, in order, the
chunks it reads before its first output: its launch profile. The profile
is stored with the package (its manifest then names it, so the package gets
a new digest under the same name@version), and streaming fetches those
chunks first.

With --split, the same run also records which functions of the entry module
ran, and the module is split (binaryen's wasm-split) into a primary module
with those functions and a secondary module with the rest, fetched only when
the app first calls one of them: function-level streaming. Any path the app
takes stays correct; paths the profile never saw load the secondary first.

Options
  --split           also split the entry module by the functions this run calls
  --sign KEY        sign the updated package (earlier signatures name the old digest)
  --timeout SECONDS stop the recording run after this long
  -h, --help        show this help`;

const options = {
  split: { type: 'boolean' },
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
    const pkg = prepared.package;
    let splitter: ModuleSplitter | null = null;
    if (values.split) {
      if (pkg.manifest.split) {
        prepared.release();
        throw new CliError(
          `${pkg.name}@${pkg.version} is split already`,
          125,
          'record --split on the package as packed',
        );
      }
      const pieces = prepared.session.entryBytes?.() ?? null;
      if (!pieces) {
        prepared.release();
        throw new CliError(
          `cannot read the entry module ${pkg.manifest.entry} of ${pkg.name}@${pkg.version}`,
          125,
        );
      }
      splitter = new ModuleSplitter(concatBytes(pieces));
      try {
        const instrumented = splitter.instrument();
        prepared.session.entryBytes = () => [instrumented];
        prepared.session.compileEntry = undefined;
        prepared.session.functionProfile = true;
      } catch (e) {
        splitter.close();
        prepared.release();
        throw e;
      }
    } else {
      // The entry's chunks belong in the profile: let the worker read them through the view.
      prepared.session.entryBytes = undefined;
      prepared.session.compileEntry = undefined;
    }
    const result = await runPrepared(prepared, values.timeout).catch((e: unknown) => {
      splitter?.close();
      throw e;
    });
    const viewResult = result.viewResult as { profile?: string[]; after?: string[] } | undefined;
    const recorded = viewResult?.profile;
    if (!recorded) {
      splitter?.close();
      throw new CliError('the recording run reported no profile', 125);
    }
    let layers = pkg.manifest.layers;
    let split: SplitInfo | undefined;
    let splitNote = '';
    if (splitter) {
      try {
        if (!result.functionProfile)
          throw new CliError('the recording run reported no function profile', 125);
        const parts = splitter.split(result.functionProfile);
        if (parts.moved === 0) splitNote = 'every function ran: nothing to split out\n';
        else {
          ({ layers, split } = await splitLayers(
            ctx.objects,
            layers,
            pkg.manifest.entry,
            parts.primary,
            parts.secondary,
            parts,
          ));
          splitNote =
            `split ${pkg.manifest.entry}: primary ${formatBytes(parts.primary.length)} (${parts.kept} functions), ` +
            `secondary ${formatBytes(parts.secondary.length)} (${parts.moved} functions)\n`;
        }
      } finally {
        splitter.close();
      }
    }
    const profileDigest = writeProfile(
      ctx.objects,
      {
        schema: PROFILE_SCHEMA,
        manifest: pkg.digest,
        chunks: recorded,
        args,
        after: viewResult?.after ?? [],
      },
      nodeHasher,
    );
    const manifest = validateManifest({
      ...pkg.manifest,
      layers,
      profile: profileDigest,
      ...(split ? { split } : {}),
    });
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
        splitNote +
        `${pkg.name}@${pkg.version} is now ${digest} (profile ${profileDigest})\n`,
    );
    if (result.kind !== 'exit' || result.code !== 0) {
      process.stderr.write(
        `capsule: note: the recording run ended with ${result.kind === 'exit' ? `exit ${result.code}` : result.kind}\n`,
      );
    }
    return 0;
  } catch (e) {
    if (e instanceof SplitToolError) throw new CliError(e.message, 125);
    throw asCliError(e);
  }
}

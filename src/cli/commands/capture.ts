import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildManifest } from '../../package/index.js';
import { writeManifest } from '../../package/pack.js';
import { withLock } from '../../store/fs/lock.js';
import { layerFromState } from '../../delivery/local/capture.js';
import { parseWithTarget } from '../argv.js';
import { CliError } from '../errors.js';
import { asCliError, openLocal } from '../context.js';
import { ProgressBar, formatBytes } from '../progress.js';
import { preparePackageRun, runPrepared } from './run-package.js';

const usage = `Usage: capsule capture --base NAME[@VERSION] --name NAME --version VERSION [--] ARGS...

Runs the base package once with ARGS (its setup step: an installer, a
database seed, a configuration run) on a fresh, empty state layer, and keeps
everything that run wrote, changed or deleted as the layer of a new package
that depends on the base. Running the new package starts from that state,
with no setup step.

Options
  --base NAME[@VERSION]   the package to run (highest version by default)
  --name NAME             the new package's name
  --version VERSION       the new package's version
  --timeout SECONDS       stop the setup run after this long
  -h, --help              show this help

Example
  capsule capture --base sqlite --name crm-db --version 1.0.0 -- /crm.db ".read /seed.sql"`;

const options = {
  base: { type: 'string' },
  name: { type: 'string' },
  version: { type: 'string' },
  timeout: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Work folders of captures whose process died (killed mid-run) are removed by the next capture. */
function removeAbandonedCaptures(root: string): void {
  for (const name of readdirSync(root)) {
    const m = /^capture-(\d+)-/.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch (e) {
      alive = (e as NodeJS.ErrnoException).code === 'EPERM';
    }
    if (!alive) rmSync(join(root, name), { recursive: true, force: true });
  }
}

export async function capture(argv: string[]): Promise<number> {
  // Everything after the options is the setup run's arguments.
  const dash = argv.indexOf('--');
  const own = dash < 0 ? argv : argv.slice(0, dash);
  const args = dash < 0 ? [] : argv.slice(dash + 1);
  const { values, positionals } = parseWithTarget(own, options, usage);
  if (values.help) {
    process.stdout.write(usage + '\n');
    return 0;
  }
  for (const req of ['base', 'name', 'version'] as const) {
    if (!values[req]) throw new CliError(`--${req} is required`, 125, undefined, usage);
  }
  const setupArgs = [...positionals, ...args];
  const ctx = openLocal();
  removeAbandonedCaptures(ctx.home.root);
  const work = mkdtempSync(join(ctx.home.root, `capture-${process.pid}-`));
  try {
    const upper = join(work, 'upper');
    mkdirSync(upper);
    const prepared = preparePackageRun({
      target: values.base!,
      bundle: false,
      args: setupArgs,
      env: [],
      mounts: [],
      allowUnsigned: false,
      ephemeral: false,
      upperDir: upper,
    });
    const result = await runPrepared(prepared, values.timeout);
    if (result.kind !== 'exit' || result.code !== 0) {
      const why = result.kind === 'exit' ? `exited with ${result.code}` : result.kind;
      throw new CliError(`the setup run of ${values.base} ${why}; nothing was captured`, 125);
    }
    const base = prepared.package;
    const bar = new ProgressBar('capturing');
    const captured = await layerFromState(upper, ctx.objects, (d, t) => bar.update(d, t));
    bar.done();
    const manifest = buildManifest({
      name: values.name!,
      version: values.version!,
      entry: base.manifest.entry,
      args: base.manifest.args,
      layers: [captured.layer],
      dependencies: [{ name: base.name, range: base.version, digest: base.digest, version: base.version }],
      annotations: {
        'capsule.capture.base': `${base.name}@${base.version}`,
        'capsule.capture.args': JSON.stringify(setupArgs),
      },
    });
    const digest = writeManifest(ctx.objects, manifest);
    withLock(ctx.home.store.locks, () => {
      const existing = ctx.refs.getRef(manifest.name, manifest.version);
      if (existing !== null && existing !== digest) {
        throw new CliError(
          `${manifest.name}@${manifest.version} already exists with other content`,
          125,
          'pick a new version',
        );
      }
      ctx.refs.setRef(manifest.name, manifest.version, digest);
    });
    const s = captured.stats;
    process.stdout.write(
      `captured ${manifest.name}@${manifest.version} ${digest}\n` +
        `  on ${base.name}@${base.version}: ${s.files} files (${formatBytes(s.bytes)}), ` +
        `${captured.whiteouts.length} deletions, ${captured.opaque.length} replaced directories\n`,
    );
    return 0;
  } catch (e) {
    throw asCliError(e);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

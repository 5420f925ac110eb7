/**
 * `capsule export` and `capsule import`: packages to and from single-file
 * bundles (docs/bundle.md). `verifyBundleFile` is what `capsule verify
 * FILE.capsule` runs.
 */
import { statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { CliError, ExitCode } from '../errors.js';
import { ProgressBar, formatBytes } from '../progress.js';
import { checkSignatures, SignatureStore, TrustStore } from '../../delivery/local/trust.js';
import { parsePackageRef } from '../../delivery/local/resolve.js';
import {
  describeProblems,
  importBundle,
  verifyBundle,
  writeBundle,
  type BundlePackage,
} from '../../package/bundle/node.js';
import { PackageError } from '../../package/errors.js';
import { readManifest } from '../../package/objects.js';
import { capsuleHome, ensureHome, openLocalStore } from '../../store/home.js';
import { StoreError } from '../../store/types.js';
import { warmEntryCache } from '../../delivery/local/entry-warm.js';

export const exportUsage = `Usage: capsule export NAME[@VERSION] -o FILE.capsule [--with-deps]

Writes a package from the local store into one file that holds it whole
(manifest, layers, chunks as stored, launch profile, signatures), to copy to
another machine and 'capsule import' or 'capsule run' there, offline.

Options
  -o, --output FILE    the bundle to write (replaced atomically if it exists)
  --with-deps          also include the packages it depends on, recursively;
                       without it, the importing store must already have them
  -h, --help           show this help

NAME alone exports the highest version; NAME@RANGE the highest that matches.

Examples
  capsule export sqlite -o sqlite.capsule
  capsule export myapp@2.1.0 --with-deps -o myapp-2.1.0.capsule`;

export const importUsage = `Usage: capsule import FILE.capsule [--force] [--allow-unsigned]

Copies every package of a bundle into the local store, verifying each object
as it is read, then names the packages (name@version). Nothing is named
unless every object checked out.

Options
  --force            replace a name@version that already names another package
  --allow-unsigned   import packages that carry no signature by a trusted key
                     (see 'capsule trust'); a signature that does not verify
                     is refused even so
  -h, --help         show this help`;

const exportOptions = {
  output: { type: 'string', short: 'o' },
  'with-deps': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const importOptions = {
  force: { type: 'boolean' },
  'allow-unsigned': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function local() {
  const home = capsuleHome();
  ensureHome(home);
  return { home, ...openLocalStore(home) };
}

/** parseArgs, with its errors turned into usage errors (exit 125). */
function parseOrUsage<T>(usage: string, parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    throw new CliError((e as Error).message.replace(/^TypeError \[[A-Z_]+\]: /, ''), 125, undefined, usage);
  }
}

/** Exactly one positional argument. */
function single(positionals: string[], what: string, usage: string): string {
  if (positionals.length !== 1)
    throw new CliError(
      positionals.length === 0 ? `missing ${what}` : `unexpected argument: ${positionals[1]}`,
      125,
      undefined,
      usage,
    );
  return positionals[0]!;
}

export async function exportCmd(argv: string[]): Promise<number> {
  const { values, positionals } = parseOrUsage(exportUsage, () =>
    parseArgs({ args: argv, options: exportOptions, allowPositionals: true }),
  );
  if (values.help) {
    process.stdout.write(exportUsage + '\n');
    return 0;
  }
  const target = single(positionals, 'the package to export', exportUsage);
  const output = values.output;
  if (output === undefined) throw new CliError('missing -o FILE.capsule', 125, undefined, exportUsage);
  const ref = parsePackageRef(target);
  if (ref === null)
    throw new CliError(`not a package name: ${target}`, 125, 'names look like sqlite or sqlite@3.45.0');

  const ctx = local();
  const found = bundleErrors(() => ctx.refs.resolve(ref.name, ref.range));
  if (found === null)
    throw new CliError(`no package ${target} in the local store`, ExitCode.NOT_FOUND, "run 'capsule ls'");
  const signatures = new SignatureStore(ctx.home);
  const progress = new ProgressBar('export');
  let result;
  try {
    result = await writeBundle(output, ctx.objects, [found.digest], {
      withDependencies: values['with-deps'] ?? false,
      signatures: (d) => signatures.list(d),
      onProgress: (done, total) => progress.update(done, total),
    });
  } catch (e) {
    throw exportError(e, output);
  } finally {
    progress.done();
  }
  const deps = result.packages.filter((p) => !p.root);
  const also = deps.length > 0 ? ` with ${deps.map(label).join(', ')}` : '';
  process.stdout.write(
    `exported ${found.name}@${found.version}${also} to ${output} (${result.objects} objects, ${formatBytes(result.size)})\n`,
  );
  if (!values['with-deps']) {
    const manifestDeps = bundleErrors(() => dependenciesOf(ctx.objects, found.digest));
    if (manifestDeps.length > 0)
      process.stderr.write(
        `capsule: note: ${found.name} depends on ${manifestDeps.join(', ')}, which the bundle does not hold;` +
          ` the importing store must have them (or export with --with-deps)\n`,
      );
  }
  return 0;
}

export async function importCmd(argv: string[]): Promise<number> {
  const { values, positionals } = parseOrUsage(importUsage, () =>
    parseArgs({ args: argv, options: importOptions, allowPositionals: true }),
  );
  if (values.help) {
    process.stdout.write(importUsage + '\n');
    return 0;
  }
  const file = single(positionals, 'the bundle file to import', importUsage);
  requireFile(file);
  const ctx = local();
  const trusted = new TrustStore(ctx.home).list();
  const admit = (p: BundlePackage): void => {
    const check = checkSignatures(p.digest, p.signatures, trusted);
    if (check.bad.length > 0)
      throw new CliError(
        `${label(p)} carries a signature by trusted key ${check.bad[0]} that does not verify: refused`,
        125,
        'the bundle was tampered with; get it again from its publisher',
      );
    if (check.trusted.length === 0 && !values['allow-unsigned'])
      throw new CliError(
        `${label(p)} is not signed by a key you trust`,
        125,
        "add the publisher's key with 'capsule trust add', or pass --allow-unsigned if you trust the file",
      );
  };
  const progress = new ProgressBar('import');
  let result;
  try {
    result = importBundle(file, ctx.objects, ctx.refs, {
      replace: values.force ?? false,
      admit,
      onProgress: (done, total) => progress.update(done, total),
    });
  } catch (e) {
    throw importError(e, file);
  } finally {
    progress.done();
  }
  const signatures = new SignatureStore(ctx.home);
  for (const p of result.packages) for (const sig of p.signatures) signatures.add(p.digest, sig);
  for (const p of result.packages) process.stdout.write(`imported ${label(p)} ${p.digest}\n`);
  for (const p of result.packages) await warmEntryCache(ctx.home, ctx.objects, p.digest);
  process.stdout.write(
    `${result.objects} objects, ${result.added} new (${formatBytes(result.addedBytes)}) from ${file}\n`,
  );
  if (result.missingDependencies.length > 0)
    process.stderr.write(
      `capsule: warning: the store lacks dependencies ${result.missingDependencies.join(', ')};` +
        ' import them before running these packages\n',
    );
  return 0;
}

/**
 * `capsule verify FILE.capsule`: checks every object, prints what is wrong,
 * and returns 0 when nothing is, 125 otherwise.
 */
export async function verifyBundleFile(file: string): Promise<number> {
  requireFile(file);
  const progress = new ProgressBar('verify');
  let report;
  try {
    report = verifyBundle(file, { onProgress: (done, total) => progress.update(done, total) });
  } catch (e) {
    throw importError(e, file);
  } finally {
    progress.done();
  }
  for (const d of report.corrupt) process.stdout.write(`corrupt ${d}\n`);
  for (const d of report.missing) process.stdout.write(`missing ${d}\n`);
  for (const p of report.problems) process.stdout.write(`problem ${p}\n`);
  const names = report.packages.map(label).join(', ');
  if (report.ok) {
    process.stdout.write(`ok: ${names}: ${report.objects} objects, ${formatBytes(report.bytes)}\n`);
    return 0;
  }
  process.stderr.write(`capsule: ${file} is damaged: ${describeProblems(report)}\n`);
  return ExitCode.USAGE;
}

function label(p: { name: string; version: string }): string {
  return `${p.name}@${p.version}`;
}

function requireFile(file: string): void {
  try {
    statSync(file);
  } catch {
    throw new CliError(`no such bundle file: ${file}`, ExitCode.NOT_FOUND, 'check the path');
  }
}

function dependenciesOf(store: ReturnType<typeof local>['objects'], digest: string): string[] {
  return readManifest(store, digest).dependencies.map((d) => `${d.name}@${d.version}`);
}

/** Runs `f`, turning a store's or package's error into a CliError. */
function bundleErrors<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw exportError(e, '');
  }
}

function exportError(e: unknown, output: string): unknown {
  if (CliError.is(e)) return e;
  if (e instanceof StoreError) {
    const hint =
      e.code === 'CORRUPT' || e.code === 'NOT_FOUND'
        ? "run 'capsule verify' on the package, then re-import or re-pack it"
        : undefined;
    return new CliError(`cannot export: ${e.message}`, 125, hint);
  }
  if (e instanceof PackageError) return new CliError(`cannot export: ${e.message}`, 125);
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string' && output)
    return new CliError(
      `cannot write ${output}: ${(e as Error).message}`,
      125,
      'check the folder exists and is writable',
    );
  return e;
}

function importError(e: unknown, file: string): unknown {
  if (CliError.is(e)) return e;
  const damaged = 'the file is damaged or was tampered with; get it again. Nothing was imported';
  if (e instanceof StoreError) {
    if (e.code === 'NOT_FOUND' && e.digest === undefined)
      return new CliError(e.message, ExitCode.NOT_FOUND, 'check the path');
    if (e.code === 'CORRUPT') return new CliError(`${file}: ${e.message}`, 125, damaged);
    return new CliError(`${file}: ${e.message}`, 125);
  }
  if (e instanceof PackageError) {
    switch (e.code) {
      case 'REF_CONFLICT':
        return new CliError(e.message, 125, 'pass --force to point the name at the bundle’s package');
      case 'NOT_A_BUNDLE':
        return new CliError(`${file}: ${e.message}`, 125, 'a bundle is what `capsule export` writes');
      case 'UNSUPPORTED_BUNDLE':
        return new CliError(`${file}: ${e.message}`, 125, 'a newer capsule wrote it; upgrade capsule');
      default:
        return new CliError(`${file}: ${e.message}`, 125, damaged);
    }
  }
  return e;
}

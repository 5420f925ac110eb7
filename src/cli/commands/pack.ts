import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { packTree } from '../../package/pack.js';
import {
  SEMVER_RE,
  buildManifest,
  NAME_RE,
  readLayerIndex,
  type Dependency,
  type Digest,
} from '../../package/index.js';
import { writeManifest } from '../../package/pack.js';
import { sign } from '../../package/sign.js';
import { withLock } from '../../store/fs/lock.js';
import { LayerFileSystem } from '../../vfs/layer.js';
import { UnionFileSystem } from '../../vfs/union.js';
import { MemoryFileSystem } from '../../vfs/memfs.js';
import { layerStack } from '../../delivery/local/resolve.js';
import { SignatureStore } from '../../delivery/local/trust.js';
import { CliError, ExitCode } from '../errors.js';
import { asCliError, openLocal, type LocalContext } from '../context.js';
import { ProgressBar, formatBytes } from '../progress.js';
import { warmEntryCache } from '../../delivery/local/entry-warm.js';

export const packUsage = `Usage: capsule pack DIR --name NAME --version VERSION --entry PATH [options]

Packs the directory DIR into a package in the local store. DIR becomes the
root of the app's view: DIR/bin/app.wasm is /bin/app.wasm to the app.

Required
  --name NAME             package name: lowercase letters, digits, ".", "_", "-"
  --version VERSION       semantic version, e.g. 1.2.0
  --entry PATH            the .wasm to run, as a path inside the view (/bin/app.wasm)

Options
  --arg ARG               a default argument (repeat for more)
  --env KEY=VALUE         a default environment variable (repeat)
  --cwd PATH              working directory inside the view (default /)
  --depends NAME@RANGE    a package to compose underneath (repeat), e.g. runtime@^1.0
  --permission GUEST:rw   a host directory the app asks for, at GUEST (rw or ro; repeat)
  --setting PATH=@FILE    a settings file at PATH in the view, from FILE on the host (repeat)
  --annotation KEY=VALUE  free-form metadata (description, license, ...; repeat)
  --sign KEY              sign with a key from 'capsule keygen' (a name or a .key file)
  --json                  print the result as JSON
  -h, --help              show this help

The same tree always gives the same package digest, whatever the file times,
order or machine. Packing the same name@version again with other content is
refused: versions are immutable.`;

const options = {
  name: { type: 'string' },
  version: { type: 'string' },
  entry: { type: 'string' },
  arg: { type: 'string', multiple: true },
  env: { type: 'string', multiple: true },
  cwd: { type: 'string' },
  depends: { type: 'string', multiple: true },
  permission: { type: 'string', multiple: true },
  setting: { type: 'string', multiple: true },
  annotation: { type: 'string', multiple: true },
  sign: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function pairs(values: string[] | undefined, flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values ?? []) {
    const eq = v.indexOf('=');
    if (eq <= 0) throw new CliError(`${flag} ${v}: expected KEY=VALUE`, 125, undefined, packUsage);
    out[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return out;
}

export function privateKeyPath(ctx: LocalContext, key: string): string {
  if (existsSync(key)) return key;
  const named = join(ctx.home.root, 'keys', `${key}.key`);
  if (existsSync(named)) return named;
  throw new CliError(`no such key: ${key}`, 125, "make one with 'capsule keygen NAME'");
}

function resolveDependencies(ctx: LocalContext, specs: string[]): Dependency[] {
  return specs.map((spec) => {
    const at = spec.indexOf('@');
    const name = at < 0 ? spec : spec.slice(0, at);
    const range = at < 0 ? '*' : spec.slice(at + 1);
    const found = ctx.refs.resolve(name, range === '*' ? undefined : range);
    if (!found) {
      throw new CliError(
        `dependency ${spec} is not in the local store`,
        ExitCode.NOT_FOUND,
        'pack or import it first',
      );
    }
    return { name, range, digest: found.digest, version: found.version };
  });
}

/** The entry must be a regular file in the composed view (this layer over its dependencies). */
function checkEntry(ctx: LocalContext, layer: Digest, deps: Dependency[], entry: string): void {
  const below = deps.flatMap((d) => layerStack(ctx.objects, d.digest).layers).reverse();
  const noChunks = {
    read(): Uint8Array {
      throw new Error('not needed to check the entry');
    },
  };
  const layers = [layer, ...below].map((d) => new LayerFileSystem(readLayerIndex(ctx.objects, d), noChunks));
  const view = new UnionFileSystem(layers, new MemoryFileSystem({ readOnly: true }));
  const path = entry.replace(/^\/+/, '');
  let kind;
  try {
    kind = view.kind(path);
  } catch {
    kind = null;
  }
  if (kind !== 'file') {
    throw new CliError(
      `--entry ${entry} is not a file in the package${deps.length ? ' or its dependencies' : ''}`,
      125,
      'give the path of the .wasm as the app sees it, e.g. /bin/app.wasm for DIR/bin/app.wasm',
    );
  }
}

export async function pack(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new CliError((e as Error).message, 125, undefined, packUsage);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(packUsage + '\n');
    return 0;
  }
  const dir = positionals[0];
  if (!dir || positionals.length > 1) throw new CliError('expected one DIR', 125, undefined, packUsage);
  for (const req of ['name', 'version', 'entry'] as const) {
    if (!values[req]) throw new CliError(`--${req} is required`, 125, undefined, packUsage);
  }
  if (!NAME_RE.test(values.name!)) {
    throw new CliError(
      `--name ${values.name}: not a package name`,
      125,
      'use lowercase letters, digits, ".", "_", "-"',
    );
  }
  if (!SEMVER_RE.test(values.version!)) {
    throw new CliError(
      `--version ${values.version}: not a semantic version`,
      125,
      'versions look like 1.2.0 or 2.0.0-beta.1',
    );
  }
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new CliError(`${dir} is not a directory`, ExitCode.NOT_FOUND);
  }
  const ctx = openLocal();
  try {
    const deps = resolveDependencies(ctx, values.depends ?? []);
    const settingsFiles: Record<string, string> = {};
    for (const [path, source] of Object.entries(pairs(values.setting, '--setting'))) {
      if (!source.startsWith('@'))
        throw new CliError(`--setting ${path}=${source}: expected PATH=@FILE`, 125);
      settingsFiles[path] = readFileSync(source.slice(1), 'utf8');
    }
    const permissions = (values.permission ?? []).map((p) => {
      const m = /^(.*):(ro|rw)$/.exec(p);
      if (!m) throw new CliError(`--permission ${p}: expected GUEST:ro or GUEST:rw`, 125);
      return { guest: m[1]!, access: m[2] as 'ro' | 'rw' };
    });

    const bar = new ProgressBar(`packing ${values.name}@${values.version}`);
    const started = performance.now();
    const result = await packTree(dir, ctx.objects, { onProgress: (d, t) => bar.update(d, t) });
    bar.done();
    const seconds = (performance.now() - started) / 1000;
    checkEntry(ctx, result.layer.digest, deps, values.entry!);

    const manifest = buildManifest({
      name: values.name!,
      version: values.version!,
      entry: values.entry!,
      layers: [result.layer],
      args: values.arg ?? [],
      env: pairs(values.env, '--env'),
      cwd: values.cwd ?? '/',
      dependencies: deps,
      permissions: { dirs: permissions },
      settings: { files: settingsFiles },
      annotations: pairs(values.annotation, '--annotation'),
    });
    const digest = writeManifest(ctx.objects, manifest);
    withLock(ctx.home.store.locks, () => {
      const existing = ctx.refs.getRef(manifest.name, manifest.version);
      if (existing !== null && existing !== digest) {
        throw new CliError(
          `${manifest.name}@${manifest.version} already exists with other content (${existing})`,
          125,
          "versions are immutable: pack a new version, or 'capsule rm' this one first",
        );
      }
      ctx.refs.setRef(manifest.name, manifest.version, digest);
    });
    // Its first launch then reads one checked file instead of decoding its entry's chunks.
    await warmEntryCache(ctx.home, ctx.objects, digest);
    let signedBy: string | null = null;
    if (values.sign) {
      const sig = sign(digest, readFileSync(privateKeyPath(ctx, values.sign), 'utf8'));
      new SignatureStore(ctx.home).add(digest, sig);
      signedBy = sig.keyId;
    }

    const s = result.stats;
    if (values.json) {
      process.stdout.write(
        JSON.stringify(
          { name: manifest.name, version: manifest.version, digest, signedBy, stats: s, seconds },
          null,
          2,
        ) + '\n',
      );
    } else {
      process.stdout.write(
        `packed ${manifest.name}@${manifest.version} ${digest}\n` +
          `  ${s.files} files, ${formatBytes(s.bytes)}; ${s.newChunks} new of ${s.chunks} chunks, ` +
          `${formatBytes(s.newBytes)} new (${formatBytes(s.storedBytes)} stored) in ${seconds.toFixed(2)} s` +
          `${signedBy ? `\n  signed by ${signedBy}` : ''}\n`,
      );
    }
    return 0;
  } catch (e) {
    throw asCliError(e);
  }
}

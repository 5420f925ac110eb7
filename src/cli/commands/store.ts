import { parseCommand as parse } from '../argv.js';
import {
  DIGEST_RE,
  LAYER_SCHEMA,
  MANIFEST_SCHEMA,
  PROFILE_SCHEMA,
  readLayerIndex,
  type Digest,
} from '../../package/index.js';
import { chunkVerifier, nodeDecoders, nodeHasher } from '../../package/node.js';
import { collectGarbage, verifySha256, withLock } from '../../store/fs/index.js';
import { verifyAll, type Edges } from '../../store/index.js';
import { layerStack } from '../../delivery/local/resolve.js';
import { entryCacheKey, entryCacheOf } from '../../delivery/local/entry-cache.js';
import { storedEntryChunks } from '../../delivery/local/entry-warm.js';
import { SignatureStore } from '../../delivery/local/trust.js';
import { CliError } from '../errors.js';
import { asCliError, openLocal, resolveLocal, type LocalContext } from '../context.js';
import { formatBytes } from '../progress.js';

const decoder = new TextDecoder();

/** The `field` of each element of `list`, when `list` is an array of objects whose `field` is a digest. */
function digestsIn(list: unknown, field: string): Digest[] {
  if (!Array.isArray(list)) return [];
  return list
    .map((x: unknown) => (typeof x === 'object' && x !== null ? (x as Record<string, unknown>)[field] : null))
    .filter((d): d is Digest => typeof d === 'string' && DIGEST_RE.test(d));
}

/**
 * What an object links to, for gc and verify: manifests and indexes are read;
 * chunks are leaves. The bytes are not validated here (a malformed manifest is
 * refused when it is loaded), so anything that is not a well-formed digest in
 * the expected place is ignored rather than trusted or crashed on.
 */
export function childrenOf(_digest: Digest, bytes: Uint8Array): Edges {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes));
  } catch {
    return { objects: [] };
  }
  if (typeof value !== 'object' || value === null) return { objects: [] };
  const v = value as Record<string, unknown>;
  if (v.schema === MANIFEST_SCHEMA) {
    const profile = typeof v.profile === 'string' && DIGEST_RE.test(v.profile) ? [v.profile] : [];
    return {
      objects: [...digestsIn(v.layers, 'digest'), ...digestsIn(v.dependencies, 'digest'), ...profile],
    };
  }
  if (v.schema === LAYER_SCHEMA) {
    const entries = Array.isArray(v.entries) ? (v.entries as unknown[]) : [];
    const leaves = entries.flatMap((e) =>
      typeof e === 'object' && e !== null ? digestsIn((e as Record<string, unknown>).chunks, 'digest') : [],
    );
    return { objects: [], leaves };
  }
  if (v.schema === PROFILE_SCHEMA) return { objects: [], leaves: [] };
  return { objects: [] };
}

const lsUsage = `Usage: capsule ls [--json]

Lists the packages in the local store ($CAPSULE_HOME, default ~/.capsule).`;

export async function ls(argv: string[]): Promise<number> {
  const { values } = parse(argv, { json: { type: 'boolean' } }, lsUsage);
  if (values.help) return print(lsUsage);
  const ctx = openLocal();
  const refs = ctx.refs.listRefs();
  if (values.json) return print(JSON.stringify(refs, null, 2));
  if (refs.length === 0)
    return print("no packages yet: make one with 'capsule pack DIR --name N --version V --entry PATH'");
  const rows = refs.map((r) => {
    let size = 0;
    try {
      const m = layerStack(ctx.objects, r.digest).manifest;
      size = m.layers.reduce((s, l) => s + l.size, 0);
    } catch {
      size = -1;
    }
    return [r.name, r.version, r.digest.slice(0, 19), size < 0 ? 'damaged' : formatBytes(size)];
  });
  return print(table(['NAME', 'VERSION', 'DIGEST', 'SIZE'], rows));
}

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [head, ...rows]
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function print(text: string): number {
  process.stdout.write(text + '\n');
  return 0;
}

const inspectUsage = `Usage: capsule inspect NAME[@VERSION] [--json]

Shows a package: its manifest, layers, sizes and how much of it is deduplicated.`;

export async function inspect(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { json: { type: 'boolean' } }, inspectUsage);
  if (values.help) return print(inspectUsage);
  if (positionals.length !== 1) throw new CliError('expected one package', 125, undefined, inspectUsage);
  const ctx = openLocal();
  try {
    const pkg = resolveLocal(ctx, positionals[0]!);
    const info = describe(ctx, pkg.digest);
    const sigs = new SignatureStore(ctx.home).list(pkg.digest).map((s) => s.keyId);
    const out = {
      name: pkg.name,
      version: pkg.version,
      digest: pkg.digest,
      ...info,
      signatures: sigs,
      manifest: pkg.manifest,
    };
    if (values.json) return print(JSON.stringify(out, null, 2));
    const m = pkg.manifest;
    return print(
      [
        `${pkg.name}@${pkg.version}  ${pkg.digest}`,
        `  entry        ${m.entry}${m.args.length ? ' ' + m.args.join(' ') : ''}`,
        `  files        ${info.files}, ${formatBytes(info.bytes)} (${info.chunks} chunks, ${formatBytes(info.storedBytes)} stored)`,
        `  deduplicated ${(info.dedupShare * 100).toFixed(1)}% within the package, ${formatBytes(info.sharedBytes)} shared with other packages`,
        `  layers       ${info.layers.map((l) => `${l.digest.slice(0, 19)} (${l.entries} entries, ${formatBytes(l.size)})`).join(', ')}`,
        `  depends on   ${m.dependencies.map((d) => `${d.name}@${d.version}`).join(', ') || '-'}`,
        `  profile      ${m.profile ? m.profile.slice(0, 19) : '-'}`,
        `  split        ${m.split ? `${m.split.primaryFunctions} functions in the primary, ${m.split.secondaryFunctions} in ${m.split.secondary}` : '-'}`,
        `  signed by    ${sigs.join(', ') || '- (unsigned)'}`,
      ].join('\n'),
    );
  } catch (e) {
    throw asCliError(e);
  }
}

/** Sizes and dedup figures of a package's own layers. */
function describe(ctx: LocalContext, digest: Digest) {
  const stack = layerStack(ctx.objects, digest);
  const own = new Set(stack.manifest.layers.map((l) => l.digest));
  const chunkSizes = new Map<Digest, number>();
  let files = 0;
  let bytes = 0;
  let chunks = 0;
  const layers = stack.manifest.layers.map((l) => {
    const index = readLayerIndex(ctx.objects, l.digest);
    for (const e of index.entries) {
      if (e.type !== 'file') continue;
      files++;
      bytes += e.size;
      for (const c of e.chunks ?? []) {
        chunks++;
        chunkSizes.set(c.digest, c.size);
      }
    }
    return { digest: l.digest, size: l.size, entries: l.entries };
  });
  const unique = [...chunkSizes.values()].reduce((s, n) => s + n, 0);
  let storedBytes = 0;
  for (const d of chunkSizes.keys()) storedBytes += ctx.objects.size(d) ?? 0;
  // Chunks this package shares with any other package in the store.
  const elsewhere = new Set<Digest>();
  for (const r of ctx.refs.listRefs()) {
    if (r.digest === digest) continue;
    try {
      for (const l of layerStack(ctx.objects, r.digest).layers) {
        if (own.has(l)) continue;
        for (const e of readLayerIndex(ctx.objects, l).entries)
          for (const c of e.chunks ?? []) elsewhere.add(c.digest);
      }
    } catch {
      // A damaged package elsewhere does not change this one's figures.
    }
  }
  let sharedBytes = 0;
  for (const [d, n] of chunkSizes) if (elsewhere.has(d)) sharedBytes += n;
  return {
    files,
    bytes,
    chunks,
    uniqueChunks: chunkSizes.size,
    uniqueBytes: unique,
    storedBytes,
    dedupShare: bytes === 0 ? 0 : 1 - unique / bytes,
    sharedBytes,
    layers,
  };
}

const rmUsage = `Usage: capsule rm NAME@VERSION...

Removes packages from the local store's list. Their data stays until
'capsule gc' finds nothing else uses it.`;

export async function rm(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {}, rmUsage);
  if (values.help) return print(rmUsage);
  if (positionals.length === 0) throw new CliError('expected NAME@VERSION', 125, undefined, rmUsage);
  const ctx = openLocal();
  for (const target of positionals) {
    const at = target.indexOf('@');
    if (at < 0) throw new CliError(`${target}: give the version to remove (NAME@VERSION)`, 125);
    const pkg = resolveLocal(ctx, target);
    withLock(ctx.home.store.locks, () => ctx.refs.deleteRef(pkg.name, pkg.version));
    new SignatureStore(ctx.home).remove(pkg.digest);
    process.stdout.write(`removed ${pkg.name}@${pkg.version}\n`);
  }
  return 0;
}

const gcUsage = `Usage: capsule gc [--dry-run]

Deletes objects no package uses. Safe while apps run: what a running app
uses is protected by its lease, and fresh objects of a pack in progress are
kept for an hour. Cached entry modules of packages no longer in the store
go too.`;

/** The entry cache's keys of every package in the store (a package that cannot be read keeps none). */
function liveEntryKeys(ctx: LocalContext): Set<string> {
  const keys = new Set<string>();
  for (const ref of ctx.refs.listRefs()) {
    try {
      const chunks = storedEntryChunks(ctx.objects, ref.digest);
      if (chunks) keys.add(entryCacheKey(chunks));
    } catch {
      // damaged or half-removed: its cache entry, if any, goes; a run rebuilds it
    }
  }
  return keys;
}

export async function gc(argv: string[]): Promise<number> {
  const { values } = parse(argv, { 'dry-run': { type: 'boolean' } }, gcUsage);
  if (values.help) return print(gcUsage);
  const ctx = openLocal();
  try {
    const r = collectGarbage(ctx.objects, { children: childrenOf, dryRun: values['dry-run'] });
    const cacheFreed = values['dry-run'] ? 0 : entryCacheOf(ctx.home).prune(liveEntryKeys(ctx));
    return print(
      `${values['dry-run'] ? 'would remove' : 'removed'} ${r.removed} objects (${formatBytes(r.freedBytes)}), kept ${r.kept}` +
        (cacheFreed > 0 ? `; ${formatBytes(cacheFreed)} of cached entry modules` : ''),
    );
  } catch (e) {
    throw asCliError(e);
  }
}

const verifyUsage = `Usage: capsule verify [NAME[@VERSION] | FILE.capsule]

Checks every object of a package (or of the whole store, or of a bundle)
against its digest. Exits 1 and names each damaged object if any is, and
each pack file whose index is damaged (its objects are then missing).`;

export async function verify(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {}, verifyUsage);
  if (values.help) return print(verifyUsage);
  const ctx = openLocal();
  const chunkCheck = chunkVerifier(nodeDecoders, nodeHasher);
  let digests: Digest[] | undefined;
  const chunkSet = new Set<Digest>();
  try {
    const roots = positionals.length
      ? positionals.map((t) => resolveLocal(ctx, t).digest)
      : ctx.refs.listRefs().map((r) => r.digest);
    const all = new Set<Digest>();
    const walk = (d: Digest) => {
      if (all.has(d)) return;
      all.add(d);
      let bytes: Uint8Array;
      try {
        bytes = ctx.objects.read(d);
      } catch {
        return; // reported below as corrupt or missing
      }
      const edges = childrenOf(d, bytes);
      for (const c of edges.objects) walk(c);
      for (const c of edges.leaves ?? []) {
        all.add(c);
        chunkSet.add(c);
      }
    };
    roots.forEach(walk);
    digests = [...all];
  } catch (e) {
    throw asCliError(e);
  }
  const report = verifyAll(
    ctx.objects,
    (d, b) => (chunkSet.has(d) ? chunkCheck(d, b) : verifySha256(d, b)),
    digests,
  );
  const corrupt = report.corrupt;
  for (const d of corrupt) process.stdout.write(`corrupt  ${d}\n`);
  for (const d of report.missing) process.stdout.write(`missing  ${d}\n`);
  // A pack file whose index is damaged hides all its objects: say which file it is.
  const damagedPacks = ctx.objects.damagedPacks();
  for (const p of damagedPacks) process.stdout.write(`damaged  ${p.path} (${p.why})\n`);
  if (corrupt.length || report.missing.length || (damagedPacks.length && !positionals.length)) {
    process.stderr.write(
      `capsule: ${corrupt.length} corrupt and ${report.missing.length} missing of ${digests.length} objects` +
        (damagedPacks.length ? `, ${damagedPacks.length} damaged pack file(s)\n` : '\n') +
        `  hint: re-import or re-pack the affected packages; 'capsule gc' then clears the rest\n`,
    );
    return 1;
  }
  return print(`ok: ${digests.length} objects verified`);
}

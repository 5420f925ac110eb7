/**
 * `capsule run http(s)://HOST:PORT/NAME[@VERSION]`: a streamed run. The
 * metadata (manifest, layer indexes, launch profile) is fetched and verified
 * first, the package is named in the local store, and the guest starts at
 * once; chunks come on demand through the bridge (session.ts fetchObject),
 * the launch profile's ahead of time. Everything fetched lands in the local
 * store, so the next run (`capsule run NAME@VERSION`) works offline.
 */
import { parseProfile } from '../../package/node.js';
import { readLayerIndex, type ChunkRef, type Manifest } from '../../package/index.js';
import { WASM_PAGE } from '../../runtime/limits.js';
import type { ObjectStore } from '../../store/types.js';
import { EntryModule } from '../../delivery/module-source.js';
import { pullPackage } from '../../delivery/remote/pull.js';
import { ObjectStreamer } from '../../delivery/remote/stream.js';
import { parsePackageRef } from '../../delivery/local/resolve.js';
import { SignatureStore, TrustStore, checkSignatures } from '../../delivery/local/trust.js';
import type { PackageViewSpec } from '../../delivery/local/view-spec.js';
import { withLock } from '../../store/fs/lock.js';
import { CliError } from '../errors.js';
import { asCliError, openLocal } from '../context.js';
import { asRemoteCliError, clientFor } from './remote-common.js';
import { noteDelivery, resolveRemoteVersion, splitTarget, warnIfYanked } from './remote.js';
import { isUnreachable, prepareFallbackRun } from './run-fallback.js';
import { preparePackageRun, type PackageRunRequest, type PreparedRun } from './run-package.js';

export const isRemoteTarget = (target: string) => /^https?:\/\//.test(target);

export async function prepareRemoteRun(
  req: Omit<PackageRunRequest, 'bundle'> & { memoryMiB?: number },
): Promise<PreparedRun & { streamer: ObjectStreamer }> {
  const { server, spec } = splitTarget(req.target, undefined);
  const ref = parsePackageRef(spec);
  if (!ref) throw new CliError(`not a package name: ${spec}`, 125, 'names look like sqlite or sqlite@3.45.0');
  const client = clientFor(server);
  const ctx = openLocal();
  const streamer = new ObjectStreamer(client, ctx.objects);
  let early: { chunks: ChunkRef[]; entry: EntryModule } | null = null;
  let name: string;
  try {
    const version = await resolveRemoteVersion(client, ref, spec);
    name = `${ref.name}@${version}`;
    const r = await pullPackage(client, ctx.objects, ref.name, version, undefined, true);
    warnIfYanked(r.record, name, client.base);
    const { digest, signatures } = r.record;
    const check = checkSignatures(digest, signatures, new TrustStore(ctx.home).list());
    if (check.bad.length > 0)
      throw new CliError(`${name} carries a signature that does not verify: refused`, 125);
    if (check.trusted.length === 0 && !req.allowUnsigned)
      throw new CliError(
        `${name} is not signed by a key you trust: refused`,
        125,
        "trust the publisher's key with 'capsule trust add KEY.pub', or pass --allow-unsigned",
      );
    // The entry's runnable bytes start arriving while the rest is set up.
    early = startEntry(r.manifest, ctx.objects, streamer, req.memoryMiB);
    withLock(ctx.home.store.locks, () => {
      const existing = ctx.refs.getRef(ref.name, version);
      if (existing !== null && existing !== digest)
        throw new CliError(
          `${name} already exists locally with other content (${existing})`,
          125,
          "remove it with 'capsule rm' first, or run it by name",
        );
      ctx.refs.setRef(ref.name, version, digest);
    });
    const sigs = new SignatureStore(ctx.home);
    for (const s of signatures) sigs.add(digest, s);
    noteDelivery(ctx.home, client, { name: ref.name, version, digest, spec: ref.range ?? '' }, 'stream');
  } catch (e) {
    // The server cannot be reached: run what this client already has from it.
    if (isUnreachable(e)) return prepareFallbackRun(req, client, ref, e);
    throw asCliError(asRemoteCliError(e));
  }

  const prepared = preparePackageRun({ ...req, target: name, bundle: false });
  const view = prepared.session.view!.data as PackageViewSpec;
  view.streamed = true;
  const m = prepared.package.manifest;
  // The early reader, when the view reads the same entry (the user's state does not shadow it).
  const same = (a: ChunkRef[], b: ChunkRef[]) =>
    a.length === b.length && a.every((c, i) => c.digest === b[i]!.digest);
  const entry = prepared.entryChunks
    ? early && same(early.chunks, prepared.entryChunks)
      ? early.entry
      : new EntryModule(prepared.entryChunks, ctx.objects, (d) => streamer.fetch(d))
    : null;
  // The launch profile, when there is one: the chunks the app read before its
  // first output, in the order it first read them, now; the ones it read later
  // once the entry is compiled, so they do not compete with it. The entry's own
  // chunks come through `entry` (never its custom sections).
  let later: string[] = [];
  if (m.profile !== null) {
    try {
      const profile = parseProfile(ctx.objects.read(m.profile));
      const own = new Set(entry ? (prepared.entryChunks ?? []).map((c) => c.digest) : []);
      streamer.prefetch(profile.chunks.filter((d) => !own.has(d)));
      later = (profile.after ?? []).filter((d) => !own.has(d));
    } catch {
      // A profile is an optimisation only: without it chunks come on demand.
    }
  }
  const warn = new Set<string>();
  return {
    ...prepared,
    streamer,
    nameTrap: (result) => entry?.nameTrap(result) ?? Promise.resolve(result),
    session: {
      ...prepared.session,
      entryBytes: undefined,
      // Compiled as it downloads, without its custom sections (module-stream.ts), while the worker boots.
      compileEntry: entry
        ? (memoryPages) =>
            entry.compile(memoryPages, true).finally(() => {
              if (later.length > 0) streamer.prefetch(later);
            })
        : undefined,
      fetchObject: async (digest) => {
        try {
          await streamer.fetch(digest);
          return true;
        } catch (e) {
          if (!warn.has(digest)) {
            warn.add(digest);
            process.stderr.write(`capsule: cannot fetch ${digest}: ${(e as Error).message}\n`);
          }
          return false;
        }
      },
    },
  };
}

/**
 * Starts reading the entry module's runnable bytes (from the package's own
 * layers, top first) before the view is prepared; `compile` picks them up.
 */
function startEntry(
  manifest: Manifest,
  store: ObjectStore,
  streamer: ObjectStreamer,
  memoryMiB: number | undefined,
): { chunks: ChunkRef[]; entry: EntryModule } | null {
  try {
    const path = manifest.entry.replace(/^\/+/, '');
    for (const layer of [...manifest.layers].reverse()) {
      const found = readLayerIndex(store, layer.digest).entries.find((e) => e.path === path);
      if (!found) continue;
      if (found.type !== 'file' || !found.chunks) return null;
      const entry = new EntryModule(found.chunks, store, (d) => streamer.fetch(d));
      entry.startEarly(memoryMiB === undefined ? undefined : Math.floor((memoryMiB * 2 ** 20) / WASM_PAGE));
      return { chunks: found.chunks, entry };
    }
  } catch {
    // An optimisation only: the run reads the entry the usual way.
  }
  return null;
}

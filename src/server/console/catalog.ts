/**
 * The console's catalog: what `GET /catalog` lists (the apps the caller may
 * use, their versions, yanks and channels), plus what a person choosing an
 * app wants to see: each version's size (its layers' and its dependencies'
 * files), when and by whom it was published, and the manifest's description.
 * Manifests are immutable, so what is read from them is kept by digest.
 */
import { parseManifest, type Digest, type Manifest } from '../../package/node.js';
import { verifySha256 } from '../../store/fs/index.js';
import { channelMap } from '../channels.js';
import { sendJson } from '../http-error.js';
import type { RequestContext, Route, ServerState } from '../router.js';

interface ManifestFacts {
  /** Bytes of every regular file in the package's layers and its dependencies'. */
  size: number;
  description: string | null;
  dependencies: string[];
}

const facts = new Map<Digest, ManifestFacts>();

function manifestFacts(state: ServerState, digest: Digest, depth = 0): ManifestFacts {
  const known = facts.get(digest);
  if (known) return known;
  let m: Manifest;
  try {
    m = parseManifest(state.objects.read(digest, verifySha256));
  } catch {
    return { size: 0, description: null, dependencies: [] };
  }
  let size = m.layers.reduce((n, l) => n + l.size, 0);
  // Dependencies were checked acyclic at publish; the depth bound is a second fence.
  if (depth < 16) for (const d of m.dependencies) size += manifestFacts(state, d.digest, depth + 1).size;
  const f = {
    size,
    description: m.annotations.description ?? null,
    dependencies: m.dependencies.map((d) => `${d.name}@${d.version}`),
  };
  facts.set(digest, f);
  return f;
}

function catalog(ctx: RequestContext): void {
  const { meta } = ctx.state;
  const user = ctx.user!;
  const visible = user.role === 'admin' ? null : new Set(meta.entitledApps(user.id));
  const yanked = new Set(meta.yanked().map((y) => `${y.name}@${y.version}`));
  const apps = new Map<string, Record<string, unknown>[]>();
  for (const p of meta.packages()) {
    if (visible && !visible.has(p.name)) continue;
    const f = manifestFacts(ctx.state, p.digest);
    const list = apps.get(p.name) ?? [];
    list.push({
      version: p.version,
      digest: p.digest,
      yanked: yanked.has(`${p.name}@${p.version}`),
      size: f.size,
      description: f.description,
      dependencies: f.dependencies,
      publisher: p.publisher,
      createdAt: p.createdAt,
    });
    apps.set(p.name, list);
  }
  const channels = meta.channels();
  sendJson(ctx.res, 200, {
    apps: [...apps]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([name, versions]) => ({
        name,
        versions,
        channels: channelMap(
          channels,
          name,
          new Set(versions.filter((v) => v.yanked).map((v) => v.version as string)),
        ),
      })),
  });
}

export const catalogRoutes: Route[] = [
  {
    method: 'GET',
    path: '/console/catalog',
    access: 'user',
    summary:
      "The catalog as the console shows it: GET /catalog plus each version's size, publisher, date and description",
    responds: {
      status: 200,
      kind: 'json',
      description:
        '{"apps": [{"name", "channels", "versions": [{"version", "digest", "yanked", "size", "description", "dependencies", "publisher", "createdAt"}]}]}',
    },
    handler: catalog,
  },
];

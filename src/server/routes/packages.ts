/**
 * Publishing and the catalog. A package is accepted only when its manifest
 * parses, names itself as the name@version registered, every object it needs
 * (its dependencies' too) is present and verified by its kind, and its
 * signatures satisfy the server's trust policy (docs/server.md).
 */
import { packageObjects } from '../../package/bundle/index.js';
import {
  chunkVerifier,
  nodeDecoders,
  nodeHasher,
  parseManifest,
  DIGEST_RE,
  NAME_RE,
  SEMVER_RE,
  type Digest,
  type Manifest,
  type Signature,
} from '../../package/node.js';
import { verifySha256 } from '../../store/fs/index.js';
import { StoreError } from '../../store/types.js';
import { capsuleHome } from '../../store/home.js';
import { TrustStore, checkSignatures } from '../../delivery/local/trust.js';
import { canSeeApp, canSeeObject, requireRole } from '../access.js';
import { readJson, stringField } from '../body.js';
import { HttpError, badRequest, notEntitled, notFound, sendJson } from '../http-error.js';
import type { RequestContext, Route } from '../router.js';
import type { PackageRecord, User } from '../metadata/types.js';
import { channelMap } from '../channels.js';

const verifyChunk = chunkVerifier(nodeDecoders, nodeHasher);
const refused = (code: string, message: string) => new HttpError(422, code, message);

function signaturesField(value: unknown): Signature[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > 32)
    throw badRequest('"signatures" must be an array (at most 32)');
  return value.map((s: unknown) => {
    const o = (typeof s === 'object' && s !== null ? s : {}) as Record<string, unknown>;
    if (
      typeof o.keyId !== 'string' ||
      !DIGEST_RE.test(o.keyId) ||
      o.algorithm !== 'ed25519' ||
      typeof o.signature !== 'string' ||
      o.signature.length > 200
    )
      throw badRequest('a signature must be {"keyId": digest, "algorithm": "ed25519", "signature": base64}');
    return { keyId: o.keyId, algorithm: 'ed25519', signature: o.signature };
  });
}

function loadManifest(ctx: RequestContext, digest: Digest): Manifest {
  try {
    return parseManifest(ctx.state.objects.read(digest, verifySha256));
  } catch (e) {
    if (e instanceof StoreError && e.code === 'NOT_FOUND')
      throw refused('incomplete', `the manifest ${digest} has not been uploaded`);
    throw refused('bad_manifest', `the manifest ${digest} is not valid: ${(e as Error).message}`);
  }
}

/** Every object of the package and its dependencies, each checked by its kind. */
function checkObjects(ctx: RequestContext, digest: Digest): Digest[] {
  const { objects } = ctx.state;
  const walk = packageObjects(objects, [digest], { withDependencies: true, hasher: nodeHasher });
  const bad = walk.unreadable[0];
  if (bad) throw refused('bad_object', `${bad.digest} is not valid: ${bad.error.message}`);
  const missing = [...walk.missing, ...walk.external];
  if (missing.length > 0)
    throw refused('incomplete', `${missing.length} objects are missing, the first is ${missing[0]}`);
  for (const chunk of walk.chunks) {
    try {
      objects.read(chunk, verifyChunk);
    } catch {
      throw refused('bad_object', `chunk ${chunk} does not verify`);
    }
  }
  return [...walk.meta, ...walk.chunks];
}

async function publish(ctx: RequestContext): Promise<void> {
  const user = ctx.user!;
  requireRole(user, 'publisher');
  const body = await readJson(ctx.req);
  const name = stringField(body, 'name', NAME_RE);
  const version = stringField(body, 'version', SEMVER_RE);
  const digest = stringField(body, 'manifest', DIGEST_RE);
  const signatures = signaturesField(body.signatures);
  const { meta, dataDir, allowUnsigned } = ctx.state;

  // A publisher adds versions to new apps and to apps they may use, not to others'.
  const known = meta.packages().some((p) => p.name === name);
  if (known && !canSeeApp(meta, user, name)) throw notEntitled();

  const manifest = loadManifest(ctx, digest);
  if (manifest.name !== name || manifest.version !== version)
    throw refused(
      'bad_manifest',
      `the manifest is ${manifest.name}@${manifest.version}, not ${name}@${version}`,
    );
  const objects = checkObjects(ctx, digest);

  const check = checkSignatures(
    digest,
    signatures,
    new TrustStore(capsuleHome({ CAPSULE_HOME: dataDir })).list(),
  );
  if (check.bad.length > 0) throw refused('bad_signature', `a signature by ${check.bad[0]} does not verify`);
  if (check.trusted.length === 0 && !allowUnsigned)
    throw refused('unsigned', 'the package carries no valid signature by a key this server trusts');

  const existing = meta.packageByRef(name, version);
  if (existing) {
    if (existing.digest !== digest)
      throw new HttpError(
        409,
        'conflict',
        `${name}@${version} exists with other content; versions are immutable`,
      );
    sendJson(
      ctx.res,
      200,
      describe(
        existing,
        meta.yanked(name).some((y) => y.version === version),
      ),
    );
    return;
  }
  const record: PackageRecord = {
    name,
    version,
    digest,
    signatures,
    publisher: user.name,
    createdAt: new Date().toISOString(),
  };
  meta.transaction(() => {
    meta.addPackage(record, objects);
    meta.audit(user.name, 'package.publish', { name, version, digest, signedBy: check.trusted });
  });
  sendJson(ctx.res, 201, describe(record, false));
}

const describe = (p: PackageRecord, yanked: boolean) => ({
  name: p.name,
  version: p.version,
  digest: p.digest,
  signatures: p.signatures,
  publisher: p.publisher,
  createdAt: p.createdAt,
  yanked,
});

/** The apps and versions `user` may use, as GET /catalog lists them (delivery/remote/select.ts CatalogApp). */
export function catalogApps(meta: RequestContext['state']['meta'], user: User) {
  const visible = user.role === 'admin' ? null : new Set(meta.entitledApps(user.id));
  const yanked = new Set(meta.yanked().map((y) => `${y.name}@${y.version}`));
  const apps = new Map<string, { version: string; digest: Digest; yanked: boolean }[]>();
  for (const p of meta.packages()) {
    if (visible && !visible.has(p.name)) continue;
    const list = apps.get(p.name) ?? [];
    list.push({ version: p.version, digest: p.digest, yanked: yanked.has(`${p.name}@${p.version}`) });
    apps.set(p.name, list);
  }
  const channels = meta.channels();
  return [...apps].map(([name, versions]) => ({
    name,
    versions,
    channels: channelMap(channels, name, new Set(versions.filter((v) => v.yanked).map((v) => v.version))),
  }));
}

function catalog(ctx: RequestContext): void {
  sendJson(ctx.res, 200, { apps: catalogApps(ctx.state.meta, ctx.user!) });
}

/** The package named by the path, or the one 403 for "hidden" and "absent" alike. */
function visiblePackage(ctx: RequestContext): PackageRecord {
  const { name = '', version = '' } = ctx.params;
  const user = ctx.user!;
  if (!NAME_RE.test(name) || !SEMVER_RE.test(version)) throw badRequest('not a package name and version');
  if (!canSeeApp(ctx.state.meta, user, name)) throw notEntitled();
  const p = ctx.state.meta.packageByRef(name, version);
  if (!p) {
    if (user.role === 'admin') throw notFound(`no package ${name}@${version}`);
    throw notEntitled();
  }
  return p;
}

function packageInfo(ctx: RequestContext): void {
  const p = visiblePackage(ctx);
  sendJson(
    ctx.res,
    200,
    describe(
      p,
      ctx.state.meta.yanked(p.name).some((y) => y.version === p.version),
    ),
  );
}

function manifestBytes(ctx: RequestContext): void {
  const p = visiblePackage(ctx);
  const bytes = ctx.state.objects.read(p.digest, verifySha256);
  ctx.res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': bytes.length,
    etag: `"${p.digest}"`,
    'x-capsule-digest': p.digest,
    // A name@version never changes its digest, but entitlement can be revoked.
    'cache-control': 'private, no-cache',
  });
  ctx.res.end(ctx.req.method === 'HEAD' ? undefined : bytes);
}

/** Inline metadata in one launch answer is capped; a client fetches the rest as objects. */
const MAX_LAUNCH_BYTES = 4 * 1024 * 1024;

/**
 * What a client reads before it can start a package, in one answer: the
 * record, and inline the metadata objects it would otherwise fetch one round
 * trip after another (the manifest, then its layer indexes and launch
 * profile, then the same for each dependency). Each object is included only
 * where GET /objects would serve it to this user; a client verifies each
 * against its digest, as it would a fetched one.
 */
function launchInfo(ctx: RequestContext): void {
  const p = visiblePackage(ctx);
  const { meta, objects } = ctx.state;
  const user = ctx.user!;
  const text = new TextDecoder('utf-8', { fatal: true });
  const inline: Record<Digest, string> = {};
  let total = 0;
  const add = (d: Digest): Uint8Array | null => {
    if (d in inline || (d !== p.digest && !canSeeObject(meta, user, d))) return null;
    let bytes: Uint8Array;
    let value: string;
    try {
      bytes = objects.read(d, verifySha256);
      value = text.decode(bytes);
    } catch {
      return null; // absent or damaged: the client's own fetch reports it
    }
    if (total + bytes.length > MAX_LAUNCH_BYTES) return null;
    total += bytes.length;
    inline[d] = value;
    return bytes;
  };
  const queue: Digest[] = [p.digest];
  for (let d = queue.shift(); d !== undefined; d = queue.shift()) {
    const bytes = add(d);
    if (!bytes) continue;
    let m: Manifest;
    try {
      m = parseManifest(bytes);
    } catch {
      continue;
    }
    for (const layer of m.layers) add(layer.digest);
    if (m.profile !== null) add(m.profile);
    for (const dep of m.dependencies) queue.push(dep.digest);
  }
  const yanked = meta.yanked(p.name).some((y) => y.version === p.version);
  sendJson(ctx.res, 200, { ...describe(p, yanked), objects: inline });
}

export const packageRoutes: Route[] = [
  {
    method: 'POST',
    path: '/packages',
    access: 'publisher',
    summary:
      'Register name@version: {"name", "version", "manifest": digest, "signatures": [...]}; objects must be uploaded first',
    body: 'json',
    responds: { status: 201, kind: 'json', description: 'the package record; 200 when it was there' },
    handler: publish,
  },
  {
    method: 'GET',
    path: '/catalog',
    access: 'user',
    summary: 'The apps and versions you may use, which are yanked, and where their channels point',
    responds: {
      status: 200,
      kind: 'json',
      description:
        '{"apps": [{"name", "versions": [{"version", "digest", "yanked"}], "channels": {"stable": version, ...}}]}',
    },
    handler: catalog,
  },
  {
    method: 'GET',
    path: '/packages/{name}/{version}',
    access: 'user',
    summary: "A package's record: digest, signatures, publisher, yanked",
    responds: { status: 200, kind: 'json', description: 'the package record' },
    handler: packageInfo,
  },
  {
    method: 'GET',
    path: '/packages/{name}/{version}/manifest',
    access: 'user',
    summary: "A package's manifest bytes (X-Capsule-Digest names them)",
    responds: { status: 200, kind: 'bytes', description: 'the canonical manifest JSON' },
    handler: manifestBytes,
  },
  {
    method: 'GET',
    path: '/packages/{name}/{version}/launch',
    access: 'user',
    summary:
      "A package's record plus, inline, the metadata objects a client reads before starting it (manifest, layer indexes, launch profile, and its dependencies'), so a cold start needs one round trip for them, not three",
    responds: {
      status: 200,
      kind: 'json',
      description: 'the package record and "objects": {digest: canonical JSON text}',
    },
    handler: launchInfo,
  },
];

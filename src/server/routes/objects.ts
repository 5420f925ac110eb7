/**
 * Objects: which ones the server lacks, upload, download.
 *
 * An upload is checked before it is stored: the digest must be well formed,
 * the body at most `maxObjectBytes`, and the bytes must be the object the
 * digest names, either as a metadata object (SHA-256 of the bytes) or as a
 * chunk (decoded, then hashed). Which of the two it must be is settled when
 * a package names it (POST /packages checks every object by its kind).
 */
import { DIGEST_RE, type Digest } from '../../package/types.js';
import { chunkVerifier, nodeDecoders, nodeHasher } from '../../package/node.js';
import { verifySha256 } from '../../store/fs/index.js';
import { StoreError, type Verifier } from '../../store/types.js';
import { canSeeObject, requireRole } from '../access.js';
import { readBody, readJson } from '../body.js';
import { HttpError, badRequest, notEntitled, notFound, sendJson } from '../http-error.js';
import { VerifiedObjectCache, type VerifiedObject } from '../object-cache.js';
import type { RequestContext, Route, ServerState } from '../router.js';

/** 10 000 digests are ~720 KB of JSON, under the 1 MiB body limit (body.ts). */
const MAX_MISSING_QUERY = 10_000;
const verifyChunk = chunkVerifier(nodeDecoders, nodeHasher);
/** Either kind of object: both bind the bytes to the digest. */
export const verifyAnyObject: Verifier = (d, bytes) => verifySha256(d, bytes) || verifyChunk(d, bytes);

export function digestParam(ctx: RequestContext): Digest {
  const d = ctx.params.digest ?? '';
  if (!DIGEST_RE.test(d))
    throw badRequest(`not a digest (want sha256:<64 lowercase hex>): ${JSON.stringify(d.slice(0, 80))}`);
  return d;
}

async function missing(ctx: RequestContext): Promise<void> {
  requireRole(ctx.user!, 'publisher');
  const body = await readJson(ctx.req);
  const list = body.digests;
  if (!Array.isArray(list) || list.length > MAX_MISSING_QUERY)
    throw badRequest(`"digests" must be an array of at most ${MAX_MISSING_QUERY} digests`);
  for (const d of list) {
    if (typeof d !== 'string' || !DIGEST_RE.test(d)) throw badRequest(`not a digest: ${JSON.stringify(d)}`);
  }
  const digests = [...new Set(list as Digest[])];
  sendJson(ctx.res, 200, { missing: digests.filter((d) => !ctx.state.objects.has(d)) });
}

async function upload(ctx: RequestContext): Promise<void> {
  requireRole(ctx.user!, 'publisher');
  const digest = digestParam(ctx);
  const bytes = await readBody(ctx.req, ctx.state.maxObjectBytes);
  const existed = ctx.state.objects.has(digest);
  try {
    ctx.state.objects.write(digest, bytes, verifyAnyObject);
  } catch (e) {
    if (e instanceof StoreError && e.code === 'CORRUPT')
      throw new HttpError(422, 'digest_mismatch', `the bytes are not ${digest}: refused`);
    throw e;
  }
  // The file was rewritten (or its mtime refreshed): read and verify it again when next served.
  caches.get(ctx.state)?.forget(digest);
  sendJson(ctx.res, existed ? 200 : 201, { digest, size: bytes.length });
}

const IMMUTABLE = 'public, max-age=31536000, immutable';
const OCTETS = 'application/octet-stream';

/** One cache of verified objects per server (object-cache.ts). */
const caches = new WeakMap<ServerState, VerifiedObjectCache>();
function objectCache(state: ServerState): VerifiedObjectCache {
  let cache = caches.get(state);
  if (!cache) {
    cache = new VerifiedObjectCache(state.objects, verifyAnyObject);
    caches.set(state, cache);
  }
  return cache;
}

function download(ctx: RequestContext): void {
  const digest = digestParam(ctx);
  const { meta } = ctx.state;
  const user = ctx.user!;
  if (!canSeeObject(meta, user, digest)) throw notEntitled();
  let object: VerifiedObject;
  try {
    object = objectCache(ctx.state).read(digest);
  } catch (e) {
    if (e instanceof StoreError && e.code === 'NOT_FOUND') {
      if (user.role === 'admin') throw notFound(`no object ${digest}`);
      throw notEntitled();
    }
    throw e;
  }
  const { res } = ctx;
  // Headers as a flat list: writeHead takes it as is, without walking an object's keys.
  if (ctx.req.headers['if-none-match'] === object.etag) {
    res.writeHead(304, ['etag', object.etag, 'cache-control', IMMUTABLE, 'content-type', OCTETS]);
    res.end();
    return;
  }
  res.writeHead(200, [
    'etag',
    object.etag,
    'cache-control',
    IMMUTABLE,
    'content-type',
    OCTETS,
    'content-length',
    String(object.bytes.length),
  ]);
  res.end(ctx.req.method === 'HEAD' ? undefined : object.bytes);
}

export const objectRoutes: Route[] = [
  {
    method: 'POST',
    path: '/objects/missing',
    access: 'publisher',
    summary: 'Of the digests given ({"digests": [...]}), the ones the server lacks',
    body: 'json',
    responds: { status: 200, kind: 'json', description: '{"missing": [digest, ...]}' },
    handler: missing,
  },
  {
    method: 'PUT',
    path: '/objects/{digest}',
    access: 'publisher',
    summary: 'Upload one object as stored (a chunk in its encoded form); verified against its digest',
    body: 'bytes',
    responds: { status: 201, kind: 'json', description: '{"digest", "size"}; 200 when it was there' },
    handler: upload,
  },
  {
    method: 'GET',
    path: '/objects/{digest}',
    access: 'user',
    summary: 'An object as stored; immutable, ETag = digest. 403 unless a package you may use holds it',
    responds: { status: 200, kind: 'bytes', description: 'the stored bytes' },
    handler: download,
  },
];

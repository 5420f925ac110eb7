/**
 * The console's file pane: single files in and out of the caller's own
 * server-side state of an app (the upper layer cloud sessions run on,
 * DIR/state/<user>/<app>, docs/state-and-settings.md).
 *
 *   GET /state/{app}/files              the files the state holds (what the app wrote, what was uploaded)
 *   GET /state/{app}/file?path=/P       one of them (?inline=1: audio, video and images play in the page)
 *   PUT /state/{app}/file?path=/P       upload: the body becomes /P in the state
 *
 * Only the caller's own state, of an app they are entitled to. A path is
 * checked component by component before it becomes a host path (no `..`,
 * `.`, empty component, NUL, or union marker name), and it is walked with
 * lstat, refusing symlinks, so neither a hostile path nor a symlink the app
 * made can reach outside the state directory. An upload is written to a
 * temporary name beside its target and renamed into place, as the union's
 * own copy-up does; it removes a whiteout that hid a package file of that
 * name, and a directory it creates where the package's was deleted is made
 * opaque, so the upload is exactly what the app then sees.
 *
 * A download is served as an attachment with a fixed, harmless type (and
 * `nosniff` and a sandboxing CSP), never as a page of this origin: a file an
 * app or a user wrote cannot become script on the console's origin.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  writeSync,
  createReadStream,
  type Stats,
} from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { NAME_RE } from '../../package/types.js';
import { StateStore } from '../../delivery/local/state.js';
import { OPAQUE_MARKER, WHITEOUT_PREFIX } from '../../vfs/union-layout.js';
import { canSeeApp } from '../access.js';
import { readBody } from '../body.js';
import { HttpError, badRequest, notEntitled, notFound, sendJson } from '../http-error.js';
import type { RequestContext, Route } from '../router.js';

/** The largest upload the file pane takes. */
export const MAX_UPLOAD_BYTES = 64 * 1024 * 1024;
const MAX_LISTED = 5000;
const TMP_PREFIX = `${WHITEOUT_PREFIX}${WHITEOUT_PREFIX}.tmp.`;

/** Types a download may carry; anything else is application/octet-stream. Never HTML, SVG or script. */
const TYPES: Record<string, string> = {
  wav: 'audio/wav',
  mp3: 'audio/mpeg',
  ogg: 'audio/ogg',
  flac: 'audio/flac',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  mp4: 'video/mp4',
  webm: 'video/webm',
  txt: 'text/plain; charset=utf-8',
  csv: 'text/plain; charset=utf-8',
  json: 'text/plain; charset=utf-8',
  log: 'text/plain; charset=utf-8',
};

function appParam(ctx: RequestContext): string {
  const app = ctx.params.app ?? '';
  if (!NAME_RE.test(app)) throw badRequest('not an app name');
  if (!canSeeApp(ctx.state.meta, ctx.user!, app)) throw notEntitled();
  return app;
}

/** `/a/b.txt` -> ['a', 'b.txt'], or 400 with the reason. */
export function guestPath(value: string | null): string[] {
  if (value === null) throw badRequest('give the file as ?path=/DIR/NAME');
  if (!value.startsWith('/') || value.length > 4096)
    throw badRequest('"path" must be absolute, at most 4096 bytes');
  const parts = value.split('/').slice(1);
  for (const p of parts) {
    if (p === '' || p === '.' || p === '..' || p.includes('\0') || Buffer.byteLength(p) > 255)
      throw badRequest(`"path" has a bad component: ${JSON.stringify(p.slice(0, 80))}`);
    if (p.startsWith(WHITEOUT_PREFIX)) throw badRequest(`"${WHITEOUT_PREFIX}" names are reserved`);
  }
  if (parts.length === 0) throw badRequest('"path" names no file');
  return parts;
}

function lstatOrNull(p: string): Stats | null {
  try {
    return lstatSync(p);
  } catch {
    return null;
  }
}

/** Runs `fn` on the caller's current state generation, leased so a reset cannot pull it away meanwhile. */
function withUpper<T>(ctx: RequestContext, app: string, fn: (dir: string) => T): T {
  const lease = new StateStore(join(ctx.state.dataDir, 'state')).openUpper(ctx.user!.name, app);
  try {
    return fn(lease.dir);
  } finally {
    lease.release();
  }
}

function listFiles(ctx: RequestContext): void {
  const app = appParam(ctx);
  const files = withUpper(ctx, app, (root) => {
    const out: { path: string; size: number; modified: string }[] = [];
    const walk = (dir: string, guest: string) => {
      for (const name of readdirSync(dir).sort()) {
        if (out.length >= MAX_LISTED || name.startsWith(WHITEOUT_PREFIX)) continue;
        const st = lstatOrNull(join(dir, name));
        if (st?.isDirectory()) walk(join(dir, name), `${guest}${name}/`);
        else if (st?.isFile())
          out.push({ path: `${guest}${name}`, size: st.size, modified: st.mtime.toISOString() });
      }
    };
    walk(root, '/');
    return out;
  });
  sendJson(ctx.res, 200, { app, files, truncated: files.length >= MAX_LISTED });
}

async function download(ctx: RequestContext): Promise<void> {
  const app = appParam(ctx);
  const parts = guestPath(ctx.query.get('path'));
  const inline = ctx.query.get('inline') === '1';
  const lease = new StateStore(join(ctx.state.dataDir, 'state')).openUpper(ctx.user!.name, app);
  try {
    let host = lease.dir;
    for (const [i, p] of parts.entries()) {
      host = join(host, p);
      const st = lstatOrNull(host);
      const last = i === parts.length - 1;
      if (!st || (last ? !st.isFile() : !st.isDirectory()))
        throw notFound(`your state of ${app} has no file /${parts.join('/')}`);
    }
    const name = parts[parts.length - 1]!;
    const ext = /\.([A-Za-z0-9]{1,8})$/.exec(name)?.[1]?.toLowerCase() ?? '';
    const type = TYPES[ext] ?? 'application/octet-stream';
    const media = /^(audio|video|image)\//.test(type);
    const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
    ctx.res.writeHead(200, {
      'content-type': type,
      'content-length': lstatSync(host).size,
      'content-disposition': `${inline && media ? 'inline' : 'attachment'}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`,
      'x-content-type-options': 'nosniff',
      'content-security-policy': "default-src 'none'; sandbox",
      'cross-origin-resource-policy': 'same-origin',
      'cache-control': 'no-store',
    });
    if (ctx.req.method === 'HEAD') ctx.res.end();
    else await pipeline(createReadStream(host), ctx.res);
  } finally {
    lease.release();
  }
}

async function upload(ctx: RequestContext): Promise<void> {
  const app = appParam(ctx);
  const parts = guestPath(ctx.query.get('path'));
  const bytes = await readBody(ctx.req, MAX_UPLOAD_BYTES);
  withUpper(ctx, app, (root) => {
    let dir = root;
    for (const p of parts.slice(0, -1)) {
      const next = join(dir, p);
      const st = lstatOrNull(next);
      if (st && !st.isDirectory())
        throw new HttpError(
          409,
          'conflict',
          `/${parts.join('/')}: ${p} is a file in your state, not a folder`,
        );
      if (!st) {
        // A folder the package had, deleted by the app: the new one must not show the old contents.
        const whiteout = join(dir, WHITEOUT_PREFIX + p);
        const wasDeleted = lstatOrNull(whiteout) !== null;
        mkdirSync(next, { mode: 0o755 });
        if (wasDeleted) {
          closeSync(openSync(join(next, OPAQUE_MARKER), 'wx', 0o644));
          rmSync(whiteout, { force: true });
        }
      }
      dir = next;
    }
    const name = parts[parts.length - 1]!;
    const target = join(dir, name);
    const st = lstatOrNull(target);
    if (st && !st.isFile())
      throw new HttpError(409, 'conflict', `/${parts.join('/')} is a folder or a link in your state`);
    const tmp = join(dir, `${TMP_PREFIX}${randomBytes(6).toString('hex')}`);
    const fd = openSync(tmp, 'wx', 0o644);
    try {
      for (let off = 0; off < bytes.length;) off += writeSync(fd, bytes, off, bytes.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      renameSync(tmp, target);
    } catch (e) {
      rmSync(tmp, { force: true });
      throw e;
    }
    rmSync(join(dir, WHITEOUT_PREFIX + name), { force: true });
  });
  sendJson(ctx.res, 201, { app, path: `/${parts.join('/')}`, size: bytes.length });
}

export const fileRoutes: Route[] = [
  {
    method: 'GET',
    path: '/state/{app}/files',
    access: 'user',
    summary: 'The files in your server-side state of an app (what it wrote, what you uploaded)',
    responds: {
      status: 200,
      kind: 'json',
      description: '{"app", "files": [{"path", "size", "modified"}], "truncated"}',
    },
    handler: listFiles,
  },
  {
    method: 'GET',
    path: '/state/{app}/file',
    access: 'user',
    summary: 'Download one file of your state (?path=/P; ?inline=1 lets audio, video and images play)',
    responds: { status: 200, kind: 'bytes', description: 'the file, as an attachment' },
    handler: download,
  },
  {
    method: 'PUT',
    path: '/state/{app}/file',
    access: 'user',
    summary: `Upload a file into your state of an app (?path=/P; at most ${MAX_UPLOAD_BYTES} bytes)`,
    body: 'bytes',
    responds: { status: 201, kind: 'json', description: '{"app", "path", "size"}' },
    handler: upload,
  },
];

/**
 * A user's state on the server, moved as the state archive that `capsule
 * state export|import` reads and writes (delivery/local/state-archive.ts),
 * so state goes between local runs and cloud sessions unchanged. The
 * server's StateStore is DIR/state/<user>/<app>: the same layout, locks,
 * leases and atomic generation swaps as a local $CAPSULE_HOME/state.
 *
 * An upload is streamed to DIR/state-transfer/ with a size limit (413 past
 * it), then verified and imported whole or not at all (422 for a bad
 * archive); a download is exported there, then streamed out. A session
 * running while its state is replaced keeps the generation it started on.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { StateError } from '../../delivery/local/errors.js';
import { StateStore } from '../../delivery/local/state.js';
import { HttpError, sendJson } from '../http-error.js';
import type { RequestContext } from '../router.js';
import { serverHome } from './launch.js';

export const DEFAULT_MAX_STATE_BYTES = 1024 * 1024 * 1024;

function store(ctx: RequestContext): StateStore {
  return new StateStore(serverHome(ctx.state.dataDir).state);
}

function stagingFile(ctx: RequestContext): string {
  const dir = join(ctx.state.dataDir, 'state-transfer');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return join(dir, `${process.pid}-${randomBytes(8).toString('hex')}.state`);
}

function asHttpError(e: unknown): unknown {
  if (!(e instanceof StateError)) return e;
  if (e.code === 'BAD_ARCHIVE') return new HttpError(422, 'bad_archive', e.message);
  return e;
}

export function listState(ctx: RequestContext) {
  return store(ctx)
    .list(ctx.user!.name)
    .map((s) => ({ app: s.app, files: s.files, bytes: s.bytes, whiteouts: s.whiteouts }));
}

export async function exportStateResponse(ctx: RequestContext, app: string): Promise<void> {
  const file = stagingFile(ctx);
  try {
    try {
      store(ctx).exportState(ctx.user!.name, app, file);
    } catch (e) {
      throw asHttpError(e);
    }
    ctx.res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': statSync(file).size,
      'cache-control': 'no-store',
    });
    if (ctx.req.method === 'HEAD') ctx.res.end();
    else await pipeline(createReadStream(file), ctx.res);
  } finally {
    rmSync(file, { force: true });
  }
}

export async function importStateBody(ctx: RequestContext, app: string): Promise<void> {
  const limit = ctx.state.cloud?.maxStateBytes ?? DEFAULT_MAX_STATE_BYTES;
  const tooLarge = () =>
    new HttpError(413, 'too_large', `a state archive may have at most ${limit} bytes on this server`);
  const declared = Number(ctx.req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge();
  const file = stagingFile(ctx);
  try {
    let total = 0;
    let over = false;
    await pipeline(
      ctx.req,
      async function* (source: AsyncIterable<Buffer>) {
        for await (const part of source) {
          total += part.length;
          if (total > limit) {
            over = true;
            throw tooLarge();
          }
          yield part;
        }
      },
      createWriteStream(file, { mode: 0o600 }),
    ).catch((e: unknown) => {
      throw over ? tooLarge() : e;
    });
    let stats;
    try {
      stats = store(ctx).importState(ctx.user!.name, app, file);
    } catch (e) {
      throw asHttpError(e);
    }
    sendJson(ctx.res, 200, { app, ...stats });
  } finally {
    rmSync(file, { force: true });
  }
}

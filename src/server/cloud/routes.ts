/**
 * Cloud sessions and user state over HTTP (the terminal itself is a
 * WebSocket, terminal.ts):
 *
 *   GET  /terminal, /terminal/{id}      426: these are WebSocket endpoints
 *   GET  /sessions                      the caller's sessions
 *   POST /sessions/{id}/end             end one of them
 *   GET  /admin/sessions                every session (admin)
 *   POST /admin/sessions/{id}/end       end any session (admin; audited)
 *   GET  /state                         the caller's state per app
 *   GET  /state/{app}                   the caller's state of APP as a state archive
 *   PUT  /state/{app}                   make an archive the caller's state of APP
 *
 * Nobody reads another user's sessions or state: a user's routes act on
 * the token's user only, and a session id of someone else gets the same
 * 403 as one that does not exist.
 */
import { HttpError, badRequest, notEntitled, notFound, sendJson } from '../http-error.js';
import { canSeeApp } from '../access.js';
import type { RequestContext, Route } from '../router.js';
import { SESSION_ID_RE } from './sessions.js';
import { exportStateResponse, importStateBody, listState } from './state-transfer.js';

function cloud(ctx: RequestContext) {
  const c = ctx.state.cloud;
  if (!c) throw new HttpError(503, 'no_cloud', 'this server runs no cloud sessions');
  return c;
}

function ownSession(ctx: RequestContext) {
  const id = ctx.params.id ?? '';
  if (!SESSION_ID_RE.test(id)) throw badRequest('not a session id');
  const s = cloud(ctx).table.get(id);
  if (!s || s.userId !== ctx.user!.id) throw notEntitled();
  return s;
}

function appParam(ctx: RequestContext): string {
  const app = ctx.params.app ?? '';
  if (!/^[a-z0-9][a-z0-9._-]{0,63}$/.test(app)) throw badRequest('not an app name');
  if (!canSeeApp(ctx.state.meta, ctx.user!, app)) throw notEntitled();
  return app;
}

const upgradeRequired = (ctx: RequestContext) =>
  sendJson(ctx.res, 426, {
    error: 'upgrade_required',
    message: 'this is a WebSocket endpoint (subprotocol capsule.terminal.v1); see docs/cloud.md',
  });

const json = (status: number, description: string) => ({ status, kind: 'json' as const, description });

export const cloudRoutes: Route[] = [
  {
    method: 'GET',
    path: '/terminal',
    access: 'user',
    summary:
      'WebSocket: start a session (?app=NAME[@VERSION]&arg=..&tty=0|1&cols=&rows=) and attach; see docs/cloud.md',
    responds: json(426, 'only as a WebSocket upgrade'),
    handler: upgradeRequired,
  },
  {
    method: 'GET',
    path: '/terminal/{id}',
    access: 'user',
    summary:
      'WebSocket: attach to one of your sessions (?since=N replays what the buffer holds after byte N)',
    responds: json(426, 'only as a WebSocket upgrade'),
    handler: upgradeRequired,
  },
  {
    method: 'GET',
    path: '/sessions',
    access: 'user',
    summary: 'Your cloud sessions',
    responds: json(200, '{"sessions": [...]}'),
    handler: (ctx) => sendJson(ctx.res, 200, { sessions: cloud(ctx).table.list(ctx.user!.id) }),
  },
  {
    method: 'POST',
    path: '/sessions/{id}/end',
    access: 'user',
    summary: 'End one of your sessions',
    responds: json(200, '{"session"}'),
    handler: async (ctx) => {
      const s = ownSession(ctx);
      s.stop('ended', 'ended by its user');
      await s.done;
      sendJson(ctx.res, 200, { session: s.info() });
    },
  },
  {
    method: 'GET',
    path: '/admin/sessions',
    access: 'admin',
    summary: 'Every cloud session on this server',
    responds: json(200, '{"sessions": [...]}'),
    handler: (ctx) => sendJson(ctx.res, 200, { sessions: cloud(ctx).table.list() }),
  },
  {
    method: 'POST',
    path: '/admin/sessions/{id}/end',
    access: 'admin',
    summary: 'End any session (audited)',
    responds: json(200, '{"session"}'),
    handler: async (ctx) => {
      const id = ctx.params.id ?? '';
      if (!SESSION_ID_RE.test(id)) throw badRequest('not a session id');
      const s = cloud(ctx).table.get(id);
      if (!s) throw notFound(`no session ${id}`);
      const wasRunning = s.running;
      ctx.state.meta.audit(ctx.user!.name, 'session.end', {
        id,
        user: s.user,
        app: s.app,
        version: s.version,
        wasRunning,
      });
      s.stop('ended', `ended by the administrator ${ctx.user!.name}`);
      await s.done;
      sendJson(ctx.res, 200, { session: s.info() });
    },
  },
  {
    method: 'GET',
    path: '/state',
    access: 'user',
    summary: 'Your state on this server, per app: files, bytes',
    responds: json(200, '{"state": [...]}'),
    handler: (ctx) => sendJson(ctx.res, 200, { state: listState(ctx) }),
  },
  {
    method: 'GET',
    path: '/state/{app}',
    access: 'user',
    summary: 'Your state of an app, as a state archive (capsule state export format)',
    responds: { status: 200, kind: 'bytes', description: 'the archive (CAPSTAT1)' },
    handler: (ctx) => exportStateResponse(ctx, appParam(ctx)),
  },
  {
    method: 'PUT',
    path: '/state/{app}',
    access: 'user',
    summary: 'Replace your state of an app with a state archive (verified first; atomic)',
    body: 'bytes',
    responds: json(200, '{"app", "entries", "files", "bytes"}'),
    handler: (ctx) => importStateBody(ctx, appParam(ctx)),
  },
];

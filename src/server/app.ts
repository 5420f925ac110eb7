/**
 * The request pipeline: match a route, authenticate, run the handler, and
 * turn whatever it throws into a response. It wires the routes together and
 * does nothing else.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { authenticate } from './auth.js';
import { requireRole } from './access.js';
import { HttpError, badRequest, sendJson } from './http-error.js';
import { openApiDocument } from './openapi.js';
import { RouteTable, requestTarget, type Route, type ServerState } from './router.js';
import { adminRoutes } from './routes/admin.js';
import { browserRoutes } from './routes/browser.js';
import { channelRoutes } from './routes/channels.js';
import { objectRoutes } from './routes/objects.js';
import { packageRoutes } from './routes/packages.js';
import { sessionRoutes } from './routes/session.js';
import { cloudRoutes } from './cloud/index.js';
import { usageRoutes } from './routes/usage.js';
import { consoleRoutes } from './console/index.js';

export const SERVER_API_VERSION = '1.1.0';

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export function createApp(state: ServerState, onError: (e: unknown) => void): Handler {
  const routes: Route[] = [
    {
      method: 'GET',
      path: '/health',
      access: 'public',
      summary: 'Liveness: {"status": "ok"}',
      handler: (ctx) => sendJson(ctx.res, 200, { status: 'ok' }),
    },
    {
      method: 'GET',
      path: '/openapi.json',
      access: 'public',
      summary: 'This document',
      handler: (ctx) => sendJson(ctx.res, 200, doc),
    },
    ...sessionRoutes,
    ...objectRoutes,
    ...packageRoutes,
    ...adminRoutes,
    ...cloudRoutes,
    ...channelRoutes,
    ...usageRoutes,
    ...browserRoutes,
    ...consoleRoutes,
  ];
  const doc = openApiDocument(routes, SERVER_API_VERSION);
  const table = new RouteTable(routes);

  // Synchronous up to the handler, so a handler that does not wait (GET
  // /objects, the busiest) costs no promise.
  const handle = (req: IncomingMessage, res: ServerResponse): Promise<void> | void => {
    const target = requestTarget(req.url ?? '/');
    const found = table.match(req.method ?? 'GET', target.path);
    if (found === 'not_found')
      throw new HttpError(404, 'not_found', `no endpoint ${target.path.slice(0, 200)}`);
    if (found === 'method_not_allowed')
      throw new HttpError(405, 'method_not_allowed', `${req.method} is not allowed here`);
    const { route } = found;
    const params: Record<string, string> = {};
    for (let i = 0; i < found.names.length; i++) {
      const v = found.values[i]!;
      try {
        params[found.names[i]!] = v.includes('%') ? decodeURIComponent(v) : v;
      } catch {
        throw badRequest(`bad percent-encoding in the path`);
      }
    }
    const user = route.access === 'public' ? null : authenticate(req, state.meta);
    if (user && route.access !== 'user' && route.access !== 'public') requireRole(user, route.access);
    return route.handler({ req, res, params, query: target.query, user, state });
  };

  const fail = (req: IncomingMessage, res: ServerResponse, e: unknown): void => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (e instanceof HttpError) {
      // An over-limit body is not drained: the connection is closed instead.
      if (e.status === 413) res.setHeader('connection', 'close');
      e.send(res);
    } else {
      onError(e);
      sendJson(res, 500, { error: 'internal', message: 'the server failed; see its log' });
    }
    // A body the handler did not read is drained, so keep-alive connections stay usable.
    if (!req.readableEnded && !(e instanceof HttpError && e.status === 413)) req.resume();
  };

  return (req, res) => {
    try {
      const pending = handle(req, res);
      if (pending) pending.catch((e: unknown) => fail(req, res, e));
    } catch (e) {
      fail(req, res, e);
    }
  };
}

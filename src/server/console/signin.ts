/**
 * Signing in to the web console with a user name and password, and out.
 *
 *   POST /console/login    {"user", "password"} -> the cookie, {"user", "csrf", "expiresAt"}
 *   GET  /console/session  who is signed in, and the CSRF token the page sends back
 *   POST /console/logout   ends the sign-in and clears the cookie
 *
 * Login takes only a JSON body (a cross-site HTML form cannot send one
 * without a CORS preflight, which this server never grants), and refuses an
 * Origin other than its own, so another site cannot sign a victim in to the
 * attacker's account (login CSRF).
 */
import { userByPassword } from '../auth.js';
import { readJson, stringField } from '../body.js';
import { HttpError, sendJson, unauthorized } from '../http-error.js';
import type { RequestContext, Route } from '../router.js';
import {
  SESSION_TTL_S,
  checkCsrf,
  checkLoginOrigin,
  consoleSessionOf,
  cookieHash,
  cookieValue,
  isHttps,
  newCookieValue,
  newCsrfToken,
  setCookie,
} from './cookie.js';

function secure(ctx: RequestContext): boolean {
  return isHttps(ctx.req, ctx.state.trustProxy ?? false);
}

async function login(ctx: RequestContext): Promise<void> {
  checkLoginOrigin(ctx.req);
  const type = ctx.req.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type))
    throw new HttpError(415, 'unsupported_media_type', 'send the sign-in as application/json');
  const body = await readJson(ctx.req);
  const { meta } = ctx.state;
  const user = userByPassword(meta, stringField(body, 'user'), stringField(body, 'password'));
  if (!user) throw new HttpError(401, 'unauthorized', 'the user name or the password is wrong');
  const value = newCookieValue();
  const csrf = newCsrfToken();
  const expiresAt = new Date(Date.now() + SESSION_TTL_S * 1000).toISOString();
  meta.addConsoleSession(cookieHash(value), user.id, csrf, expiresAt);
  ctx.res.setHeader('set-cookie', setCookie(value, secure(ctx)));
  sendJson(ctx.res, 200, { user, csrf, expiresAt });
}

function session(ctx: RequestContext): void {
  const s = consoleSessionOf(ctx.req, ctx.state.meta);
  if (!s) throw unauthorized();
  sendJson(ctx.res, 200, { user: s.user, csrf: s.csrf, expiresAt: s.expiresAt });
}

function logout(ctx: RequestContext): void {
  const { meta } = ctx.state;
  const s = consoleSessionOf(ctx.req, meta);
  // A live sign-in is ended only by its own page; a stale cookie is just cleared.
  if (s) {
    checkCsrf(ctx.req, s);
    meta.removeConsoleSession(cookieHash(cookieValue(ctx.req)!), new Date().toISOString());
  }
  ctx.res.setHeader('set-cookie', setCookie(null, secure(ctx)));
  sendJson(ctx.res, 200, { signedOut: s !== null });
}

export const signinRoutes: Route[] = [
  {
    method: 'POST',
    path: '/console/login',
    access: 'public',
    summary:
      'Web console sign-in: {"user", "password"} (application/json) sets an HttpOnly, SameSite=Strict cookie',
    body: 'json',
    responds: { status: 200, kind: 'json', description: '{"user", "csrf", "expiresAt"}' },
    handler: login,
  },
  {
    method: 'GET',
    path: '/console/session',
    access: 'public',
    summary:
      'The console sign-in behind the cookie, with its CSRF token (send it as X-CSRF-Token); 401 if none',
    responds: { status: 200, kind: 'json', description: '{"user", "csrf", "expiresAt"}' },
    handler: session,
  },
  {
    method: 'POST',
    path: '/console/logout',
    access: 'public',
    summary: 'Sign out of the console (needs X-CSRF-Token while signed in); clears the cookie',
    responds: { status: 200, kind: 'json', description: '{"signedOut"}' },
    handler: logout,
  },
];

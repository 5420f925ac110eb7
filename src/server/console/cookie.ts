/**
 * The web console's sign-in cookie, and the CSRF rules for requests that
 * carry it (docs/console.md).
 *
 * The cookie holds 32 random bytes (base64url); the server keeps only their
 * SHA-256, like an API token. It is `HttpOnly` (no script reads it),
 * `SameSite=Strict` (no cross-site request carries it), `Path=/`, and
 * `Secure` when the request came over TLS, or through a proxy the server
 * was told to trust (`--trust-proxy`) that says `X-Forwarded-Proto: https`.
 * A Secure cookie is named with the `__Host-` prefix, so a browser refuses
 * it unless it is Secure, host-only and `Path=/`: no sibling subdomain can
 * plant or shadow it.
 *
 * CSRF: every request authenticated by the cookie that may change something
 * (any method but GET and HEAD) must carry `X-CSRF-Token` equal to the
 * sign-in's own token (a synchronizer token, handed to the page by
 * `GET /console/session` and never put in a cookie), and, when the browser
 * sends `Origin`, an Origin whose host is this server's. A WebSocket upgrade
 * is a GET that browsers let any page make with the user's cookies and no
 * CORS check (cross-site WebSocket hijacking), so an upgrade carrying the
 * cookie must send an `Origin` of this server. Requests with a bearer token
 * need none of this: browsers never attach one on their own.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { HttpError } from '../http-error.js';
import type { ConsoleSession, MetadataStore } from '../metadata/types.js';

export const COOKIE = 'capsule_session';
export const SECURE_COOKIE = '__Host-capsule_session';
export const CSRF_HEADER = 'x-csrf-token';
/** A sign-in lasts this long, then the user signs in again (an absolute limit, not an idle one). */
export const SESSION_TTL_S = 12 * 60 * 60;

const VALUE_RE = /^[A-Za-z0-9_-]{43}$/;

export const newCookieValue = () => randomBytes(32).toString('base64url');
export const newCsrfToken = () => randomBytes(32).toString('base64url');
export const cookieHash = (value: string) => createHash('sha256').update(value, 'utf8').digest('hex');

/** The sign-in cookie's value from the Cookie header(s), or null. Other cookies are ignored. */
export function cookieValue(req: IncomingMessage): string | null {
  const header = req.headers.cookie;
  if (typeof header !== 'string' || header.length > 8192) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if ((name === SECURE_COOKIE || name === COOKIE) && VALUE_RE.test(value)) return value;
  }
  return null;
}

/** True when the browser reached us over https (directly, or via a trusted proxy). */
export function isHttps(req: IncomingMessage, trustProxy: boolean): boolean {
  if ((req.socket as { encrypted?: boolean }).encrypted) return true;
  if (!trustProxy) return false;
  const proto = req.headers['x-forwarded-proto'];
  return typeof proto === 'string' && proto.split(',')[0]!.trim().toLowerCase() === 'https';
}

/** Set-Cookie for a new sign-in, or (`value` null) for clearing it. */
export function setCookie(value: string | null, secure: boolean): string[] {
  const attrs = (name: string, v: string, maxAge: number) =>
    `${name}=${v}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${secure || name === SECURE_COOKIE ? '; Secure' : ''}`;
  const name = secure ? SECURE_COOKIE : COOKIE;
  if (value !== null) return [attrs(name, value, SESSION_TTL_S)];
  // Clearing: both names, so a sign-out over https also drops an old plain-http cookie.
  return secure ? [attrs(SECURE_COOKIE, '', 0), attrs(COOKIE, '', 0)] : [attrs(COOKIE, '', 0)];
}

const csrfRefused = (why: string) =>
  new HttpError(
    403,
    'csrf',
    `${why}; a console request that changes something must come from the console's own page`,
  );

/** The host part of an Origin header when it is this server's (by the Host header); null when absent. */
function originMatches(req: IncomingMessage): boolean | null {
  const origin = req.headers.origin;
  if (origin === undefined) return null;
  if (typeof origin !== 'string' || origin === 'null') return false;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

/** Refuses a login from another site's page (login CSRF): only a missing or own Origin is accepted. */
export function checkLoginOrigin(req: IncomingMessage): void {
  if (originMatches(req) === false) throw csrfRefused('the request came from another origin');
}

/** Enforces the CSRF rules above on a request authenticated by the cookie of `session`. */
export function checkCsrf(req: IncomingMessage, session: ConsoleSession): void {
  const origin = originMatches(req);
  if (req.headers.upgrade !== undefined) {
    if (origin !== true) throw csrfRefused('a WebSocket upgrade with the console cookie needs this origin');
    return;
  }
  const method = req.method ?? 'GET';
  if (method === 'GET' || method === 'HEAD') return;
  if (origin === false) throw csrfRefused('the request came from another origin');
  const sent = req.headers[CSRF_HEADER];
  const want = Buffer.from(session.csrf);
  const got = Buffer.from(typeof sent === 'string' ? sent : '');
  if (got.length !== want.length || !timingSafeEqual(got, want))
    throw csrfRefused(`the ${CSRF_HEADER} header is missing or wrong`);
}

/** The live console sign-in behind the request's cookie, or null. */
export function consoleSessionOf(req: IncomingMessage, meta: MetadataStore): ConsoleSession | null {
  const value = cookieValue(req);
  return value ? meta.consoleSession(cookieHash(value), new Date().toISOString()) : null;
}

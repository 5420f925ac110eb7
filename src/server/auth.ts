/**
 * Passwords and API tokens.
 *
 * Passwords are hashed with scrypt (node:crypto; N=2^15, r=8, p=1, 16-byte
 * salt, 32-byte key) and compared in constant time. Tokens are 32 random
 * bytes, base64url, prefixed `cap_` so they are recognisable in a leak scan.
 * A token has 256 bits of entropy, so it is stored as its SHA-256: a slow
 * hash would add nothing but latency to every request.
 */
import * as crypto from 'node:crypto';
import { createHash, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { MetadataStore, PasswordRecord, User } from './metadata/types.js';
import { DecisionCache, cacheFor } from './decision-cache.js';
import { unauthorized } from './http-error.js';
import { checkCsrf, consoleSessionOf } from './console/cookie.js';

const SCRYPT = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const PARAMS = `scrypt:N=${SCRYPT.N},r=${SCRYPT.r},p=${SCRYPT.p}`;

export function hashPassword(password: string): PasswordRecord {
  const salt = randomBytes(16);
  const hash = scryptSync(password, salt, 32, SCRYPT);
  return { salt: salt.toString('base64'), hash: hash.toString('base64'), params: PARAMS };
}

export function checkPassword(password: string, record: PasswordRecord): boolean {
  if (record.params !== PARAMS) return false;
  const want = Buffer.from(record.hash, 'base64');
  const got = scryptSync(password, Buffer.from(record.salt, 'base64'), want.length, SCRYPT);
  return got.length === want.length && timingSafeEqual(got, want);
}

/** Checked against when the user does not exist, so both failures cost the same scrypt work. */
const DUMMY = hashPassword('not a real password');

/**
 * The user named `name` when `password` is theirs, else null. An unknown
 * user, one without a password and a wrong password all cost the same
 * scrypt work, so the answer's timing does not tell them apart.
 */
export function userByPassword(meta: MetadataStore, name: string, password: string): User | null {
  const user = name.length <= 64 ? meta.userByName(name) : null;
  const record = user ? meta.password(user.id) : null;
  const ok = password.length <= 1024 && checkPassword(password, record ?? DUMMY);
  return user && record && ok ? user : null;
}

export function newToken(): string {
  return `cap_${randomBytes(32).toString('base64url')}`;
}

/**
 * The one-shot `crypto.hash` (Node 20.12 and later) where there is one: it is a
 * third of createHash's cost, and this runs on every request.
 */
const oneShot = typeof crypto.hash === 'function' ? crypto.hash : null;

export function tokenHash(token: string): string {
  return oneShot ? oneShot('sha256', token, 'hex') : createHash('sha256').update(token, 'utf8').digest('hex');
}

const BEARER_RE = /^Bearer ([A-Za-z0-9_\-.~+/=]{1,512})$/;

/**
 * The user behind the request: its bearer token, or else the web console's
 * sign-in cookie, which must also pass the CSRF rules (console/cookie.ts).
 * 401 when there is neither, or the one given is unknown or expired.
 */
export function authenticate(req: IncomingMessage, meta: MetadataStore): User {
  const header = req.headers.authorization;
  if (header === undefined) {
    const session = consoleSessionOf(req, meta);
    if (!session) throw unauthorized();
    checkCsrf(req, session);
    return session.user;
  }
  const hash = bearerHash(req, header);
  const user = cacheFor(tokenUsers, meta).get(meta, hash, () => meta.userByTokenHash(hash));
  if (!user) throw unauthorized();
  return user;
}

const tokenUsers = new WeakMap<MetadataStore, DecisionCache<User | null>>();

/**
 * The last Authorization header a connection carried and its token's hash: a
 * keep-alive client sends the same header on every request, and hashing it
 * again was a twentieth of the object route's CPU. Kept per connection, so a
 * token stays in memory no longer than the connection that carries it; who
 * the hash belongs to is still looked up (through the decision cache) on
 * every request.
 */
const lastBearer = new WeakMap<object, { header: string; hash: string }>();

function bearerHash(req: IncomingMessage, header: string): string {
  const last = lastBearer.get(req.socket);
  if (last && last.header === header) return last.hash;
  const m = BEARER_RE.exec(header);
  if (!m) throw unauthorized();
  const hash = tokenHash(m[1]!);
  lastBearer.set(req.socket, { header, hash });
  return hash;
}

/** Logging in with a password, and asking who a token belongs to. */
import { newToken, tokenHash, userByPassword } from '../auth.js';
import { readJson, stringField } from '../body.js';
import { sendJson, unauthorized } from '../http-error.js';
import type { RequestContext, Route } from '../router.js';

async function login(ctx: RequestContext): Promise<void> {
  const body = await readJson(ctx.req);
  const { meta } = ctx.state;
  // The same 401, after the same scrypt work, for an unknown user and a wrong password.
  const user = userByPassword(meta, stringField(body, 'user'), stringField(body, 'password'));
  if (!user) throw unauthorized();
  const token = newToken();
  meta.addToken(user.id, tokenHash(token), 'login');
  sendJson(ctx.res, 201, { user, token });
}

function whoami(ctx: RequestContext): void {
  sendJson(ctx.res, 200, { user: ctx.user });
}

export const sessionRoutes: Route[] = [
  {
    method: 'POST',
    path: '/auth/login',
    access: 'public',
    summary: 'Trade a user name and password for a new API token: {"user", "password"}',
    body: 'json',
    responds: { status: 201, kind: 'json', description: '{"user", "token"}' },
    handler: login,
  },
  {
    method: 'GET',
    path: '/whoami',
    access: 'user',
    summary: 'The user behind the token',
    responds: { status: 200, kind: 'json', description: '{"user"}' },
    handler: whoami,
  },
];

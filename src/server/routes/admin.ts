/**
 * Administration: users, groups and grants, and the audit log. Every change
 * is written to the audit log in the same transaction as the change itself.
 */
import { NAME_RE } from '../../package/types.js';
import { hashPassword, newToken, tokenHash } from '../auth.js';
import { readJson, optionalString, stringField } from '../body.js';
import { HttpError, badRequest, notFound, sendJson } from '../http-error.js';
import { ROLES, type Grant, type Role } from '../metadata/types.js';
import type { RequestContext, Route } from '../router.js';

/** User and group names: like package names (they appear in grants and logs). */
export const SUBJECT_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;

async function addUser(ctx: RequestContext): Promise<void> {
  const body = await readJson(ctx.req);
  const name = stringField(body, 'name', SUBJECT_RE);
  const role = (optionalString(body, 'role') ?? 'user') as Role;
  if (!ROLES.includes(role)) throw badRequest(`"role" must be one of ${ROLES.join(', ')}`);
  const password = optionalString(body, 'password');
  if (password !== undefined && (password.length < 8 || password.length > 1024))
    throw badRequest('a password has 8 to 1024 characters');
  const { meta } = ctx.state;
  if (meta.userByName(name)) throw new HttpError(409, 'conflict', `user ${name} exists`);
  const token = newToken();
  const record = password === undefined ? null : hashPassword(password);
  const user = meta.transaction(() => {
    const u = meta.createUser(name, role, record);
    meta.addToken(u.id, tokenHash(token), 'created by admin');
    meta.audit(ctx.user!.name, 'user.add', { name, role });
    return u;
  });
  sendJson(ctx.res, 201, { user, token });
}

function listUsers(ctx: RequestContext): void {
  sendJson(ctx.res, 200, { users: ctx.state.meta.users() });
}

async function addGroup(ctx: RequestContext): Promise<void> {
  const body = await readJson(ctx.req);
  const name = stringField(body, 'name', SUBJECT_RE);
  const members = body.members ?? [];
  if (!Array.isArray(members) || members.some((m) => typeof m !== 'string'))
    throw badRequest('"members" must be an array of user names');
  const { meta } = ctx.state;
  const users = (members as string[]).map((m) => {
    const u = meta.userByName(m);
    if (!u) throw badRequest(`no user ${JSON.stringify(m.slice(0, 64))}`);
    return u;
  });
  meta.transaction(() => {
    if (!meta.hasGroup(name)) meta.createGroup(name);
    for (const u of users) meta.addMember(name, u.id);
    meta.audit(ctx.user!.name, 'group.add', { name, members });
  });
  sendJson(ctx.res, 200, { group: meta.groups().find((g) => g.name === name) });
}

function listGroups(ctx: RequestContext): void {
  sendJson(ctx.res, 200, { groups: ctx.state.meta.groups() });
}

async function grantFromBody(ctx: RequestContext): Promise<Grant> {
  const body = await readJson(ctx.req);
  const app = stringField(body, 'app', NAME_RE);
  const user = optionalString(body, 'user', SUBJECT_RE);
  const group = optionalString(body, 'group', SUBJECT_RE);
  if ((user === undefined) === (group === undefined))
    throw badRequest('give exactly one of "user" and "group"');
  const { meta } = ctx.state;
  if (user !== undefined && !meta.userByName(user)) throw notFound(`no user ${user}`);
  if (group !== undefined && !meta.hasGroup(group)) throw notFound(`no group ${group}`);
  return user !== undefined ? { app, kind: 'user', subject: user } : { app, kind: 'group', subject: group! };
}

async function grant(ctx: RequestContext): Promise<void> {
  const g = await grantFromBody(ctx);
  const { meta } = ctx.state;
  const added = meta.transaction(() => {
    const a = meta.addGrant(g);
    meta.audit(ctx.user!.name, 'grant.add', { ...g });
    return a;
  });
  sendJson(ctx.res, added ? 201 : 200, { grant: g });
}

async function revoke(ctx: RequestContext): Promise<void> {
  const g = await grantFromBody(ctx);
  const { meta } = ctx.state;
  const removed = meta.transaction(() => {
    const r = meta.removeGrant(g);
    meta.audit(ctx.user!.name, 'grant.revoke', { ...g, existed: r });
    return r;
  });
  sendJson(ctx.res, 200, { grant: g, removed });
}

function listGrants(ctx: RequestContext): void {
  sendJson(ctx.res, 200, { grants: ctx.state.meta.grants() });
}

function audit(ctx: RequestContext): void {
  const limit = Math.min(10_000, Math.max(1, Number(ctx.query.get('limit') ?? 1000) || 1000));
  sendJson(ctx.res, 200, { entries: ctx.state.meta.auditLog(limit) });
}

const json = (status: number, description: string) => ({ status, kind: 'json' as const, description });

export const adminRoutes: Route[] = [
  {
    method: 'POST',
    path: '/admin/users',
    access: 'admin',
    summary: 'Add a user: {"name", "role": admin|publisher|user, "password"?}; returns their first token',
    body: 'json',
    responds: json(201, '{"user", "token"}'),
    handler: addUser,
  },
  {
    method: 'GET',
    path: '/admin/users',
    access: 'admin',
    summary: 'List users',
    responds: json(200, '{"users": [...]}'),
    handler: listUsers,
  },
  {
    method: 'POST',
    path: '/admin/groups',
    access: 'admin',
    summary: 'Create a group or add members: {"name", "members": [user, ...]}',
    body: 'json',
    responds: json(200, '{"group"}'),
    handler: addGroup,
  },
  {
    method: 'GET',
    path: '/admin/groups',
    access: 'admin',
    summary: 'List groups and their members',
    responds: json(200, '{"groups": [...]}'),
    handler: listGroups,
  },
  {
    method: 'POST',
    path: '/admin/grants',
    access: 'admin',
    summary: 'Entitle a user or a group to an app: {"app", "user" | "group"}',
    body: 'json',
    responds: json(201, '{"grant"}; 200 when it existed'),
    handler: grant,
  },
  {
    method: 'POST',
    path: '/admin/grants/revoke',
    access: 'admin',
    summary: 'Withdraw an entitlement: {"app", "user" | "group"}',
    body: 'json',
    responds: json(200, '{"grant", "removed"}'),
    handler: revoke,
  },
  {
    method: 'GET',
    path: '/admin/grants',
    access: 'admin',
    summary: 'List entitlements',
    responds: json(200, '{"grants": [...]}'),
    handler: listGrants,
  },
  {
    method: 'GET',
    path: '/admin/audit',
    access: 'admin',
    summary: 'The audit log, oldest first (?limit=N, the last N; default 1000)',
    responds: json(200, '{"entries": [{"id", "at", "actor", "action", "detail"}]}'),
    handler: audit,
  },
];

/**
 * Usage: clients report launches (streamed runs at once, local runs of
 * server packages from their spool on the next contact), admins read them
 * counted per app, version, user and mode. A report is checked as a whole
 * and recorded in one transaction: every launch must name a mode the server
 * knows, an app the caller may use and a version that exists (the same 403
 * for "not entitled" and "no such version", as everywhere), and the caller's
 * own name if it names a user at all. A launch id already recorded for the
 * caller is skipped, so a client may resend a report it is unsure about.
 */
import { NAME_RE, SEMVER_RE } from '../../package/types.js';
import { canSeeApp } from '../access.js';
import { optionalString, readJson } from '../body.js';
import { badRequest, forbidden, notEntitled, notFound, sendJson } from '../http-error.js';
import { LAUNCH_MODES, type Launch, type LaunchMode } from '../metadata/types.js';
import type { RequestContext, Route } from '../router.js';

export const MAX_LAUNCHES_PER_REPORT = 1000;
const LAUNCH_ID_RE = /^[A-Za-z0-9_-]{8,64}$/;
/** How far ahead of the server's clock a launch may claim to be (clock skew). */
const FUTURE_SLACK_MS = 10 * 60_000;

function instant(value: string, field: string): string {
  const ms = value.length <= 40 ? Date.parse(value) : NaN;
  if (!Number.isFinite(ms)) throw badRequest(`"${field}" must be a date and time (ISO 8601)`);
  return new Date(ms).toISOString();
}

function launchFrom(ctx: RequestContext, value: unknown, i: number): Launch {
  const user = ctx.user!;
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw badRequest(`launches[${i}] must be an object`);
  const o = value as Record<string, unknown>;
  const field = (name: string, re: RegExp): string => {
    const v = o[name];
    if (typeof v !== 'string' || !re.test(v))
      throw badRequest(`launches[${i}].${name} is missing or not valid`);
    return v;
  };
  const id = field('id', LAUNCH_ID_RE);
  const app = field('app', NAME_RE);
  const version = field('version', SEMVER_RE);
  const mode = o.mode;
  if (typeof mode !== 'string' || !(LAUNCH_MODES as readonly string[]).includes(mode))
    throw badRequest(`launches[${i}].mode must be one of ${LAUNCH_MODES.join(', ')}`);
  if (typeof o.at !== 'string') throw badRequest(`launches[${i}].at must be a string`);
  const at = instant(o.at, `launches[${i}].at`);
  if (Date.parse(at) > Date.now() + FUTURE_SLACK_MS) throw badRequest(`launches[${i}].at is in the future`);
  if (o.user !== undefined && o.user !== user.name) throw forbidden('you may report only your own launches');
  const { meta } = ctx.state;
  if (!canSeeApp(meta, user, app)) throw notEntitled();
  if (!meta.packageByRef(app, version)) {
    if (user.role === 'admin') throw notFound(`no package ${app}@${version}`);
    throw notEntitled();
  }
  return { id, user: user.name, app, version, mode: mode as LaunchMode, at };
}

async function report(ctx: RequestContext): Promise<void> {
  const body = await readJson(ctx.req);
  const list = body.launches;
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_LAUNCHES_PER_REPORT)
    throw badRequest(`"launches" must be an array of 1 to ${MAX_LAUNCHES_PER_REPORT} launches`);
  const launches = list.map((l, i) => launchFrom(ctx, l, i));
  const { meta } = ctx.state;
  const recorded = meta.transaction(() => launches.filter((l) => meta.addLaunch(l)).length);
  sendJson(ctx.res, 200, { recorded, duplicates: launches.length - recorded });
}

function usage(ctx: RequestContext): void {
  const app = ctx.query.get('app') ?? undefined;
  if (app !== undefined && !NAME_RE.test(app)) throw badRequest('"app" is not an app name');
  const since = optionalString({ since: ctx.query.get('since') ?? undefined }, 'since');
  sendJson(ctx.res, 200, {
    usage: ctx.state.meta.usage({ app, since: since === undefined ? undefined : instant(since, 'since') }),
  });
}

export const usageRoutes: Route[] = [
  {
    method: 'POST',
    path: '/usage',
    access: 'user',
    summary: `Report your launches: {"launches": [{"id", "app", "version", "mode": ${LAUNCH_MODES.join('|')}, "at"}]} (at most ${MAX_LAUNCHES_PER_REPORT}); all or none are recorded`,
    body: 'json',
    responds: { status: 200, kind: 'json', description: '{"recorded", "duplicates"}' },
    handler: report,
  },
  {
    method: 'GET',
    path: '/admin/usage',
    access: 'admin',
    summary: 'Launches per app, version, user and mode (?app=NAME, ?since=ISO-8601)',
    responds: {
      status: 200,
      kind: 'json',
      description: '{"usage": [{"app", "version", "user", "mode", "launches", "first", "last"}]}',
    },
    handler: usage,
  },
];

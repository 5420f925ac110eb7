/**
 * Channels and yanking (admin). A channel (`stable`, `beta`, or any valid
 * name) points at one version of an app; promote moves it, rollback moves it
 * back, and a yanked version is never what a channel, a range or "latest"
 * selects (channels.ts, delivery/remote/select.ts). Every change is audited
 * in the transaction that makes it.
 */
import { NAME_RE, SEMVER_RE } from '../../package/types.js';
import { isChannelName, latestVersion } from '../../delivery/remote/select.js';
import { optionalBoolean, readJson, stringField } from '../body.js';
import { channelMap, currentVersion, rollbackPlan } from '../channels.js';
import { HttpError, badRequest, notFound, sendJson } from '../http-error.js';
import type { Channel, MetadataStore } from '../metadata/types.js';
import type { RequestContext, Route } from '../router.js';

const conflict = (message: string) => new HttpError(409, 'conflict', message);

function appParam(ctx: RequestContext): string {
  const name = ctx.params.name ?? '';
  if (!NAME_RE.test(name)) throw badRequest(`not an app name: ${JSON.stringify(name.slice(0, 80))}`);
  if (!ctx.state.meta.packages().some((p) => p.name === name)) throw notFound(`no app ${name}`);
  return name;
}

function channelParam(ctx: RequestContext): string {
  const channel = ctx.params.channel ?? '';
  if (!isChannelName(channel))
    throw badRequest(
      `not a channel name: ${JSON.stringify(channel.slice(0, 80))} (2-32 of a-z, 0-9 and "-", starting with a letter; not "latest" or a version range)`,
    );
  return channel;
}

function versionParam(ctx: RequestContext, app: string, value: string): string {
  if (!SEMVER_RE.test(value)) throw badRequest(`not a version: ${JSON.stringify(value.slice(0, 80))}`);
  if (!ctx.state.meta.packageByRef(app, value)) throw notFound(`no package ${app}@${value}`);
  return value;
}

const yankedSet = (meta: MetadataStore, app: string) => new Set(meta.yanked(app).map((y) => y.version));

/** GET /admin/apps/{app}/channels: an app's channels, yanked versions, and what a client without a channel gets. */
export interface ChannelsView {
  app: string;
  channels: {
    name: string;
    version: string | null;
    history: { version: string; at: string; by: string; rolledBackAt: string | null }[];
  }[];
  yanked: string[];
  latest: string | null;
  default: string | null;
}

/** An app's channels as the admin API shows them, with what a client without a channel gets. */
function describeChannels(meta: MetadataStore, app: string): ChannelsView {
  const yanked = yankedSet(meta, app);
  const channels = meta.channels(app);
  const versions = meta
    .packages()
    .filter((p) => p.name === app)
    .map((p) => ({ version: p.version, digest: p.digest, yanked: yanked.has(p.version) }));
  const map = channelMap(channels, app, yanked);
  return {
    app,
    channels: channels.map((c: Channel) => ({
      name: c.name,
      version: currentVersion(c, yanked),
      history: c.entries.map(({ version, at, by, rolledBackAt }) => ({ version, at, by, rolledBackAt })),
    })),
    yanked: [...yanked],
    latest: latestVersion({ name: app, versions }),
    default: map.stable ?? latestVersion({ name: app, versions }),
  };
}

function listChannels(ctx: RequestContext): void {
  sendJson(ctx.res, 200, describeChannels(ctx.state.meta, appParam(ctx)));
}

async function promote(ctx: RequestContext): Promise<void> {
  const app = appParam(ctx);
  const channel = channelParam(ctx);
  const body = await readJson(ctx.req);
  const version = versionParam(ctx, app, stringField(body, 'version'));
  const { meta } = ctx.state;
  const actor = ctx.user!.name;
  const changed = meta.transaction(() => {
    if (yankedSet(meta, app).has(version))
      throw conflict(`${app}@${version} is yanked; un-yank it before promoting it`);
    const c = meta.channels(app).find((x) => x.name === channel);
    const from = c ? currentVersion(c, yankedSet(meta, app)) : null;
    const moved = from !== version;
    if (moved) meta.addChannelEntry(app, channel, version, actor);
    meta.audit(actor, 'channel.promote', { app, channel, version, from, changed: moved });
    return moved;
  });
  sendJson(ctx.res, 200, { ...describeChannels(meta, app), changed });
}

function rollback(ctx: RequestContext): void {
  const app = appParam(ctx);
  const channel = channelParam(ctx);
  const { meta } = ctx.state;
  const actor = ctx.user!.name;
  const moved = meta.transaction(() => {
    const c = meta.channels(app).find((x) => x.name === channel);
    if (!c) throw notFound(`${app} has no channel ${channel}`);
    const plan = rollbackPlan(c, yankedSet(meta, app));
    if (!plan)
      throw conflict(`${app}'s channel ${channel} has no earlier version to go back to (see its history)`);
    meta.markRolledBack(plan.retire, new Date().toISOString());
    meta.audit(actor, 'channel.rollback', { app, channel, from: plan.from, to: plan.to });
    return plan;
  });
  sendJson(ctx.res, 200, { ...describeChannels(meta, app), from: moved.from, to: moved.to });
}

async function yank(ctx: RequestContext): Promise<void> {
  const app = appParam(ctx);
  const version = versionParam(ctx, app, ctx.params.version ?? '');
  const body = await readJson(ctx.req, { allowEmpty: true });
  const yanked = optionalBoolean(body, 'yanked') ?? true;
  const { meta } = ctx.state;
  const actor = ctx.user!.name;
  const changed = meta.transaction(() => {
    const c = meta.setYanked(app, version, yanked, actor);
    meta.audit(actor, yanked ? 'package.yank' : 'package.unyank', { app, version, changed: c });
    return c;
  });
  sendJson(ctx.res, 200, { ...describeChannels(meta, app), version, changed });
}

const json = (description: string) => ({ status: 200, kind: 'json' as const, description });
const CHANNELS_DOC =
  '{"app", "channels": [{"name", "version", "history": [{"version", "at", "by", "rolledBackAt"}]}], "yanked", "latest", "default"}';

export const channelRoutes: Route[] = [
  {
    method: 'GET',
    path: '/admin/apps/{name}/channels',
    access: 'admin',
    summary: "An app's channels, each with the version it points at and its history; yanked versions",
    responds: json(CHANNELS_DOC),
    handler: listChannels,
  },
  {
    method: 'POST',
    path: '/admin/apps/{name}/channels/{channel}',
    access: 'admin',
    summary: 'Promote: point the channel at a version, {"version"}; a yanked version is refused (409)',
    body: 'json',
    responds: json(`${CHANNELS_DOC} + "changed"`),
    handler: promote,
  },
  {
    method: 'POST',
    path: '/admin/apps/{name}/channels/{channel}/rollback',
    access: 'admin',
    summary: 'Point the channel back at the version it pointed at before; 409 when there is none',
    responds: json(`${CHANNELS_DOC} + "from", "to"`),
    handler: rollback,
  },
  {
    method: 'POST',
    path: '/admin/apps/{name}/versions/{version}/yank',
    access: 'admin',
    summary:
      'Yank a version ({"yanked": false} restores it): no channel, range or "latest" selects it any more',
    body: 'json',
    responds: json(`${CHANNELS_DOC} + "version", "changed"`),
    handler: yank,
  },
];

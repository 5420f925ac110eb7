/** `capsule admin promote|rollback|yank|channels|usage`: an app's channels, yanked versions and usage. */
import type { RemoteClient } from '../../delivery/remote/client.js';
import { isChannelName } from '../../delivery/remote/select.js';
import { parsePackageRef } from '../../delivery/local/resolve.js';
import { SEMVER_RE } from '../../package/types.js';
import type { UsageRow } from '../../server/metadata/types.js';
import type { ChannelsView } from '../../server/routes/channels.js';
import { CliError } from '../errors.js';

export interface AdminAppArgs {
  positionals: string[];
  channel?: string;
  undo?: boolean;
  app?: string;
  since?: string;
  usage: (message: string) => CliError;
  out: (value: unknown, text: () => string) => void;
}

const path = (...parts: string[]) => parts.map(encodeURIComponent).join('/');

function nameAtVersion(spec: string | undefined, usage: AdminAppArgs['usage'], cmd: string) {
  const ref = spec ? parsePackageRef(spec) : null;
  if (!ref || ref.range === undefined || !SEMVER_RE.test(ref.range))
    throw usage(`expected: ${cmd} NAME@VERSION (an exact version, like sqlite@1.2.0)`);
  return { name: ref.name, version: ref.range };
}

function appName(spec: string | undefined, usage: AdminAppArgs['usage'], cmd: string): string {
  const ref = spec ? parsePackageRef(spec) : null;
  if (!ref || ref.range !== undefined) throw usage(`expected: ${cmd} NAME`);
  return ref.name;
}

function channelOption(channel: string | undefined, usage: AdminAppArgs['usage']): string {
  if (channel === undefined) throw usage('--channel C is required (stable, beta, ...)');
  if (!isChannelName(channel))
    throw usage(
      `--channel ${channel}: not a channel name (2-32 of a-z, 0-9 and "-", starting with a letter; not "latest" or a version range)`,
    );
  return channel;
}

export function formatChannels(v: ChannelsView): string {
  const lines: string[] = [];
  for (const c of v.channels) {
    lines.push(`${c.name.padEnd(12)}${c.version ?? '(none: every version it had is rolled back or yanked)'}`);
    for (const h of c.history) {
      const notes = [
        h.rolledBackAt ? `rolled back ${h.rolledBackAt}` : '',
        v.yanked.includes(h.version) ? 'yanked' : '',
      ].filter(Boolean);
      lines.push(
        `  ${h.version.padEnd(14)}${h.at}  by ${h.by}${notes.length ? `  (${notes.join(', ')})` : ''}`,
      );
    }
  }
  if (v.channels.length === 0) lines.push(`${v.app} has no channels`);
  if (v.yanked.length > 0) lines.push(`yanked: ${v.yanked.join(', ')}`);
  lines.push(
    `${v.app} with no version or channel gets: ${v.default ?? '(nothing: every version is yanked)'}`,
  );
  return lines.join('\n');
}

function formatUsage(rows: UsageRow[]): string {
  if (rows.length === 0) return 'no launches reported';
  const head = ['APP', 'VERSION', 'USER', 'MODE', 'LAUNCHES', 'LAST'];
  const table = [head, ...rows.map((r) => [r.app, r.version, r.user, r.mode, String(r.launches), r.last])];
  const widths = head.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  return table
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i]! + 2))
        .join('')
        .trimEnd(),
    )
    .join('\n');
}

/** `--since`: an ISO date or time, or a span back from now: 30m, 12h, 7d. */
export function parseSince(since: string, usage: AdminAppArgs['usage']): string {
  const span = /^(\d{1,6})([mhd])$/.exec(since);
  if (span) {
    const unit = { m: 60_000, h: 3_600_000, d: 86_400_000 }[span[2] as 'm' | 'h' | 'd'];
    return new Date(Date.now() - Number(span[1]) * unit).toISOString();
  }
  const ms = /^\d{4}-\d{2}-\d{2}/.test(since) ? Date.parse(since) : NaN;
  if (!Number.isFinite(ms))
    throw usage(`--since ${since}: expected a date (2026-01-31), a time, or 30m, 12h, 7d`);
  return new Date(ms).toISOString();
}

/** Runs one of these admin commands; false when `cmd` is none of them. */
export async function adminApps(client: RemoteClient, cmd: string, a: AdminAppArgs): Promise<boolean> {
  const [, target, extra] = a.positionals;
  if (['promote', 'rollback', 'yank', 'channels'].includes(cmd) && extra !== undefined)
    throw a.usage(`unexpected argument: ${extra}`);
  if (cmd === 'promote') {
    const { name, version } = nameAtVersion(target, a.usage, 'promote');
    const channel = channelOption(a.channel, a.usage);
    const r = await client.json<ChannelsView & { changed: boolean }>(
      'POST',
      `/admin/apps/${path(name, 'channels', channel)}`,
      { version },
    );
    a.out(r, () =>
      r.changed
        ? `${name} ${channel} -> ${version}`
        : `${name} ${channel} already points at ${version}; nothing changed`,
    );
  } else if (cmd === 'rollback') {
    const name = appName(target, a.usage, 'rollback');
    const channel = channelOption(a.channel, a.usage);
    const r = await client.json<ChannelsView & { from: string; to: string }>(
      'POST',
      `/admin/apps/${path(name, 'channels', channel, 'rollback')}`,
    );
    a.out(r, () => `${name} ${channel}: ${r.from} -> ${r.to} (rolled back)`);
  } else if (cmd === 'yank') {
    const { name, version } = nameAtVersion(target, a.usage, 'yank');
    const r = await client.json<ChannelsView & { changed: boolean }>(
      'POST',
      `/admin/apps/${path(name, 'versions', version, 'yank')}`,
      { yanked: !a.undo },
    );
    const state = a.undo ? 'no longer yanked' : 'yanked';
    a.out(
      r,
      () => `${name}@${version} ${r.changed ? 'is now' : 'already was'} ${state}\n${formatChannels(r)}`,
    );
  } else if (cmd === 'channels') {
    const name = appName(target, a.usage, 'channels');
    const r = await client.json<ChannelsView>('GET', `/admin/apps/${path(name, 'channels')}`);
    a.out(r, () => formatChannels(r));
  } else if (cmd === 'usage') {
    if (target !== undefined) throw a.usage(`unexpected argument: ${target} (use --app)`);
    const query = new URLSearchParams();
    if (a.app !== undefined) query.set('app', a.app);
    if (a.since !== undefined) query.set('since', parseSince(a.since, a.usage));
    const q = query.toString() ? `?${query.toString()}` : '';
    const r = await client.json<{ usage: UsageRow[] }>('GET', `/admin/usage${q}`);
    a.out(r, () => formatUsage(r.usage));
  } else {
    return false;
  }
  return true;
}

/** Admin: live cloud sessions, usage charts, and the audit log. */
import { ApiError, enc, get, post } from './api.js';
import { announce, formatTime, h, table } from './dom.js';
import { barChart, type BarRow } from './chart.js';
import type { SessionInfo } from './catalog.js';
import type { PageContext } from './main.js';
import type { UsageRow } from '../../server/metadata/types.js';

const rerender = () => window.dispatchEvent(new HashChangeEvent('hashchange'));

export async function sessionsPage(ctx: PageContext): Promise<void> {
  ctx.main.append(h('h1', {}, 'Live sessions'));
  let sessions: (SessionInfo & Record<string, unknown>)[];
  try {
    sessions = (await get<{ sessions: (SessionInfo & Record<string, unknown>)[] }>('/admin/sessions'))
      .sessions;
  } catch (e) {
    if (e instanceof ApiError && (e.status === 404 || e.status === 503)) {
      ctx.main.append(h('p', { class: 'card empty' }, 'This server runs no cloud sessions.'));
      return;
    }
    throw e;
  }
  const refresh = h('button', { type: 'button', onclick: rerender }, 'Refresh');
  ctx.main.append(
    h('div', { class: 'actions' }, refresh),
    table(
      'Cloud sessions on this server',
      ['User', 'App', 'Started', 'State', ''],
      sessions.map((s) => {
        const running = s.running ?? s.state === 'running';
        return [
          s.user ?? '',
          `${s.app}@${s.version}`,
          s.created ? formatTime(s.created) : '',
          h(
            'span',
            { class: `badge ${running ? 'ok' : ''}` },
            running ? 'running' : String(s.state ?? 'ended'),
          ),
          running
            ? h(
                'button',
                {
                  type: 'button',
                  class: 'danger',
                  'aria-label': `End ${s.user}'s session of ${s.app}`,
                  onclick: () =>
                    post(`/admin/sessions/${enc(s.id)}/end`)
                      .then(() => {
                        announce(`Ended ${s.user}'s ${s.app}`);
                        rerender();
                      })
                      .catch((e: Error) => announce(e.message, 'error')),
                },
                'End',
              )
            : '',
        ];
      }),
    ),
  );
}

const SPANS: [string, number | null][] = [
  ['Last 24 hours', 1],
  ['Last 7 days', 7],
  ['Last 30 days', 30],
  ['All time', null],
];

export async function usagePage(ctx: PageContext): Promise<void> {
  const days = ctx.query.get('days');
  const span = SPANS.find(([, d]) => String(d) === days) ?? SPANS[2]!;
  const since =
    span[1] === null ? '' : `?since=${enc(new Date(Date.now() - span[1] * 86400_000).toISOString())}`;
  const { usage } = await get<{ usage: UsageRow[] }>(`/admin/usage${since}`);
  const modes = [...new Set(['cloud', 'stream', 'local', 'pull', ...usage.map((u) => u.mode)])];
  const group = (key: (u: UsageRow) => string): BarRow[] => {
    const m = new Map<string, Record<string, number>>();
    for (const u of usage) {
      const parts = m.get(key(u)) ?? {};
      parts[u.mode] = (parts[u.mode] ?? 0) + u.launches;
      m.set(key(u), parts);
    }
    return [...m].map(([label, parts]) => ({ label, parts })).sort((a, b) => (a.label < b.label ? -1 : 1));
  };
  const spanSelect = h(
    'nav',
    { 'aria-label': 'Time span', class: 'tabs' },
    ...SPANS.map(([label, d]) =>
      h(
        'a',
        { href: `#/admin/usage?days=${d ?? 'all'}`, 'aria-current': span[0] === label ? 'page' : null },
        label,
      ),
    ),
  );
  const total = usage.reduce((n, u) => n + u.launches, 0);
  ctx.main.append(
    h('h1', {}, 'Usage'),
    spanSelect,
    h(
      'p',
      { class: 'muted' },
      `${total} launch${total === 1 ? '' : 'es'} (${span[0].toLowerCase()}): cloud sessions, streamed runs, local runs of server packages, and downloads.`,
    ),
    h(
      'div',
      { class: 'charts' },
      h(
        'div',
        { class: 'card' },
        barChart(
          'Launches per app',
          group((u) => u.app),
          modes,
        ),
      ),
      h(
        'div',
        { class: 'card' },
        barChart(
          'Launches per user',
          group((u) => u.user),
          modes,
        ),
      ),
    ),
    table(
      'Launches per app, version, user and mode',
      ['App', 'Version', 'User', 'Mode', 'Launches', 'Last'],
      usage.map((u) => [u.app, u.version, u.user, u.mode, u.launches, formatTime(u.last)]),
    ),
  );
}

interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  detail: Record<string, unknown>;
}

export async function auditPage(ctx: PageContext): Promise<void> {
  const { entries } = await get<{ entries: AuditEntry[] }>('/admin/audit?limit=500');
  ctx.main.append(
    h('h1', {}, 'Audit log'),
    h('p', { class: 'muted' }, 'Every administrative change, newest first (the last 500).'),
    table(
      'Audit log',
      ['When', 'Who', 'Action', 'Detail'],
      [...entries]
        .reverse()
        .map((e) => [
          formatTime(e.at),
          e.actor,
          h('code', {}, e.action),
          h('code', { class: 'detail' }, JSON.stringify(e.detail)),
        ]),
    ),
  );
}

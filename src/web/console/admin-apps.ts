/** Admin: each app's versions and channels; promote, roll back, yank and restore. */
import { enc, get, post } from './api.js';
import { announce, field, formatBytes, formatTime, h, table } from './dom.js';
import type { CatalogApp } from './catalog.js';
import type { PageContext } from './main.js';
import type { ChannelsView } from '../../server/routes/channels.js';

const rerender = () => window.dispatchEvent(new HashChangeEvent('hashchange'));
const act = (p: Promise<unknown>, done: string) =>
  p
    .then(() => {
      announce(done);
      rerender();
    })
    .catch((e: Error) => announce(e.message, 'error'));

async function appSection(app: CatalogApp): Promise<HTMLElement> {
  const c = await get<ChannelsView>(`/admin/apps/${enc(app.name)}/channels`);
  const yanked = new Set(c.yanked);
  const channelName = h('input', {
    name: 'channel',
    value: 'stable',
    required: true,
    autocomplete: 'off',
    size: 10,
  });
  const versionRows = [...app.versions]
    .sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1))
    .map((v) => {
      const on = c.channels.filter((ch) => ch.version === v.version).map((ch) => ch.name);
      return [
        v.version,
        formatBytes(v.size),
        formatTime(v.createdAt),
        on.join(', ') || '—',
        yanked.has(v.version)
          ? h('span', { class: 'badge warn' }, 'yanked')
          : h('span', { class: 'badge ok' }, 'available'),
        h(
          'div',
          { class: 'actions' },
          yanked.has(v.version)
            ? null
            : h(
                'button',
                {
                  type: 'button',
                  'aria-label': `Promote ${app.name} ${v.version} to the channel named above`,
                  onclick: () =>
                    act(
                      post(`/admin/apps/${enc(app.name)}/channels/${enc(channelName.value.trim())}`, {
                        version: v.version,
                      }),
                      `${channelName.value} now points at ${app.name}@${v.version}`,
                    ),
                },
                'Promote',
              ),
          h(
            'button',
            {
              type: 'button',
              class: yanked.has(v.version) ? '' : 'danger',
              'aria-label': `${yanked.has(v.version) ? 'Restore' : 'Yank'} ${app.name} ${v.version}`,
              onclick: () =>
                act(
                  post(`/admin/apps/${enc(app.name)}/versions/${enc(v.version)}/yank`, {
                    yanked: !yanked.has(v.version),
                  }),
                  `${app.name}@${v.version} ${yanked.has(v.version) ? 'restored' : 'yanked'}`,
                ),
            },
            yanked.has(v.version) ? 'Restore' : 'Yank',
          ),
        ),
      ];
    });
  const channelRows = c.channels.map((ch) => [
    ch.name,
    ch.version ?? '—',
    ch.history.map((e) => `${e.version}${e.rolledBackAt ? ' (rolled back)' : ''}`).join(' ← '),
    h(
      'button',
      {
        type: 'button',
        'aria-label': `Roll back ${app.name}'s channel ${ch.name}`,
        onclick: () =>
          act(
            post(`/admin/apps/${enc(app.name)}/channels/${enc(ch.name)}/rollback`),
            `${app.name} ${ch.name} rolled back`,
          ),
      },
      'Roll back',
    ),
  ]);
  return h(
    'section',
    { class: 'card', 'aria-labelledby': `apps-${app.name}` },
    h('h2', { id: `apps-${app.name}` }, app.name),
    h(
      'p',
      { class: 'muted' },
      `Clients get ${c.default ?? 'nothing'} by default; the highest available version is ${c.latest ?? 'none'}.`,
    ),
    field('Channel to promote to', channelName),
    table(
      `Versions of ${app.name}`,
      ['Version', 'Size', 'Published', 'Channels', 'Status', 'Actions'],
      versionRows,
    ),
    table(`Channels of ${app.name}`, ['Channel', 'Points at', 'History (newest first)', ''], channelRows),
  );
}

export async function appsPage(ctx: PageContext): Promise<void> {
  const { apps } = await get<{ apps: CatalogApp[] }>('/console/catalog');
  ctx.main.append(
    h('h1', {}, 'Versions and channels'),
    h(
      'p',
      { class: 'muted' },
      'A channel points at one version; clients follow "stable" by default. A yanked version is never chosen again, but a client that pins it still runs it.',
    ),
  );
  for (const s of await Promise.all(apps.map(appSection))) ctx.main.append(s);
  if (apps.length === 0)
    ctx.main.append(h('p', { class: 'card empty' }, 'No app has been published yet (capsule push).'));
}

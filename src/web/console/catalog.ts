/** The catalog: the apps the user may use, with "Run in cloud", "Run in browser" and their files. */
import { ApiError, enc, get, post } from './api.js';
import { announce, field, formatBytes, formatTime, h } from './dom.js';
import type { PageContext } from './main.js';

export interface CatalogVersion {
  version: string;
  yanked: boolean;
  size: number;
  description: string | null;
  publisher: string;
  createdAt: string;
}
export interface CatalogApp {
  name: string;
  versions: CatalogVersion[];
  channels: Record<string, string>;
}

export interface SessionInfo {
  id: string;
  app: string;
  version: string;
  user?: string;
  running?: boolean;
  state?: string;
  created?: string;
  tty?: boolean;
}

/** Splits an argument line as a shell would for plain words and quotes: a "b c" 'd' -> [a, b c, d]. */
export function splitArgs(line: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  for (const m of line.matchAll(re))
    out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] ?? m[3]!));
  return out;
}

const cmp = (a: string, b: string) => {
  const pa = a.split(/[.+-]/).map((x) => (/^\d+$/.test(x) ? Number(x) : x));
  const pb = b.split(/[.+-]/).map((x) => (/^\d+$/.test(x) ? Number(x) : x));
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? -1;
    const y = pb[i] ?? -1;
    if (x === y) continue;
    return typeof x === typeof y ? (x < y ? -1 : 1) : typeof x === 'number' ? 1 : -1;
  }
  return 0;
};

/** The version a user gets by default: the stable channel's, else the highest that is not yanked. */
export function defaultVersion(app: CatalogApp): string | null {
  if (app.channels.stable) return app.channels.stable;
  const ok = app.versions
    .filter((v) => !v.yanked)
    .map((v) => v.version)
    .sort(cmp);
  return ok[ok.length - 1] ?? null;
}

function appCard(app: CatalogApp): HTMLElement {
  const chosen = defaultVersion(app);
  const versions = [...app.versions].sort((a, b) => cmp(b.version, a.version));
  const channelsOf = (v: string) =>
    Object.entries(app.channels)
      .filter(([, x]) => x === v)
      .map(([c]) => c);
  const select = h(
    'select',
    { name: 'version' },
    ...versions.map((v) =>
      h(
        'option',
        { value: v.version, selected: v.version === chosen },
        `${v.version}${channelsOf(v.version).length ? ` (${channelsOf(v.version).join(', ')})` : ''}${v.yanked ? ' — yanked' : ''}`,
      ),
    ),
  );
  const args = h('input', {
    name: 'args',
    placeholder: 'the app’s defaults',
    spellcheck: 'false',
    autocomplete: 'off',
  });
  const meta = h('dl', { class: 'facts' });
  const cloud = h('a', { class: 'button primary', 'data-action': 'cloud' }, 'Run in cloud');
  const browser = h('a', { class: 'button', 'data-action': 'browser' }, 'Run in browser');
  const files = h('a', { class: 'button quiet', href: `#/files/${enc(app.name)}` }, 'Files');
  const description = h('p', { class: 'description' });
  const update = () => {
    const v = versions.find((x) => x.version === select.value) ?? versions[0]!;
    description.textContent = v.description ?? '';
    meta.replaceChildren(
      h('dt', {}, 'Size'),
      h('dd', {}, formatBytes(v.size)),
      h('dt', {}, 'Published'),
      h('dd', {}, `${formatTime(v.createdAt)} by ${v.publisher}`),
      h('dt', {}, 'Channels'),
      h(
        'dd',
        {},
        Object.keys(app.channels).length
          ? Object.entries(app.channels)
              .map(([c, x]) => `${c} → ${x}`)
              .join(', ')
          : 'none',
      ),
    );
    const target = `${app.name}@${v.version}`;
    const q = new URLSearchParams();
    for (const a of splitArgs(args.value)) q.append('arg', a);
    const qs = q.toString() ? `?${q}` : '';
    cloud.setAttribute('href', `#/cloud/${enc(target)}${qs}`);
    cloud.setAttribute('aria-label', `Run ${target} in the cloud`);
    browser.setAttribute('href', `/run/${enc(target)}${qs}`);
    browser.setAttribute('aria-label', `Run ${target} in this browser`);
    files.setAttribute('aria-label', `Your files of ${app.name}`);
  };
  select.addEventListener('change', update);
  args.addEventListener('input', update);
  update();
  return h(
    'article',
    { class: 'card app', 'aria-labelledby': `app-${app.name}`, 'data-app': app.name },
    h('h2', { id: `app-${app.name}` }, app.name),
    description,
    meta,
    h(
      'div',
      { class: 'row' },
      field('Version', select),
      field('Arguments', args, 'e.g. :memory: or -t "Hello" -o /hello.wav'),
    ),
    h('div', { class: 'actions' }, cloud, browser, files),
  );
}

async function sessionsSection(): Promise<HTMLElement | null> {
  let sessions: SessionInfo[];
  try {
    sessions = (await get<{ sessions: SessionInfo[] }>('/sessions')).sessions;
  } catch (e) {
    if (e instanceof ApiError && (e.status === 404 || e.status === 503)) return null; // no cloud sessions here
    throw e;
  }
  if (sessions.length === 0) return null;
  const list = h('ul', { class: 'sessions' });
  for (const s of sessions) {
    const running = s.running ?? s.state === 'running';
    list.append(
      h(
        'li',
        {},
        h('span', { class: 'name' }, `${s.app}@${s.version}`),
        h('span', { class: `badge ${running ? 'ok' : ''}` }, running ? 'running' : 'ended'),
        s.created ? h('span', { class: 'muted' }, `started ${formatTime(s.created)}`) : null,
        h(
          'a',
          { class: 'button', href: `#/cloud/${enc(s.app)}?session=${enc(s.id)}` },
          running ? 'Reattach' : 'Show output',
        ),
        running
          ? h(
              'button',
              {
                type: 'button',
                class: 'quiet',
                onclick: (e: Event) => {
                  const b = e.currentTarget as HTMLButtonElement;
                  b.disabled = true;
                  post(`/sessions/${enc(s.id)}/end`)
                    .then(() => {
                      announce(`Ended ${s.app}`);
                      window.dispatchEvent(new HashChangeEvent('hashchange'));
                    })
                    .catch((err: Error) => announce(err.message, 'error'));
                },
              },
              'End',
            )
          : null,
      ),
    );
  }
  return h(
    'section',
    { 'aria-labelledby': 'sessions-title' },
    h('h2', { id: 'sessions-title' }, 'Your cloud sessions'),
    list,
  );
}

export async function catalogPage(ctx: PageContext): Promise<void> {
  const [{ apps }, sessions] = await Promise.all([
    get<{ apps: CatalogApp[] }>('/console/catalog'),
    sessionsSection(),
  ]);
  ctx.main.append(
    h('h1', {}, 'Your apps'),
    h(
      'p',
      { class: 'muted' },
      apps.length
        ? 'Run any app on the server (cloud) or right here in this tab (browser). Your files follow you.'
        : '',
    ),
  );
  if (apps.length === 0)
    ctx.main.append(
      h('p', { class: 'empty card' }, 'No apps are available to you yet. Ask your administrator for access.'),
    );
  ctx.main.append(
    h(
      'div',
      { class: 'grid', role: 'list', 'aria-label': 'Apps' },
      ...apps.map((a) => {
        const card = appCard(a);
        card.setAttribute('role', 'listitem');
        return card;
      }),
    ),
  );
  if (sessions) ctx.main.append(sessions);
}

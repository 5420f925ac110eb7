/** Admin: an app's policy on this server: settings, locks, host mounts (what cloud sessions get). */
import { enc, get, post } from './api.js';
import { announce, field, h, table } from './dom.js';
import type { CatalogApp } from './catalog.js';
import type { PageContext } from './main.js';

interface Policy {
  env: Record<string, string>;
  files: Record<string, string>;
  locked: { env: string[]; paths: string[] };
  mounts: 'allow' | 'deny';
}

export async function policyPage(ctx: PageContext): Promise<void> {
  const { apps } = await get<{ apps: CatalogApp[] }>('/console/catalog');
  const chosen = ctx.params[0] ?? apps[0]?.name ?? '';
  ctx.main.append(
    h('h1', {}, 'Policy and locked settings'),
    h(
      'p',
      { class: 'muted' },
      'Settings an administrator gives an app: above its package defaults, below a user’s own unless locked. A locked file is read-only to the app.',
    ),
  );
  if (!chosen) {
    ctx.main.append(h('p', { class: 'card empty' }, 'No app has been published yet.'));
    return;
  }
  const select = h(
    'select',
    { name: 'app' },
    ...apps.map((a) => h('option', { value: a.name, selected: a.name === chosen }, a.name)),
  );
  select.addEventListener('change', () => (location.hash = `#/admin/policy/${enc(select.value)}`));
  ctx.main.append(h('div', { class: 'card' }, field('App', select)));

  const { policy } = await get<{ policy: Policy }>(`/admin/policy/${enc(chosen)}`);
  const rerender = () => window.dispatchEvent(new HashChangeEvent('hashchange'));
  const op = (name: string, body: Record<string, string>, done: string) =>
    post(`/admin/policy/${enc(chosen)}/${name}`, body)
      .then(() => {
        announce(done);
        rerender();
      })
      .catch((e: Error) => announce(e.message, 'error'));

  const lockedEnv = new Set(policy.locked.env);
  const lockedPaths = new Set(policy.locked.paths);
  const keys = new Map<string, string | null>();
  for (const [k, v] of Object.entries(policy.env)) keys.set(`env.${k}`, v);
  for (const [k, v] of Object.entries(policy.files)) keys.set(k, v);
  for (const k of lockedEnv) if (!keys.has(`env.${k}`)) keys.set(`env.${k}`, null);
  for (const k of lockedPaths) if (!keys.has(k)) keys.set(k, null);
  const isLocked = (k: string) => (k.startsWith('env.') ? lockedEnv.has(k.slice(4)) : lockedPaths.has(k));
  const rows = [...keys]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => [
      h('code', {}, k),
      v === null
        ? h('span', { class: 'muted' }, '(the package’s value)')
        : h('code', { class: 'value' }, v.length > 120 ? `${v.slice(0, 120)}…` : v),
      isLocked(k) ? h('span', { class: 'badge warn' }, 'locked') : 'no',
      h(
        'div',
        { class: 'actions' },
        h(
          'button',
          {
            type: 'button',
            'aria-label': `${isLocked(k) ? 'Unlock' : 'Lock'} ${k}`,
            onclick: () =>
              op(isLocked(k) ? 'unlock' : 'lock', { key: k }, `${k} ${isLocked(k) ? 'unlocked' : 'locked'}`),
          },
          isLocked(k) ? 'Unlock' : 'Lock',
        ),
        v === null
          ? null
          : h(
              'button',
              {
                type: 'button',
                class: 'danger',
                'aria-label': `Remove the value of ${k}`,
                onclick: () => op('unset', { key: k }, `${k} unset`),
              },
              'Unset',
            ),
      ),
    ]);

  const key = h('input', {
    name: 'key',
    required: true,
    placeholder: 'env.TZ or /etc/app.conf',
    spellcheck: 'false',
    autocomplete: 'off',
  });
  const value = h('input', { name: 'value', spellcheck: 'false', autocomplete: 'off' });
  const lock = h('input', { type: 'checkbox', name: 'lock' });
  const save = h('button', { type: 'submit', class: 'primary' }, 'Save setting');
  const form = h(
    'form',
    { class: 'inline-form', 'aria-label': 'Set a value' },
    field('Key', key),
    field('Value', value),
    h('div', { class: 'field check' }, lock, h('label', { for: (lock.id = 'lock-new') }, 'Lock it')),
    save,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const k = key.value.trim();
    post(`/admin/policy/${enc(chosen)}/set`, { key: k, value: value.value })
      .then(() => (lock.checked ? post(`/admin/policy/${enc(chosen)}/lock`, { key: k }) : null))
      .then(() => {
        announce(`${k} saved${lock.checked ? ' and locked' : ''}`);
        rerender();
      })
      .catch((err: Error) => announce(err.message, 'error'));
  });
  const mounts = h(
    'select',
    { name: 'mounts' },
    h('option', { value: 'allow', selected: policy.mounts === 'allow' }, 'allowed'),
    h('option', { value: 'deny', selected: policy.mounts === 'deny' }, 'denied'),
  );
  mounts.addEventListener(
    'change',
    () =>
      void op(
        'mounts',
        { mounts: mounts.value },
        `host mounts ${mounts.value === 'allow' ? 'allowed' : 'denied'} for ${chosen}`,
      ),
  );
  ctx.main.append(
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'policy-title' },
      h('h2', { id: 'policy-title' }, `Policy of ${chosen}`),
      table(`Settings of ${chosen}`, ['Key', 'Value', 'Locked', 'Actions'], rows),
      h('h3', {}, 'Set a value'),
      form,
      h('h3', {}, 'Host directories'),
      field('Host directory mounts (capsule run --dir)', mounts),
    ),
  );
}

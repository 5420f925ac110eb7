/** Admin: users, groups, and entitlements (grant and revoke). */
import { post, get, type User } from './api.js';
import { announce, field, formatTime, h, table } from './dom.js';
import type { PageContext } from './main.js';
import type { CatalogApp } from './catalog.js';

interface Group {
  name: string;
  members: string[];
}
interface Grant {
  app: string;
  kind: 'user' | 'group';
  subject: string;
}

function form(
  title: string,
  fields: HTMLElement[],
  submit: string,
  run: () => Promise<unknown>,
): HTMLFormElement {
  const button = h('button', { type: 'submit', class: 'primary' }, submit);
  const f = h('form', { class: 'inline-form', 'aria-label': title }, ...fields, button);
  f.addEventListener('submit', (e) => {
    e.preventDefault();
    button.disabled = true;
    run()
      .catch((err: Error) => announce(err.message, 'error'))
      .finally(() => (button.disabled = false));
  });
  return f;
}

const rerender = () => window.dispatchEvent(new HashChangeEvent('hashchange'));

export async function usersPage(ctx: PageContext): Promise<void> {
  const [{ users }, { groups }, { grants }, { apps }] = await Promise.all([
    get<{ users: (User & { createdAt: string })[] }>('/admin/users'),
    get<{ groups: Group[] }>('/admin/groups'),
    get<{ grants: Grant[] }>('/admin/grants'),
    get<{ apps: CatalogApp[] }>('/console/catalog'),
  ]);
  ctx.main.append(h('h1', {}, 'Users, groups and entitlements'));

  // Users
  const name = h('input', {
    name: 'name',
    required: true,
    pattern: '[a-z0-9][a-z0-9._-]{0,63}',
    autocomplete: 'off',
  });
  const role = h(
    'select',
    { name: 'role' },
    ...['user', 'publisher', 'admin'].map((r) => h('option', { value: r }, r)),
  );
  const password = h('input', {
    name: 'password',
    type: 'password',
    autocomplete: 'new-password',
    minlength: 8,
  });
  const tokenOut = h('p', { class: 'notice', hidden: true, role: 'status' });
  ctx.main.append(
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'users-title' },
      h('h2', { id: 'users-title' }, 'Users'),
      table(
        'Every user of this server',
        ['Name', 'Role', 'Created'],
        users.map((u) => [u.name, u.role, formatTime(u.createdAt)]),
      ),
      h('h3', {}, 'Add a user'),
      form(
        'Add a user',
        [
          field('Name', name, 'lowercase letters, digits, . _ -'),
          field('Role', role),
          field('Password', password, 'for the console; 8 characters or more'),
        ],
        'Add user',
        async () => {
          const r = await post<{ token: string }>('/admin/users', {
            name: name.value.trim(),
            role: role.value,
            ...(password.value ? { password: password.value } : {}),
          });
          announce(`Added ${name.value}`);
          tokenOut.textContent = `${name.value}'s API token (shown once): ${r.token}`;
          tokenOut.hidden = false;
          name.value = password.value = '';
        },
      ),
      tokenOut,
    ),
  );

  // Groups
  const gname = h('input', { name: 'group', required: true, autocomplete: 'off' });
  const member = h(
    'select',
    { name: 'member' },
    h('option', { value: '' }, '(none)'),
    ...users.map((u) => h('option', { value: u.name }, u.name)),
  );
  ctx.main.append(
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'groups-title' },
      h('h2', { id: 'groups-title' }, 'Groups'),
      table(
        'Groups and their members',
        ['Group', 'Members'],
        groups.map((g) => [g.name, g.members.join(', ') || '—']),
      ),
      h('h3', {}, 'Create a group or add a member'),
      form(
        'Create a group or add a member',
        [field('Group', gname), field('Member', member)],
        'Save group',
        async () => {
          await post('/admin/groups', {
            name: gname.value.trim(),
            members: member.value ? [member.value] : [],
          });
          announce(`Saved group ${gname.value}`);
          rerender();
        },
      ),
    ),
  );

  // Entitlements
  const appNames = apps.map((a) => a.name);
  const gapp = h('select', { name: 'app' }, ...appNames.map((a) => h('option', { value: a }, a)));
  const subjects = [
    ...groups.map((g) => h('option', { value: `group:${g.name}` }, `group ${g.name}`)),
    ...users.map((u) => h('option', { value: `user:${u.name}` }, `user ${u.name}`)),
  ];
  const subject = h('select', { name: 'subject' }, ...subjects);
  const grantBody = (g: { app: string; subject: string }) => {
    const [kind, who] = g.subject.split(/:(.*)/s) as [string, string];
    return { app: g.app, [kind]: who };
  };
  ctx.main.append(
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'grants-title' },
      h('h2', { id: 'grants-title' }, 'Entitlements'),
      table(
        'Who may use which app',
        ['App', 'Granted to', ''],
        grants.map((g) => [
          g.app,
          `${g.kind} ${g.subject}`,
          h(
            'button',
            {
              type: 'button',
              class: 'quiet danger',
              'aria-label': `Revoke ${g.app} from ${g.kind} ${g.subject}`,
              onclick: () => {
                post('/admin/grants/revoke', { app: g.app, [g.kind]: g.subject })
                  .then(() => {
                    announce(`Revoked ${g.app} from ${g.subject}`);
                    rerender();
                  })
                  .catch((e: Error) => announce(e.message, 'error'));
              },
            },
            'Revoke',
          ),
        ]),
      ),
      h('h3', {}, 'Grant an app'),
      form('Grant an app', [field('App', gapp), field('To', subject)], 'Grant', async () => {
        await post('/admin/grants', grantBody({ app: gapp.value, subject: subject.value }));
        announce(`Granted ${gapp.value} to ${subject.value.replace(':', ' ')}`);
        rerender();
      }),
    ),
  );
}
